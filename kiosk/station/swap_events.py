"""Events of the swap and entry flows. Each is written in the same transaction as the state it records.

Bay numbers are the ones printed on the cabinet. Battery ids are the pack serial numbers the slot
controllers report (None on cabinets that sense presence only).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from kiosk.core.events import Event, event_type

EndedOutcome = Literal[
    "foreign_battery", "refused_battery", "faulty_battery", "abandoned", "not_collected", "bay_fault", "no_capacity"
]
"""Outcomes of a swap that did not complete (``swap.ended``)."""

BayRole = Literal["return", "take_back", "charged"]
"""Why a bay was opened: for the returned battery, to give a refused battery back, or to hand one out."""


@event_type
class SwapStarted(Event):
    """A swap began: the station checked it can finish and is about to open the return bay."""

    TYPE: ClassVar[str] = "swap.started"
    swap_id: str
    rider_id: str
    return_bay: int
    """The empty bay opened for the flat battery."""
    charged_bay_planned: int
    """The bay that would be handed out if nothing changes meanwhile (it is chosen again after the return)."""


@event_type
class SwapRefused(Event):
    """A swap was not started (nothing was opened)."""

    TYPE: ClassVar[str] = "swap.refused"
    swap_id: str
    rider_id: str
    reason: Literal["too_soon", "no_empty_bay", "no_charged_battery"]
    wait_s: float | None = None
    """For ``too_soon``: seconds until the rider may swap again."""


@event_type
class SwapBayUnlocking(Event):
    """The station is about to pulse a bay's lock open for this swap (written before the pulse)."""

    TYPE: ClassVar[str] = "swap.bay_unlocking"
    swap_id: str
    bay: int
    role: BayRole
    attempt: int
    """1 for the first bay tried in this role, 2 after one lock failed, ..."""


@event_type
class SwapBayOpened(Event):
    """The rider opened the bay door."""

    TYPE: ClassVar[str] = "swap.bay_opened"
    swap_id: str
    bay: int
    role: BayRole


@event_type
class SwapDoorClosed(Event):
    """The rider closed the bay door; the bay is read next."""

    TYPE: ClassVar[str] = "swap.door_closed"
    swap_id: str
    bay: int
    role: BayRole


@event_type
class SwapNoBattery(Event):
    """The return bay was closed with nothing in it; the rider may ask to reopen it until the insert time ends."""

    TYPE: ClassVar[str] = "swap.no_battery"
    swap_id: str
    bay: int


@event_type
class SwapReopenRequested(Event):
    """The rider asked to reopen the return bay after closing it empty."""

    TYPE: ClassVar[str] = "swap.reopen_requested"
    swap_id: str
    bay: int


@event_type
class SwapBatteryReturned(Event):
    """The returned battery was read and accepted; it stays in the return bay."""

    TYPE: ClassVar[str] = "swap.battery_returned"
    swap_id: str
    bay: int
    battery_id: str | None
    soc_pct: float | None
    temperature_c: float | None
    soh_pct: float | None = None
    cycles: int | None = None
    unverified: bool = False
    """Accepted without the hub's battery registry (a station that never received one): the hub checks it."""


@event_type
class SwapBatteryRejected(Event):
    """The returned battery is given back (not ours, refused by the registry or its wear, faulty, unreadable,
    or nothing to swap it for)."""

    TYPE: ClassVar[str] = "swap.battery_rejected"
    swap_id: str
    bay: int
    reason: Literal[
        "foreign", "unknown", "retired", "low_soh", "faulty", "unreadable", "no_charged_battery", "bay_fault"
    ]
    battery_id: str | None = None
    fault_flags: tuple[str, ...] = ()


@event_type
class SwapChargedChosen(Event):
    """The battery to hand out was chosen (the bay is unlocked next)."""

    TYPE: ClassVar[str] = "swap.charged_chosen"
    swap_id: str
    bay: int
    battery_id: str | None
    soc_pct: float | None


@event_type
class SwapUnexpectedDoor(Event):
    """A bay of this swap opened when the flow did not open it (a late lock, a broken latch, tampering)."""

    TYPE: ClassVar[str] = "swap.unexpected_door"
    swap_id: str
    bay: int


@event_type
class SwapCompleted(Event):
    """The rider returned a battery and took a charged one: the station's main job, done."""

    TYPE: ClassVar[str] = "swap.completed"
    swap_id: str
    rider_id: str
    return_bay: int
    charged_bay: int
    returned_battery_id: str | None
    returned_soc_pct: float | None
    charged_battery_id: str | None
    charged_soc_pct: float | None
    durations_s: dict[str, float]
    """Per step: ``opening``, ``insert``, ``read``, ``collect``, ``total`` (seconds)."""
    door_left_open: bool = False


@event_type
class SwapEnded(Event):
    """A swap ended without a battery changing hands the normal way."""

    TYPE: ClassVar[str] = "swap.ended"
    swap_id: str
    rider_id: str
    outcome: EndedOutcome
    detail: str
    """What happened, in plain words."""
    return_bay: int | None = None
    returned_battery_id: str | None = None
    """A battery the rider left in the return bay (never forgotten, even when the swap did not finish)."""
    battery_left_in_bay: bool | None = None
    """Whether a battery is in the last bay the swap used (None: unknown)."""
    door_left_open: bool = False


@event_type
class BayFaulted(Event):
    """A bay was taken out of service (its lock did not open, or its battery could not be read)."""

    TYPE: ClassVar[str] = "bay.faulted"
    bay: int
    reason: str
    swap_id: str | None = None


@event_type
class DoorAlarm(Event):
    """A door has been open longer than allowed (raised once per opening)."""

    TYPE: ClassVar[str] = "door.alarm"
    door: Literal["bay", "entry"]
    bay: int | None = None
    open_for_s: float
    swap_id: str | None = None


@event_type
class SwapRecovered(Event):
    """At startup a swap was found in flight and reconciled with the sensors."""

    TYPE: ClassVar[str] = "swap.recovered"
    swap_id: str
    from_state: str
    decision: Literal["resumed", "reissued", "ended"]
    """``resumed``: waits on; ``reissued``: the interrupted unlock is sent again; ``ended``: closed out."""
    to_state: str
    outcome: str | None = None
    detail: str


@event_type
class EntryGranted(Event):
    """A rider was let in (this is the station's visit count)."""

    TYPE: ClassVar[str] = "entry.granted"
    rider_id: str
    nonce: str


@event_type
class EntryRefused(Event):
    """An entry code was refused; the door stayed locked."""

    TYPE: ClassVar[str] = "entry.refused"
    reason: str
    rider_id: str | None = None
