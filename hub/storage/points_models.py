"""What the hub's ledger, bookings and feedback queries return (plain frozen dataclasses).

The storage mixin (:mod:`hub.storage.points`) fills them; the CLI and the admin pages read them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class EntryKind(enum.StrEnum):
    """What moved a rider's points."""

    EARNED = "earned"
    """A station credited a rule (``points.earned``)."""
    SPENT = "spent"
    """A station handed out an item (``points.spent``)."""
    CREDITED = "credited"
    """An operator credited the rider at the hub (a community report, a goodwill gesture)."""
    REFUNDED = "refunded"
    """A spend was cancelled (``points.spend_cancelled``): its points came back."""


class EntryStatus(enum.StrEnum):
    """Whether an entry counts in the balance."""

    APPLIED = "applied"
    REJECTED = "rejected"
    """Not counted: a spend the balance could not cover, or an earning over the rule's daily limit."""


class BookingState(enum.StrEnum):
    """A booking's life at the hub."""

    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class LedgerEntry:
    """One move of a rider's points, applied exactly once by ``entry_id``."""

    entry_id: str
    rider_id: str
    station_id: str | None
    """None for operator credits."""
    kind: EntryKind
    points: int
    """Always positive; ``kind`` says which way it moves the balance."""
    status: EntryStatus
    at: datetime
    """When the hub applied (or rejected) it."""
    rule: str | None = None
    item_id: str | None = None
    reason: str = ""
    """Why it was rejected, or an operator's words for a credit."""


@dataclass(frozen=True)
class PointsFigures:
    """Per station (``station_id`` None: operator credits), points moved since a date."""

    station_id: str | None
    issued: int
    """Earned at the station (applied)."""
    spent: int
    """Spent at the station (applied, less refunds)."""
    rejected_spends: int
    """Spends the hub could not cover (double spends across stations), counted, not points."""
    rejected_earnings: int = 0
    """Earnings the hub refused, counted: over the rule's daily limit (at any station), or no such rule."""


@dataclass(frozen=True)
class FeedbackRow:
    """One rider's feedback as stored."""

    feedback_id: str
    station_id: str
    rating: int
    topic: str
    text: str
    rider_id: str | None
    at: datetime


@dataclass(frozen=True)
class FeedbackFigures:
    """Per station, feedback since a date."""

    station_id: str
    count: int
    average_rating: float
    topics: dict[str, int]
    """How often each suggestion was picked."""


@dataclass(frozen=True)
class Booking:
    """A booking request and the city's answer."""

    booking_id: str
    station_id: str
    rider_id: str
    service_id: str
    slot_id: str
    starts: datetime | None
    status: BookingState
    note: str
    requested_at: datetime
    updated_at: datetime
