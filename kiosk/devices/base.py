"""The small protocols every driver keeps, so the station logic never knows which hardware it runs on.

Drivers are plain synchronous objects (they block on a serial port or a pin for at most a bounded
time). The cabinet component (kiosk.flows.cabinet) runs them in worker threads and hands their results to
the asyncio loop; drivers never touch the loop themselves. Every driver has ``close()`` (idempotent,
outputs to safe state), ``get_status()`` (a fresh JSON-safe dict) and works as a context manager.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable


class DoorState(enum.Enum):
    """A bay door as its switch reports it."""

    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class LockState(enum.Enum):
    """A bay lock as its feedback reports it (UNKNOWN where the hardware has no feedback)."""

    LOCKED = "locked"
    UNLOCKED = "unlocked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class BayState:
    """What is known of one bay now. ``fault`` is a plain reason when the bay cannot be trusted."""

    bay: int
    door: DoorState = DoorState.UNKNOWN
    lock: LockState = LockState.UNKNOWN
    presence: bool | None = None
    """Something is in the bay (presence switch or IR sensor); None where there is no sensor."""
    fault: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "bay": self.bay,
            "door": self.door.value,
            "lock": self.lock.value,
            "presence": self.presence,
            "fault": self.fault,
        }


BayListener = Callable[[BayState], None]
"""Called (on the driver's own thread) with a bay's new state whenever it changes."""


@runtime_checkable
class LockerBank(Protocol):
    """A bank of bays behind one backend (GPIO pins, a Kerong bus, an 8A/80 bus)."""

    def bays(self) -> list[int]:
        """The bay numbers this bank drives."""
        ...

    def unlock(self, bay: int) -> None:
        """Pulse the bay's lock open once (the lock relocks by itself). Raises DeviceError."""
        ...

    def read(self, bay: int) -> BayState:
        """Read one bay from the hardware now. A fault is reported in the state, not raised."""
        ...

    def read_all(self) -> dict[int, BayState]:
        """Read every bay now (one bus round per board where the protocol allows)."""
        ...

    def subscribe(self, listener: BayListener) -> None:
        """Be told of every change of a bay's state (from polling or unsolicited reports)."""
        ...

    def close(self) -> None:
        """Stop; outputs return to locked. Safe to call twice."""
        ...

    def get_status(self) -> dict[str, Any]:
        """Fresh JSON-safe status: connected, per-bay state, faults, error counts."""
        ...


@dataclass(frozen=True)
class Scan:
    """One code read by the scanner, or a read that failed (``error`` set, ``text`` empty)."""

    text: str
    mono: float
    error: str | None = None


ScanListener = Callable[[Scan], None]


@dataclass(frozen=True)
class BatteryReading:
    """What a slot controller reports of its bay's battery (HARDWARE.md register map)."""

    bay: int
    present: bool
    battery_id: str | None = None
    soc_pct: float | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    temperature_c: float | None = None
    soh_pct: float | None = None
    cycles: int | None = None
    fault_flags: frozenset[str] = field(default_factory=frozenset)
    charger_state: str | None = None
    """'idle', 'charging', 'full' or 'fault'."""
    error: str | None = None
    """Set when the controller did not answer; the other fields are then unknown."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "bay": self.bay,
            "present": self.present,
            "battery_id": self.battery_id,
            "soc_pct": self.soc_pct,
            "voltage_v": self.voltage_v,
            "current_a": self.current_a,
            "temperature_c": self.temperature_c,
            "soh_pct": self.soh_pct,
            "cycles": self.cycles,
            "fault_flags": sorted(self.fault_flags),
            "charger_state": self.charger_state,
            "error": self.error,
        }


class Closeable:
    """Mixin: ``with`` support for anything with ``close()``."""

    def close(self) -> None:  # pragma: no cover - overridden
        """Release the device."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
