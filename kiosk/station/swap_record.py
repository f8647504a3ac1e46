"""The swap's vocabulary: its states and outcomes, the stored record, the machine's inputs and commands.

Split from :mod:`kiosk.station.swap` so the machine module holds only transitions; recovery and the app
import these names from either module.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from kiosk.core.errors import ProtocolError
from kiosk.core.events import Event
from kiosk.devices.base import BatteryReading
from kiosk.station.swap_events import BayRole, EndedOutcome, SwapCompleted, SwapEnded


class SwapState(enum.Enum):
    """Where a swap is. ``ENDED`` records carry a :class:`SwapOutcome`."""

    OPENING_RETURN = "opening_return"
    """The return bay's unlock is on disk and sent; waiting for its door to open."""
    AWAIT_RETURN = "await_return"
    """The return bay is open; waiting for the rider to put the battery in and close it."""
    READING_RETURN = "reading_return"
    """The return bay closed; its battery is being read."""
    RETURN_EMPTY = "return_empty"
    """The return bay closed with nothing in it; the rider may ask to reopen it."""
    REJECTING_RETURN = "rejecting_return"
    """The return bay is unlocked again so the rider takes their battery back; waiting for the door."""
    AWAIT_TAKE_BACK = "await_take_back"
    """The return bay is open for the rider to take their battery back."""
    READING_TAKE_BACK = "reading_take_back"
    """The return bay closed after the take-back; checking the battery is gone."""
    OPENING_CHARGED = "opening_charged"
    """The charged bay's unlock is on disk and sent; waiting for its door to open."""
    AWAIT_COLLECT = "await_collect"
    """The charged bay is open; waiting for the rider to take the battery and close it."""
    READING_COLLECT = "reading_collect"
    """The charged bay closed; checking the battery is gone."""
    ENDED = "ended"
    """Finished; see the outcome."""


class SwapOutcome(enum.Enum):
    """How a swap ended."""

    COMPLETED = "completed"
    FOREIGN_BATTERY = "foreign_battery"
    REFUSED_BATTERY = "refused_battery"
    """The registry or the SoH floor refused the returned pack (retired, worn); unknown ids are foreign."""
    FAULTY_BATTERY = "faulty_battery"
    ABANDONED = "abandoned"
    NOT_COLLECTED = "not_collected"
    BAY_FAULT = "bay_fault"
    NO_CAPACITY = "no_capacity"
    TOO_SOON = "too_soon"


S = SwapState
UNLOCKING: frozenset[SwapState] = frozenset({S.OPENING_RETURN, S.REJECTING_RETURN, S.OPENING_CHARGED})
"""An unlock is on disk and may or may not have been pulsed."""
DOOR_OPEN: frozenset[SwapState] = frozenset({S.AWAIT_RETURN, S.AWAIT_TAKE_BACK, S.AWAIT_COLLECT})
"""The current bay's door was seen open."""
DOOR_MAY_BE_OPEN: frozenset[SwapState] = UNLOCKING | DOOR_OPEN
"""States a restart must check a door in before deciding anything."""
READING: frozenset[SwapState] = frozenset({S.READING_RETURN, S.READING_TAKE_BACK, S.READING_COLLECT})
"""Waiting for a battery read of the current bay."""
IN_FLIGHT: frozenset[SwapState] = frozenset(s for s in SwapState if s is not S.ENDED)
"""Not finished: a restart reconciles these."""
RETURN_NOT_ACCEPTED: frozenset[SwapState] = frozenset(
    {
        S.OPENING_RETURN,
        S.AWAIT_RETURN,
        S.READING_RETURN,
        S.RETURN_EMPTY,
        S.REJECTING_RETURN,
        S.AWAIT_TAKE_BACK,
        S.READING_TAKE_BACK,
    }
)
"""The return bay holds no accepted pack (yet, or it was refused): its charger stays off."""
RETURNED_BATTERY_KEPT: frozenset[SwapState] = frozenset({S.OPENING_CHARGED, S.AWAIT_COLLECT, S.READING_COLLECT})
"""The returned battery was accepted and is in the return bay."""

ROLE_OF: dict[SwapState, BayRole] = {
    S.OPENING_RETURN: "return",
    S.AWAIT_RETURN: "return",
    S.READING_RETURN: "return",
    S.RETURN_EMPTY: "return",
    S.REJECTING_RETURN: "take_back",
    S.AWAIT_TAKE_BACK: "take_back",
    S.READING_TAKE_BACK: "take_back",
    S.OPENING_CHARGED: "charged",
    S.AWAIT_COLLECT: "charged",
    S.READING_COLLECT: "charged",
}
ON_OPEN: dict[SwapState, SwapState] = {
    S.OPENING_RETURN: S.AWAIT_RETURN,
    S.READING_RETURN: S.AWAIT_RETURN,  # the latch did not hold and the rider pulled the door again
    S.RETURN_EMPTY: S.AWAIT_RETURN,
    S.REJECTING_RETURN: S.AWAIT_TAKE_BACK,
    S.READING_TAKE_BACK: S.AWAIT_TAKE_BACK,
    S.OPENING_CHARGED: S.AWAIT_COLLECT,
    S.READING_COLLECT: S.AWAIT_COLLECT,
}
ON_CLOSE: dict[SwapState, SwapState] = {
    S.AWAIT_RETURN: S.READING_RETURN,
    S.AWAIT_TAKE_BACK: S.READING_TAKE_BACK,
    S.AWAIT_COLLECT: S.READING_COLLECT,
}


class Step(enum.StrEnum):
    """Moments of a swap whose monotonic time the record keeps (the latest occurrence of each)."""

    REQUESTED = "requested"
    RETURN_UNLOCKED = "return_unlocked"
    RETURN_OPENED = "return_opened"
    RETURN_CLOSED = "return_closed"
    TAKE_BACK_UNLOCKED = "take_back_unlocked"
    TAKE_BACK_OPENED = "take_back_opened"
    TAKE_BACK_CLOSED = "take_back_closed"
    CHARGED_UNLOCKED = "charged_unlocked"
    CHARGED_OPENED = "charged_opened"
    CHARGED_CLOSED = "charged_closed"
    ENDED = "ended"


STEPS_OF_ROLE: dict[BayRole, tuple[Step, Step, Step]] = {
    "return": (Step.RETURN_UNLOCKED, Step.RETURN_OPENED, Step.RETURN_CLOSED),
    "take_back": (Step.TAKE_BACK_UNLOCKED, Step.TAKE_BACK_OPENED, Step.TAKE_BACK_CLOSED),
    "charged": (Step.CHARGED_UNLOCKED, Step.CHARGED_OPENED, Step.CHARGED_CLOSED),
}
DURATIONS: tuple[tuple[str, Step, Step], ...] = (
    ("open_return", Step.REQUESTED, Step.RETURN_OPENED),
    ("insert", Step.RETURN_OPENED, Step.RETURN_CLOSED),
    ("read_and_choose", Step.RETURN_CLOSED, Step.CHARGED_UNLOCKED),
    ("open_charged", Step.CHARGED_UNLOCKED, Step.CHARGED_OPENED),
    ("collect", Step.CHARGED_OPENED, Step.CHARGED_CLOSED),
    ("total", Step.REQUESTED, Step.ENDED),
)

RejectReason = Literal[
    "foreign", "unknown", "retired", "low_soh", "faulty", "unreadable", "no_charged_battery", "bay_fault"
]
REFUSED_PACK_REASONS: frozenset[str] = frozenset({"foreign", "unknown", "retired", "low_soh"})
"""Rejections for what the pack is: one left behind must never be charged or handed out."""
REFUSED_LEFT = "a refused battery was left in it: take it out, then bring the bay back into service"
"""Why a bay leaves service when a rider did not take a refused pack back (its charger stays off)."""


def held_chargers(swap: SwapRecord | None, out_of_service: Mapping[int, str]) -> frozenset[int]:
    """Bays whose charger must stay off for the swap flow.

    The return bay of the swap in flight from the moment it is chosen until its pack is accepted (so a
    refused pack is never charged, not even between the door closing and the read), and every bay a
    rider left a refused pack in (out of service until staff take it out).
    """
    held = {bay for bay, reason in out_of_service.items() if reason == REFUSED_LEFT}
    if swap is not None and swap.return_bay is not None and swap.state in RETURN_NOT_ACCEPTED:
        held.add(swap.return_bay)
    return frozenset(held)


REJECT_OUTCOME: dict[str, SwapOutcome] = {
    "foreign": SwapOutcome.FOREIGN_BATTERY,
    "unknown": SwapOutcome.FOREIGN_BATTERY,
    "retired": SwapOutcome.REFUSED_BATTERY,
    "low_soh": SwapOutcome.REFUSED_BATTERY,
    "faulty": SwapOutcome.FAULTY_BATTERY,
    "unreadable": SwapOutcome.BAY_FAULT,
    "no_charged_battery": SwapOutcome.NO_CAPACITY,
    "bay_fault": SwapOutcome.BAY_FAULT,
}


@dataclass(frozen=True)
class SwapRecord:
    """One swap as stored: the row the app writes with every :class:`Persist`. JSON via ``as_dict``."""

    swap_id: str
    rider_id: str
    nonce: str
    state: SwapState
    steps: Mapping[str, float] = field(default_factory=dict)
    """:class:`Step` name → monotonic time (the app stores wall time beside each write)."""
    return_bay: int | None = None
    charged_bay: int | None = None
    returned_battery_id: str | None = None
    returned_soc_pct: float | None = None
    charged_battery_id: str | None = None
    charged_soc_pct: float | None = None
    reject_reason: RejectReason | None = None
    attempts: int = 0
    """Bays tried so far in the current role (return, take-back, charged)."""
    faulted_bays: tuple[int, ...] = ()
    """Bays whose lock failed during this swap (never tried again in it)."""
    reopens: int = 0
    door_left_open: bool = False
    outcome: SwapOutcome | None = None
    detail: str = ""

    @property
    def role(self) -> BayRole | None:
        """What the current bay is opened for (None once ended)."""
        return ROLE_OF.get(self.state)

    @property
    def current_bay(self) -> int | None:
        """The bay the swap is working on now."""
        role = self.role
        if role is None:
            return None
        return self.charged_bay if role == "charged" else self.return_bay

    def bays(self) -> frozenset[int]:
        """Every bay this swap has touched."""
        found = {b for b in (self.return_bay, self.charged_bay) if b is not None}
        return frozenset(found | set(self.faulted_bays))

    def at(self, step: Step) -> float | None:
        """Monotonic time of ``step`` (None if it has not happened)."""
        return self.steps.get(step.value)

    def durations(self) -> dict[str, float]:
        """Seconds each step took, for the steps that happened (``total`` once ended)."""
        out: dict[str, float] = {}
        for name, start, end in DURATIONS:
            a, b = self.at(start), self.at(end)
            if a is not None and b is not None:
                out[name] = round(float(b - a), 3)
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (what the swaps table stores)."""
        return {
            "swap_id": self.swap_id,
            "rider_id": self.rider_id,
            "nonce": self.nonce,
            "state": self.state.value,
            "steps": dict(self.steps),
            "return_bay": self.return_bay,
            "charged_bay": self.charged_bay,
            "returned_battery_id": self.returned_battery_id,
            "returned_soc_pct": self.returned_soc_pct,
            "charged_battery_id": self.charged_battery_id,
            "charged_soc_pct": self.charged_soc_pct,
            "reject_reason": self.reject_reason,
            "attempts": self.attempts,
            "faulted_bays": list(self.faulted_bays),
            "reopens": self.reopens,
            "door_left_open": self.door_left_open,
            "outcome": None if self.outcome is None else self.outcome.value,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SwapRecord:
        """Rebuild a record from :meth:`as_dict` output; ``ProtocolError`` if it does not fit."""
        try:
            values = dict(data)
            values["state"] = SwapState(values["state"])
            values["steps"] = {str(k): float(v) for k, v in dict(values.get("steps", {})).items()}
            values["faulted_bays"] = tuple(int(b) for b in values.get("faulted_bays", ()))
            outcome = values.get("outcome")
            values["outcome"] = None if outcome is None else SwapOutcome(outcome)
            record = cls(**values)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"stored swap record does not fit: {exc}") from exc
        if (record.state is S.ENDED) != (record.outcome is not None):
            raise ProtocolError(f"stored swap {record.swap_id}: an outcome belongs to ended swaps only")
        return record


# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwapRequested:
    """A verified ``swap`` code was scanned. ``swap_id`` comes from the app (a UUIDv7).

    ``since_last_swap_s`` is how long ago this rider's last *completed* swap was (None: none known). The
    app works it out from its records, across reboots if need be, so the machine never compares
    monotonic times of different boots.
    """

    swap_id: str
    rider_id: str
    nonce: str
    now: float
    since_last_swap_s: float | None = None


@dataclass(frozen=True)
class DoorChanged:
    """A bay door was seen opening or closing."""

    bay: int
    open: bool
    now: float


@dataclass(frozen=True)
class BatteryRead:
    """The answer to :class:`ReadBattery` (``reading.error`` set when the controller did not answer)."""

    bay: int
    reading: BatteryReading
    now: float


@dataclass(frozen=True)
class UnlockFailed:
    """The driver could not pulse the bay's lock (it raised ``DeviceError``)."""

    bay: int
    reason: str
    now: float


@dataclass(frozen=True)
class ReopenRequested:
    """The rider pressed "open the bay again" after closing the return bay with nothing in it."""

    now: float


@dataclass(frozen=True)
class Tick:
    """Time passed. Send one at :meth:`SwapMachine.next_deadline` (or every second; extra ticks are harmless)."""

    now: float


SwapInput = SwapRequested | DoorChanged | BatteryRead | UnlockFailed | ReopenRequested | Tick


# --- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persist:
    """Write the swap row (if any) and these events in ONE transaction, before any later command."""

    swap: SwapRecord | None
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Unlock:
    """Pulse the bay's lock open once."""

    bay: int


@dataclass(frozen=True)
class ReadBattery:
    """Read the bay's battery; answer with :class:`BatteryRead` (presence only on GPIO cabinets)."""

    bay: int


@dataclass(frozen=True)
class Show:
    """Tell the rider something: a screen name and its JSON-safe parameters."""

    screen: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class MarkBayFaulted:
    """Take the bay out of service (its ``bay.faulted`` event is in the preceding Persist)."""

    bay: int
    reason: str


@dataclass(frozen=True)
class Alarm:
    """A bay door has been open too long: warn staff (its ``door.alarm`` event is in the preceding Persist)."""

    bay: int
    open_for_s: float


Command = Persist | Unlock | ReadBattery | Show | MarkBayFaulted | Alarm


def ended_event(record: SwapRecord, left: bool | None) -> SwapCompleted | SwapEnded:
    """The event that closes a swap record (``left``: whether a battery is in the last bay it used)."""
    outcome = record.outcome
    assert outcome is not None
    if outcome is SwapOutcome.COMPLETED:
        assert record.return_bay is not None
        assert record.charged_bay is not None
        return SwapCompleted(
            swap_id=record.swap_id,
            rider_id=record.rider_id,
            return_bay=record.return_bay,
            charged_bay=record.charged_bay,
            returned_battery_id=record.returned_battery_id,
            returned_soc_pct=record.returned_soc_pct,
            charged_battery_id=record.charged_battery_id,
            charged_soc_pct=record.charged_soc_pct,
            durations_s=record.durations(),
            door_left_open=record.door_left_open,
        )
    return SwapEnded(
        swap_id=record.swap_id,
        rider_id=record.rider_id,
        outcome=cast(EndedOutcome, outcome.value),  # COMPLETED is handled above; TOO_SOON never starts a swap
        detail=record.detail,
        return_bay=record.return_bay,
        returned_battery_id=record.returned_battery_id,
        battery_left_in_bay=left,
        door_left_open=record.door_left_open,
    )
