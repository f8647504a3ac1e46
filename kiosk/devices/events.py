"""Events the hardware gives rise to: doors, faults, batteries, the scanner.

Recorded by the cabinet component (kiosk.flows.cabinet).
"""

from __future__ import annotations

from typing import ClassVar

from kiosk.core.events import Event, event_type


@event_type
class BayDoorChanged(Event):
    """A bay door opened or closed (as its switch reports it)."""

    TYPE: ClassVar[str] = "bay.door_changed"
    bay: int
    """Bay number."""
    door: str
    """'open', 'closed' or 'unknown'."""


@event_type
class BayFaultChanged(Event):
    """A bay became faulted (reason set) or recovered (reason None)."""

    TYPE: ClassVar[str] = "bay.fault_changed"
    bay: int
    """Bay number."""
    reason: str | None
    """What is wrong, in plain words; None when the bay works again."""


@event_type
class BatteryChanged(Event):
    """A battery appeared in or left a bay (presence or id changed)."""

    TYPE: ClassVar[str] = "bay.battery_changed"
    bay: int
    """Bay number."""
    present: bool
    """Whether a battery is in the bay now."""
    battery_id: str | None
    """Its id, where the slot controller reports one."""
    soc_pct: float | None
    """Its state of charge when seen."""


@event_type
class ScannerStateChanged(Event):
    """The scanner was connected or lost."""

    TYPE: ClassVar[str] = "scanner.state_changed"
    state: str
    """'connected' or 'disconnected'."""
    error: str | None = None
    """Why it was lost, if known."""


@event_type
class BadScan(Event):
    """The scanner delivered something that is not a readable code (never the raw bytes)."""

    TYPE: ClassVar[str] = "scanner.bad_scan"
    reason: str
    """What was wrong with it, in plain words."""
