"""The local API's models for the rider services: content, the identified rider, points, bookings, feedback.

Imports only pydantic and core, so kiosk-ui can use them without pulling in the server.

Endpoints (all under the UI token, like the rest of ``/api``):

- ``GET /api/content`` → :class:`StationContent`: services, announcements, nearby stations, the points
  catalogue with what is in stock here, the points rules, the feedback topics.
- ``POST /api/services/{service_id}/viewed`` (:class:`ServiceViewRequest`) → 202: records ``service.viewed``.
- ``POST /api/rider/identify`` (:class:`IdentifyRequest`) → 202 :class:`IdentifyAnswer`: the next code
  scanned identifies the rider instead of starting a swap; core shows ``rider.identify`` meanwhile, then
  ``rider`` once a code is accepted (or the refusal as usual).
- ``GET /api/rider`` → :class:`RiderView`, or 404 when nobody is identified (or the session ran out).
- ``POST /api/rider/end`` → 204: the rider is done (or walked away); core shows ``idle``.
- ``POST /api/rider/swap`` → 202: start a swap for the identified rider (their code was used to identify).
- ``POST /api/rider/redeem`` (:class:`RedeemRequest`) → :class:`RedeemAnswer` (200 also when refused:
  ``ok`` says which); core shows ``points.take_item`` when the bay opens.
- ``POST /api/rider/bookings`` (:class:`BookingRequest`) → 201 :class:`BookingAnswer`.
- ``POST /api/feedback`` (:class:`FeedbackRequest`) → 201 :class:`FeedbackAnswer`.

Without an identified rider, the ``/api/rider/*`` actions answer 409 ``{"error": "..."}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kiosk.core.content import Announcement, Location, NearbyStation, PointsRule, Service
from kiosk.core.rider_events import FEEDBACK_TEXT_MAX, FEEDBACK_TOPICS, FeedbackTopic

__all__ = ["FEEDBACK_TOPICS"]

Language = Literal["zh", "en"]
Purpose = Literal["rider", "points", "booking", "feedback"]
"""Why the rider is asked to scan: the screen after it opens on that part."""


class ApiModel(BaseModel):
    """Base: lenient when reading (a newer core may add fields), frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class CatalogueOffer(ApiModel):
    """A catalogue item as offered at this station."""

    id: str
    name_zh: str
    name_en: str
    points: int
    kind: Literal["item", "loan"] = "item"
    in_stock: int
    """How many this station's goods bays hold now (0: none here)."""


class StationContent(ApiModel):
    """``GET /api/content``: what the city's last bundle says, as this station offers it."""

    services: list[Service] = []
    announcements: list[Announcement] = []
    """Only those current now."""
    nearby: list[NearbyStation] = []
    location: Location | None = None
    catalogue: list[CatalogueOffer] = []
    points_rules: list[PointsRule] = []
    feedback_topics: list[str] = list(FEEDBACK_TOPICS)
    bundle_at: datetime | None = None
    """When the hub made the bundle this comes from (None: the station has never had one)."""


class ServiceViewRequest(ApiModel):
    """The language the rider read the service in."""

    language: Language = "zh"


class IdentifyRequest(ApiModel):
    """Ask the rider to scan their code, for ``purpose``."""

    purpose: Purpose = "rider"


class IdentifyAnswer(ApiModel):
    """How long core waits for the scan (s)."""

    waiting_s: float


class RiderBooking(ApiModel):
    """One of the rider's bookings made at this station."""

    booking_id: str
    service_id: str
    slot_id: str
    starts: datetime | None = None
    status: Literal["requested", "confirmed", "declined", "cancelled"]
    """'requested' until the hub answers (it may be waiting to be sent)."""
    note: str = ""


class RiderCorrection(ApiModel):
    """A spend the hub rejected (already spent elsewhere): shown once to the rider."""

    entry_id: str
    station_id: str
    item_id: str
    points: int
    at: datetime
    reason: str


class RiderView(ApiModel):
    """``GET /api/rider``: the identified rider, their points as far as this station knows, their bookings."""

    rider_id: str
    purpose: Purpose = "rider"
    balance: int | None
    """Last known balance with this station's not-yet-confirmed moves applied; None: never known here."""
    balance_as_of: datetime | None = None
    """When the hub's figure behind ``balance`` was current."""
    pending: int = 0
    """Points moved here that the hub has not confirmed yet (earned minus spent)."""
    offline_cap_left: int
    """Points the rider may still spend here without the hub's live confirmation."""
    checked_in_today: bool = False
    corrections: list[RiderCorrection] = []
    bookings: list[RiderBooking] = []
    expires_in_s: float
    """The session ends after this long without a touch."""


class RedeemRequest(ApiModel):
    """Spend points on a catalogue item."""

    item_id: Annotated[str, Field(min_length=1, max_length=32)]


RedeemRefusal = Literal[
    "unknown_item", "out_of_stock", "not_enough_points", "balance_unknown", "offline_cap", "hub_refused", "bay_fault"
]


class RedeemAnswer(ApiModel):
    """What happened to a spend: ``ok`` and the bay that opened, or the reason in both languages."""

    ok: bool
    bay: int | None = None
    confirmed: bool = False
    """The hub confirmed it live (False: spent offline, within the cap)."""
    balance: int | None = None
    """The balance shown after it."""
    reason: RedeemRefusal | None = None
    message_zh: str = ""
    message_en: str = ""


class BookingRequest(ApiModel):
    """Ask for a slot of a bookable service."""

    service_id: Annotated[str, Field(min_length=1, max_length=64)]
    slot_id: Annotated[str, Field(min_length=1, max_length=64)]


class BookingAnswer(ApiModel):
    """The booking as recorded here ('requested' until the hub answers)."""

    booking_id: str
    status: Literal["requested", "confirmed", "declined", "cancelled"] = "requested"


class FeedbackRequest(ApiModel):
    """A rating, a suggestion, optional words; signed with the identified rider or anonymous."""

    rating: Annotated[int, Field(ge=1, le=5)]
    topic: FeedbackTopic
    text: Annotated[str, Field(max_length=FEEDBACK_TEXT_MAX)] = ""
    signed: bool = False
    """Sign with the identified rider's id (409 when nobody is identified)."""


class FeedbackAnswer(ApiModel):
    """The feedback as recorded."""

    feedback_id: str
    signed: bool
    points_earned: int = 0
    """Points credited for it (signed feedback under the ``feedback`` rule, once a day)."""
