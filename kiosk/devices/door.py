"""The station's entry door: an electric strike (relay) and a door reed switch on GPIO.

Same safety rules as the lockers (it is a :class:`~kiosk.devices.lockers.gpio.Locker` without a
presence switch): relay created locked, unlock is a pulse ended on the injected clock, ``close()``
drives it locked. On top, a door held open beyond ``open_alarm_s`` raises one :class:`DoorAlarm` per
opening, found by :meth:`EntryDoor.poll`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.core.clock import Clock
from kiosk.core.hardware import EntryDoorSettings
from kiosk.devices.base import Closeable, DoorState
from kiosk.devices.lockers.gpio import Locker, LockerState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DoorAlarm:
    """The entry door has been open too long."""

    opened_at: float
    """Monotonic time the door was seen open."""
    open_for_s: float
    """How long it had been open when the alarm was raised."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"opened_at": self.opened_at, "open_for_s": round(self.open_for_s, 3)}


DoorListener = Callable[[LockerState], None]
AlarmListener = Callable[[DoorAlarm], None]


class EntryDoor(Closeable):
    """The entry door. The runtime calls :meth:`poll` every few tens of milliseconds."""

    def __init__(
        self,
        lock_pin: str,
        door_pin: str,
        settings: EntryDoorSettings,
        pin_factory: Any,
        clock: Clock,
        *,
        name: str = "entry door",
    ) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._mutex = threading.RLock()
        self._alarm_listeners: list[AlarmListener] = []
        self._opened_at: float | None = None
        self._alarmed = False
        self._alarm: DoorAlarm | None = None
        self._locker = Locker.from_pins(
            lock_pin=lock_pin,
            door_pin=door_pin,
            settings=settings,
            pin_factory=pin_factory,
            clock=clock,
            name=name,
        )
        if self._locker.state.door is DoorState.OPEN:
            self._opened_at = clock.monotonic()
        self._locker.subscribe(self._on_change)

    @property
    def state(self) -> LockerState:
        """Door, strike and fault now."""
        return self._locker.state

    @property
    def door(self) -> DoorState:
        """The door as its switch reports it (debounced)."""
        return self._locker.state.door

    def unlock(self) -> None:
        """Release the strike for one pulse."""
        self._locker.unlock()

    def subscribe(self, listener: DoorListener) -> None:
        """Be told of every change of door, strike or fault (on whichever thread saw it; do not block)."""
        self._locker.subscribe(listener)

    def subscribe_alarm(self, listener: AlarmListener) -> None:
        """Be told when the door has been open too long (once per opening)."""
        with self._mutex:
            self._alarm_listeners.append(listener)

    def poll(self, now: float | None = None) -> DoorAlarm | None:
        """End a due pulse, confirm switch changes; return a new alarm if the door was just found held open."""
        if now is None:
            now = self._clock.monotonic()
        self._locker.poll(now)
        with self._mutex:
            if self._opened_at is None or self._alarmed:
                return None
            open_for = now - self._opened_at
            if open_for <= self.settings.open_alarm_s:
                return None
            self._alarmed = True
            alarm = DoorAlarm(opened_at=self._opened_at, open_for_s=open_for)
            self._alarm = alarm
            listeners = list(self._alarm_listeners)
        log.warning("%s: open for %.0f s (limit %.0f s)", self.name, open_for, self.settings.open_alarm_s)
        for listener in listeners:
            try:
                listener(alarm)
            except Exception:
                log.exception("%s: an alarm listener failed", self.name)
        return alarm

    def reset_fault(self) -> None:
        """Clear a latched switch fault."""
        self._locker.reset_fault()

    def _on_change(self, state: LockerState) -> None:
        with self._mutex:
            if state.door is DoorState.OPEN:
                if self._opened_at is None:
                    self._opened_at = self._clock.monotonic()
                    self._alarmed = False
            elif state.door is DoorState.CLOSED:
                # A closed door ends the opening; the next opening may alarm again.
                self._opened_at = None
                self._alarmed = False
                self._alarm = None

    def close(self) -> None:
        """Strike to locked, pins released. Safe twice."""
        self._locker.close()

    def get_status(self) -> dict[str, Any]:
        """Fresh JSON-safe status: door, strike, alarm, and warnings."""
        state = self._locker.state
        with self._mutex:
            alarm = self._alarm
        warnings: list[str] = []
        if state.fault:
            warnings.append(f"{self.name}: {state.fault}")
        if alarm is not None:
            warnings.append(f"{self.name}: open for more than {self.settings.open_alarm_s:g} s")
        return {
            "name": self.name,
            "connected": not self._locker.closed,
            "door": state.door.value,
            "lock": state.lock.value,
            "fault": state.fault,
            "alarm": alarm.as_dict() if alarm else None,
            "warnings": warnings,
        }
