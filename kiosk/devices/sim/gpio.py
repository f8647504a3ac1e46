"""Simulated GPIO lockers on gpiozero's MockFactory: the real GPIO driver drives the pins unchanged.

Two pieces:

- :class:`SimPin`, a ``MockPin`` (give it to ``MockFactory(pin_class=SimPin)``) that tells watchers
  when an output changes level (gpiozero 2.0's ``MockPin`` has no hook for that) and holds an input at
  the level the simulated circuit forces: a closed reed switch pulls its pin to ground whatever pull
  resistor the driver enables, so a driver that (re)opens the pin must still read the switch as it is.
- :class:`SimGpioLockers`, the bays' mechanics behind those pins: a relay driven active releases the
  lock and the door springs open (unless jammed, or the door is an entry door that must be pushed);
  door and presence switches follow the model, honouring the configured active levels and pull.

Door changes caused by a relay are made on the simulator's own thread, as a real door opens a little
after its relay clicks and a Pi's edge callbacks arrive on gpiozero's threads, never inside the
driver's own call.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

from kiosk.core.hardware import LockerSettings
from kiosk.devices.base import Closeable
from kiosk.devices.lockers.gpio import GpioBay

log = logging.getLogger(__name__)

PinWatcher = Callable[[bool], None]
"""Called with an output pin's new level (True = high), on the thread that drove it."""
PulseHook = Callable[[int], None]
"""Called with the bay number each time its relay is driven active, after the door has reacted."""


class SimPin(MockPin):  # type: ignore[misc]  # gpiozero is untyped
    """A mock pin with output watchers and a level forced by the simulated circuit.

    ``force(level)`` holds an input at ``level`` (True high, False low) and fires the edge callbacks of
    whatever device reads it; ``force(None)`` lets it follow its pull resistor again.
    """

    def __init__(self, factory: Any, info: Any) -> None:
        self._forced: bool | None = None
        self._watchers: list[PinWatcher] = []
        super().__init__(factory, info)

    def watch(self, watcher: PinWatcher) -> None:
        """Be called with the new level whenever this pin, as an output, changes level."""
        self._watchers.append(watcher)

    def force(self, level: bool | None) -> None:
        """Hold the input at ``level`` (None: let the pull resistor decide)."""
        self._forced = level
        if self._function == "input":
            self._apply()

    def _apply(self) -> None:
        level = self._forced
        if level is None:
            level = {"up": True, "down": False}.get(self._pull, self._state)
        if level:
            self.drive_high()
        else:
            self.drive_low()

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        # The pull only decides the level of an open switch: a closed one still wins.
        if self._forced is not None:
            self._apply()

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if changed and self._function == "output":
            for watcher in list(self._watchers):
                try:
                    watcher(bool(value))
                except Exception:  # a simulator bug must not break the driver's write
                    log.exception("a pin watcher failed")
        return changed


def sim_pin(factory: MockFactory, name: str) -> SimPin:
    """The factory's pin ``name`` as a :class:`SimPin` (created as one if it does not exist yet)."""
    pin = factory.pin(name, pin_class=SimPin)
    if not isinstance(pin, SimPin):
        raise ValueError(f"{name} already exists as a plain {type(pin).__name__}; build the factory with SimPin")
    return pin


@dataclass
class _Bay:
    pins: GpioBay
    door: SimPin
    presence: SimPin | None
    door_open: bool = False
    present: bool = False
    jammed: bool = False
    relay_active: bool = False


class SimGpioLockers(Closeable):
    """The mechanics of GPIO bays behind a MockFactory's :class:`SimPin` s.

    ``springs_open``: a released lock lets the door spring open (bay doors); False for a door that stays
    shut until pushed (the entry door's strike). ``settings`` are the driver's, so the inputs use the
    same active levels and pull the driver expects.
    """

    def __init__(
        self,
        factory: MockFactory,
        bays: Sequence[GpioBay],
        settings: LockerSettings,
        *,
        springs_open: bool = True,
        name: str = "sim-gpio",
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.springs_open = springs_open
        # _lock guards the model and is never held while calling out; _drive_lock keeps pin writes in order
        # and is held while the driver's edge callbacks run (they take the driver's own lock after it).
        self._lock = threading.Lock()
        self._drive_lock = threading.Lock()
        self._bays = {
            bay.number: _Bay(
                pins=bay,
                door=sim_pin(factory, bay.door_pin),
                presence=sim_pin(factory, bay.presence_pin) if bay.presence_pin is not None else None,
            )
            for bay in bays
        }
        self._hooks: list[PulseHook] = []
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._closed = False
        self.pulses: list[int] = []
        """Every bay whose relay was driven active, in order, once the door has reacted (jammed ones too)."""
        for bay in self._bays.values():
            relay = sim_pin(factory, bay.pins.lock_pin)
            relay.watch(self._relay_watcher(bay.pins.number))
            self._show(bay.pins.number)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- the world ---------------------------------------------------------------------------------

    def bays(self) -> list[int]:
        """The bay numbers."""
        return sorted(self._bays)

    def _get(self, bay: int) -> _Bay:
        try:
            return self._bays[bay]
        except KeyError:
            raise ValueError(f"the simulated GPIO cabinet has no bay {bay}") from None

    def door_open(self, bay: int) -> bool:
        """Whether the bay's door is open now."""
        with self._lock:
            return self._get(bay).door_open

    def relay_active(self, bay: int) -> bool:
        """Whether the bay's relay is energised now (the lock is released)."""
        with self._lock:
            return self._get(bay).relay_active

    def jammed(self, bay: int) -> bool:
        """Whether the bay's lock is jammed."""
        with self._lock:
            return self._get(bay).jammed

    def open_door(self, bay: int) -> None:
        """Put the door open (a push after the lock released, a technician's key)."""
        self._set(bay, door_open=True)

    def close_door(self, bay: int) -> None:
        """Push the door shut."""
        self._set(bay, door_open=False)

    def set_presence(self, bay: int, present: bool) -> None:
        """Something is in the bay (or not); its presence switch, if wired, follows."""
        self._set(bay, present=present)

    def jam(self, bay: int, jammed: bool = True) -> None:
        """A jammed lock clicks when its relay is driven, but the door stays shut."""
        with self._lock:
            self._get(bay).jammed = jammed

    def on_pulse(self, hook: PulseHook) -> None:
        """Be called with the bay number after each relay activation has been acted on."""
        with self._lock:
            self._hooks.append(hook)

    def door_level(self, bay: int, door_open: bool) -> bool:
        """The pin level (True high) the door switch shows for ``door_open``, as the wiring makes it."""
        active = (not door_open) == self.settings.door_closed_when_active
        return self._level(active)

    def close(self) -> None:
        """Stop the simulator's thread (pins stay as they are). Safe twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    # -- internals -----------------------------------------------------------------------------------

    def _level(self, active: bool) -> bool:
        # Pull-up wiring: the switch connects the pin to ground, so active is low; pull-down is the mirror.
        return active != self.settings.input_pull_up

    def _set(self, bay: int, *, door_open: bool | None = None, present: bool | None = None) -> None:
        with self._lock:
            item = self._get(bay)
            if door_open is not None:
                item.door_open = door_open
            if present is not None:
                item.present = present
        self._show(bay)

    def _show(self, bay: int) -> None:
        """Drive the bay's inputs to what the model says now (never called with ``_lock`` held)."""
        with self._drive_lock:
            with self._lock:
                item = self._bays[bay]
                door_level = self.door_level(bay, item.door_open)
                presence_level = self._level(item.present == self.settings.presence_when_active)
            item.door.force(door_level)
            if item.presence is not None:
                item.presence.force(presence_level)

    def drive_door(self, bay: int, door_open: bool) -> None:
        """Show ``door_open`` on the door switch without changing the model (a flapping switch)."""
        with self._drive_lock:
            item = self._get(bay)
            item.door.force(self.door_level(bay, door_open))

    def show(self, bay: int) -> None:
        """Put the model's door and presence back on the switches (after :meth:`drive_door`)."""
        self._show(bay)

    def _relay_watcher(self, bay: int) -> PinWatcher:
        def watcher(level: bool) -> None:
            active = level == self.settings.relay_active_high
            with self._lock:
                item = self._bays[bay]
                rising = active and not item.relay_active
                item.relay_active = active
            if rising:
                self._queue.put(bay)

        return watcher

    def _run(self) -> None:
        while True:
            bay = self._queue.get()
            if bay is None:
                return
            with self._lock:
                item = self._bays[bay]
                opens = self.springs_open and not item.jammed and not item.door_open
                if opens:
                    item.door_open = True
            if opens:
                self._show(bay)
            with self._lock:
                self.pulses.append(bay)
                hooks = list(self._hooks)
            for hook in hooks:
                try:
                    hook(bay)
                except Exception:
                    log.exception("a pulse hook failed for bay %d", bay)
