"""Sync protocol v1 between a station and the city hub: the messages, as pydantic models both sides use.

- ``POST /v1/stations/{id}/events`` — body :class:`EventBatch` (gzip JSON), answer :class:`BatchAck`.
  Idempotent by event id: a batch sent twice stores each event once and acknowledges it both times.
- ``GET /v1/stations/{id}/bundle`` — answer :class:`Bundle`, with an ETag; ``If-None-Match`` gives 304.
- ``POST /v1/stations/{id}/heartbeat`` — body :class:`Heartbeat`, answer :class:`HeartbeatAck`.
- ``POST /v1/stations/{id}/points/spend`` — body :class:`SpendRequest`, answer :class:`SpendAnswer`: the
  live check of a spend while the station is online (idempotent by ``entry_id``).
- Errors are :class:`Problem` bodies. 429 and 503 carry ``Retry-After`` (seconds).

Every model refuses unknown fields on the way *in* at the hub (``extra="forbid"`` on requests) but the
station ignores unknown fields in answers (``extra="ignore"``), so a newer hub can add fields without
breaking older stations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from kiosk.core.battery_registry import BatteryRegistry
from kiosk.core.content import (
    Announcement,
    BookingSlot,
    CatalogueItem,
    Location,
    NearbyStation,
    PointsRule,
    Service,
)
from kiosk.core.events import EventRecord

__all__ = [
    "Announcement",
    "BookingSlot",
    "CatalogueItem",
    "Location",
    "NearbyStation",
    "PointsRule",
    "Service",
]

PROTOCOL_VERSION = 1
MAX_BATCH_EVENTS = 5000
"""Most events in one batch; the station adapts its batch size up to this."""
MAX_BODY_BYTES = 8 * 1024 * 1024
"""Largest request body the hub accepts, compressed or not (8 MiB)."""
MAX_BUNDLE_BYTES = 4 * 1024 * 1024
"""Largest bundle a station reads (4 MiB, as decoded): a bigger answer is refused, the old bundle kept.
A city's 50,000-pack battery registry takes about 50-500 KB of it (:mod:`kiosk.core.battery_registry`)."""

StationId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class Request(BaseModel):
    """A message the station sends: strict, so a malformed one is refused with a clear 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Answer(BaseModel):
    """A message the hub sends: lenient about fields added in later versions."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class EventBatch(Request):
    """Events of one station, in ``seq`` order."""

    protocol: Literal[1] = 1
    station_id: StationId
    events: Annotated[list[EventRecord], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]


class BatchAck(Answer):
    """What the hub did with a batch. Ids in neither list were not stored (the station resends them)."""

    accepted: list[str]
    """Ids stored by this request."""
    duplicates: list[str]
    """Ids the hub already had (stored by an earlier request whose answer may have been lost)."""
    high_water_seq: int
    """The highest seq up to which the hub has every event of this station without a gap."""
    refused: dict[str, str] = {}
    """Ids the hub will not store, with the reason: they would rewrite the station's log (a reused seq,
    changed content, a seq far out of range). The hub flags them for its operators; resending does not help."""


class Heartbeat(Request):
    """The station's status snapshot, sent periodically."""

    protocol: Literal[1] = 1
    station_id: StationId
    version: str
    boot_id: str
    mono: float
    wall: datetime
    wall_synced: bool
    uptime_s: float
    backlog: int
    """Events not yet acknowledged by the hub."""
    oldest_unsynced: datetime | None
    warnings: list[str]
    charged_batteries: int | None = None
    """Batteries ready to hand out now (for the nearby-stations view of other stations)."""
    status: dict[str, JsonValue] = {}
    """The rest of the station's status, as ``GET /api/status`` shows it, without null or empty members.

    Sent every few minutes and when the warnings change; ``{}`` in the heartbeats in between (idle traffic)."""


class HeartbeatAck(Answer):
    """The hub's answer to a heartbeat."""

    server_time: datetime


ALARM_TYPES = frozenset({"safety.level_changed"})
"""Event types a station may send at once, on their own, to ``POST /v1/stations/{id}/alarms``."""


class SafetyAlarm(Request):
    """A safety alarm sent at once, in its own request (it also travels later in the ordinary batch)."""

    protocol: Literal[1] = 1
    station_id: StationId
    event: EventRecord
    """The ``safety.level_changed`` event as the station stored it."""


class AlarmAck(Answer):
    """The hub has the alarm."""

    id: str
    """The alarm's event id."""
    received_at: datetime
    """When the hub first received it."""


class KeyEntry(Answer):
    """A rider-code signing key the station should trust (same shape as a key set file entry)."""

    kid: str
    public_key: str
    """Raw 32-byte Ed25519 public key, base64."""
    valid_from: datetime
    valid_until: datetime | None = None


class PointsCorrection(Answer):
    """A spend the hub could not cover (the points were already spent elsewhere), to show the rider."""

    entry_id: str
    station_id: str
    item_id: str
    points: int
    at: datetime
    reason: str


class RiderBalance(Answer):
    """A rider's points as the hub knows them."""

    rider_id: str
    balance: int
    """May be below zero after a correction."""
    station_seq: int
    """This station's events up to this seq were applied in ``balance``: later ones are still pending."""
    as_of: datetime
    corrections: list[PointsCorrection] = []
    """Rejected spends of the last weeks."""


class BookingStatus(Answer):
    """A booking requested at this station, and what the city said."""

    booking_id: str
    rider_id: str
    service_id: str
    slot_id: str
    starts: datetime | None = None
    status: Literal["requested", "confirmed", "declined", "cancelled"]
    note: str = ""
    """The city's words to the rider (e.g. where to go), shown as given."""


class SpendRequest(Request):
    """Ask the hub to take points for an item now (the station is online)."""

    protocol: Literal[1] = 1
    station_id: StationId
    entry_id: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    rider_id: Annotated[str, Field(min_length=1, max_length=20)]
    item_id: Annotated[str, Field(min_length=1, max_length=32)]
    points: Annotated[int, Field(ge=1, le=1_000_000)]


class SpendAnswer(Answer):
    """The hub's answer: accepted (and the balance after) or not, with the reason in plain words."""

    entry_id: str
    accepted: bool
    balance: int
    """The rider's balance after this answer."""
    reason: str | None = None


class Bundle(Answer):
    """Everything a station needs from the city to work offline until the next fetch."""

    protocol: Literal[1] = 1
    station_id: str
    generated_at: datetime
    config_overrides: dict[str, JsonValue] = {}
    """Policy settings the city sets for this station (``policy.<key>`` names); anything else is refused."""
    keys: list[KeyEntry] = []
    revoked_riders: list[str] = []
    services: list[Service] = []
    announcements: list[Announcement] = []
    nearby: list[NearbyStation] = []
    location: Location | None = None
    """Where this station is (the centre of the nearby-stations map)."""
    catalogue: list[CatalogueItem] = []
    """What riders can spend points on here."""
    points_rules: list[PointsRule] = []
    """What the station credits points for."""
    balances: list[RiderBalance] = []
    """The hub's balance of riders seen at this station lately."""
    bookings: list[BookingStatus] = []
    """Bookings requested at this station lately, with the hub's answer."""
    batteries: BatteryRegistry | None = None
    """The city's battery registry, packed (None: the hub has no registry; see docs/safety.md)."""


class Problem(Answer):
    """An error answer: what went wrong, in plain words."""

    error: str
