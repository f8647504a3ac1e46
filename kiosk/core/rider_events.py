"""Events of the station's services for riders: points, service views, bookings, feedback.

They live in core because both ends read them: the station writes them, the hub applies them (points
exactly once by ``entry_id``, bookings by ``booking_id``) and counts them (service demand, feedback).

Points are the hub's: the station records what it *did* (earned a check-in, handed out an item for so
many points) and the hub's ledger decides what counts. A spend the hub cannot cover (the same points
spent at another station while this one was offline) is rejected there and shown to the rider at the
next visit as a correction.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from kiosk.core.events import Event, event_type

EntryId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
"""Id of one points entry (earned or spent), made by the station (a UUIDv7): the hub applies it once."""
RiderId = Annotated[str, Field(min_length=1, max_length=20)]
Points = Annotated[int, Field(ge=1, le=1_000_000)]

FEEDBACK_TOPICS: tuple[str, ...] = (
    "cleanliness",
    "more_batteries",
    "drinks_snacks",
    "charging",
    "opening_hours",
    "safety",
    "staff_help",
    "other",
)
"""The suggestions a rider can pick from (the screen shows them translated; the hub counts them)."""
FEEDBACK_TEXT_MAX = 140
"""Longest free text a rider may add to feedback (characters)."""

FeedbackTopic = Literal[
    "cleanliness", "more_batteries", "drinks_snacks", "charging", "opening_hours", "safety", "staff_help", "other"
]


@event_type
class PointsEarned(Event):
    """The station credited a rider under one of the city's points rules (e.g. the day's check-in)."""

    TYPE: ClassVar[str] = "points.earned"
    entry_id: EntryId
    rider_id: RiderId
    rule: Annotated[str, Field(min_length=1, max_length=32)]
    """The rule's id from the bundle (``checkin``, ``feedback``...)."""
    points: Points
    day: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    """The station's local day it was earned on: the hub applies a rule's ``per_day`` limit by it."""


@event_type
class PointsSpent(Event):
    """A rider spent points on a catalogue item and its bay was opened."""

    TYPE: ClassVar[str] = "points.spent"
    entry_id: EntryId
    rider_id: RiderId
    item_id: Annotated[str, Field(min_length=1, max_length=32)]
    points: Points
    bay: Annotated[int, Field(ge=1, le=99)]
    confirmed: bool
    """The hub confirmed it live before the bay opened; False: spent offline, within the offline cap."""


@event_type
class PointsSpendCancelled(Event):
    """A spend recorded before its bay was unlocked did not happen (the lock failed): give the points back."""

    TYPE: ClassVar[str] = "points.spend_cancelled"
    entry_id: EntryId
    """The spend's ``entry_id``."""
    rider_id: RiderId
    reason: Annotated[str, Field(max_length=200)]


@event_type
class ServiceViewed(Event):
    """A rider opened a city service's details on the screen: the city's service demand figure."""

    TYPE: ClassVar[str] = "service.viewed"
    service_id: Annotated[str, Field(min_length=1, max_length=64)]
    category: Annotated[str, Field(max_length=32)] = ""
    language: Literal["zh", "en"] = "zh"


@event_type
class BookingRequested(Event):
    """A rider asked for a slot of a bookable service; the hub confirms or declines it."""

    TYPE: ClassVar[str] = "booking.requested"
    booking_id: EntryId
    rider_id: RiderId
    service_id: Annotated[str, Field(min_length=1, max_length=64)]
    slot_id: Annotated[str, Field(min_length=1, max_length=64)]


@event_type
class FeedbackGiven(Event):
    """A rider rated the station and picked a suggestion, anonymously or signed with their code."""

    TYPE: ClassVar[str] = "feedback.given"
    feedback_id: EntryId
    rating: Annotated[int, Field(ge=1, le=5)]
    topic: FeedbackTopic
    text: Annotated[str, Field(max_length=FEEDBACK_TEXT_MAX)] = ""
    rider_id: RiderId | None = None
    """Set when the rider signed it with their code (None: anonymous)."""
