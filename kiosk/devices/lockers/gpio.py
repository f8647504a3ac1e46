"""Lockers wired straight to the Pi's GPIO: a lock relay, a door reed switch, maybe a presence switch.

The gpiozero pattern: devices talk to pins, a pin factory (passed in, never gpiozero's global default)
hands the pins out, and :class:`Locker` is a composite built from named children that closes every
child if construction fails part-way. :class:`GpioLockerBank` is a :class:`~kiosk.devices.base.LockerBank`
of them.

Safety: every relay is created with an explicit active level and ``initial_value=False`` (locked). An
unlock is a pulse that ends on the injected clock when the runtime calls :meth:`GpioLockerBank.poll`
(every few tens of milliseconds); ``close()`` drives every relay to locked before releasing its pin,
and the hardware's pull resistors and fail-secure locks hold that state once no process drives it.

Inputs: gpiozero runs ``when_activated``/``when_deactivated`` on its own threads; those and every poll
feed our :class:`~kiosk.devices.debounce.Debouncer` (gpiozero's ``bounce_time`` is deliberately unused).
A switch that flaps is reported as a fault of its bay (latched until :meth:`GpioLockerBank.reset_fault`)
instead of a storm of door changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice
from gpiozero.exc import GPIOZeroError

from kiosk.core.clock import Clock
from kiosk.core.config import BayConfig
from kiosk.core.errors import ConfigError, DeviceError
from kiosk.core.hardware import LockerSettings
from kiosk.devices.base import BayListener, BayState, Closeable, DoorState, LockState
from kiosk.devices.debounce import Debouncer, FlapDetector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpioBay:
    """The pins of one bay, named like 'GPIO17'."""

    number: int
    lock_pin: str
    door_pin: str
    presence_pin: str | None = None


def gpio_bays_from_config(bays: Iterable[BayConfig]) -> list[GpioBay]:
    """The GPIO pins of configured bays; ConfigError names every bay without a lock or door pin."""
    out: list[GpioBay] = []
    problems: list[str] = []
    for bay in bays:
        if bay.lock_pin is None or bay.door_pin is None:
            problems.append(f"bay {bay.number}: a GPIO cabinet needs both lock_pin and door_pin")
            continue
        out.append(GpioBay(bay.number, bay.lock_pin, bay.door_pin, bay.presence_pin))
    if problems:
        raise ConfigError("GPIO bays are incomplete", problems)
    return out


@dataclass(frozen=True)
class LockerState:
    """One locker now: door, relay, presence (None without a sensor), fault reason."""

    door: DoorState
    lock: LockState
    presence: bool | None
    fault: str | None

    def for_bay(self, bay: int) -> BayState:
        """The same, as the station's BayState of ``bay``."""
        return BayState(bay=bay, door=self.door, lock=self.lock, presence=self.presence, fault=self.fault)


LockerListener = Callable[[LockerState], None]


class _Switch:
    """One debounced, flap-checked input. Not thread-safe: its Locker holds the lock."""

    def __init__(self, device: Any, what: str, settings: LockerSettings, now: float) -> None:
        self.device = device
        self.what = what
        self._last_raw = bool(device.is_active)
        # At start the switch is taken as it reads: a bay is not UNKNOWN for a debounce period.
        self.debouncer = Debouncer(settings.debounce_s, initial=self._last_raw, now=now)
        self.flaps = FlapDetector(settings.flap_max_changes, settings.flap_window_s)

    def feed(self, raw: bool, now: float) -> tuple[bool | None, bool]:
        """Feed one reading: (new stable value or None, True if this change makes it flap)."""
        flapping = False
        if raw != self._last_raw:
            self._last_raw = raw
            flapping = self.flaps.record(now)
        return self.debouncer.update(raw, now), flapping

    def read_raw(self) -> bool:
        return bool(self.device.is_active)

    def reset(self, now: float) -> None:
        self._last_raw = self.read_raw()
        self.debouncer.reset(self._last_raw, now)
        self.flaps.reset()


def _gpio_error(what: str, pin: str, exc: BaseException) -> DeviceError:
    return DeviceError(f"cannot set up {what} on {pin}: {exc}")


class Locker(Closeable):
    """A lock relay, a door switch and an optional presence switch, as one device.

    Build it with :meth:`from_pins`, or hand in gpiozero devices already made (it then owns them and
    closes them). ``poll()`` ends unlock pulses and confirms debounced switch changes; edges from
    gpiozero's threads are handled as they come. Listeners get a :class:`LockerState` on every change
    (on whichever thread saw it; they must not block).
    """

    def __init__(
        self,
        *,
        door: Any,
        lock: Any,
        presence: Any = None,
        settings: LockerSettings,
        clock: Clock,
        name: str = "locker",
    ) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._lock_dev = lock
        self._mutex = threading.RLock()
        self._listeners: list[LockerListener] = []
        self._pulse_until: float | None = None
        self._fault: str | None = None
        self._closed = False
        self._door: _Switch | None = None
        self._presence: _Switch | None = None
        self._children: list[Any] = [c for c in (lock, door, presence) if c is not None]
        try:
            # The relay may have been handed in unlocked; a new locker starts locked whatever it got.
            lock.off()
            now = clock.monotonic()
            self._door = _Switch(door, "door switch", settings, now)
            if presence is not None:
                self._presence = _Switch(presence, "presence switch", settings, now)
            for switch in (self._door, self._presence):
                if switch is not None:
                    self._attach(switch)
            self._last_state = self._state_locked()
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_pins(
        cls,
        *,
        lock_pin: str,
        door_pin: str,
        presence_pin: str | None = None,
        settings: LockerSettings,
        pin_factory: Any,
        clock: Clock,
        name: str = "locker",
    ) -> Locker:
        """Reserve the pins and build the locker; DeviceError (with every built child closed) if not."""
        built: list[Any] = []
        try:
            try:
                lock = DigitalOutputDevice(
                    lock_pin,
                    active_high=settings.relay_active_high,
                    initial_value=False,
                    pin_factory=pin_factory,
                )
            except GPIOZeroError as exc:
                raise _gpio_error(f"{name} lock relay", lock_pin, exc) from exc
            built.append(lock)
            door = cls._input(f"{name} door switch", door_pin, settings, pin_factory)
            built.append(door)
            presence = None
            if presence_pin is not None:
                presence = cls._input(f"{name} presence switch", presence_pin, settings, pin_factory)
                built.append(presence)
            return cls(door=door, lock=lock, presence=presence, settings=settings, clock=clock, name=name)
        except BaseException:
            for device in reversed(built):
                device.close()
            raise

    @staticmethod
    def _input(what: str, pin: str, settings: LockerSettings, pin_factory: Any) -> Any:
        try:
            # No bounce_time: our debouncer works on the injected clock and can be tested.
            return DigitalInputDevice(pin, pull_up=settings.input_pull_up, pin_factory=pin_factory)
        except GPIOZeroError as exc:
            raise _gpio_error(what, pin, exc) from exc

    def _attach(self, switch: _Switch) -> None:
        switch.device.when_activated = lambda: self._edge(switch, True)
        switch.device.when_deactivated = lambda: self._edge(switch, False)

    # -- what the owner calls -------------------------------------------------------------------

    @property
    def state(self) -> LockerState:
        """The locker now (debounced)."""
        with self._mutex:
            return self._state_locked()

    def subscribe(self, listener: LockerListener) -> None:
        """Be told of every change of this locker's state."""
        with self._mutex:
            self._listeners.append(listener)

    def unlock(self) -> None:
        """Start one unlock pulse (restarting it if one is running; never longer than ``pulse_s``)."""
        with self._mutex:
            if self._closed:
                raise DeviceError(f"{self.name} is closed")
            now = self._clock.monotonic()
            try:
                self._lock_dev.on()
            except GPIOZeroError as exc:
                raise DeviceError(f"{self.name}: cannot energise the lock relay: {exc}") from exc
            self._pulse_until = now + self.settings.pulse_s
            log.info("%s: unlock pulse for %.2f s", self.name, self.settings.pulse_s)
            self._notify_if_changed()

    def poll(self, now: float | None = None) -> LockerState:
        """End an unlock pulse whose time is up, confirm settled switch changes; return the state."""
        with self._mutex:
            if self._closed:
                return self._state_locked()
            if now is None:
                now = self._clock.monotonic()
            if self._pulse_until is not None and now >= self._pulse_until:
                self._relock()
            for switch in (self._door, self._presence):
                if switch is not None:
                    # Feeding the pin's current reading also catches an edge whose callback was missed.
                    self._feed(switch, switch.read_raw(), now)
            self._notify_if_changed()
            return self._state_locked()

    def reset_fault(self) -> None:
        """Clear a latched fault (staff fixed the switch); readings start afresh from the pins."""
        with self._mutex:
            if self._closed or self._fault is None:
                return
            log.info("%s: fault cleared (%s)", self.name, self._fault)
            self._fault = None
            now = self._clock.monotonic()
            for switch in (self._door, self._presence):
                if switch is not None:
                    switch.reset(now)
            self._notify_if_changed()

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._closed

    def close(self) -> None:
        """Drive the relay to locked, then release every pin. Safe twice."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            self._pulse_until = None
            try:
                self._lock_dev.off()
            except GPIOZeroError:
                log.exception("%s: could not drive the lock relay to locked on close", self.name)
            for child in self._children:
                child.close()

    # -- internals -----------------------------------------------------------------------------

    def _edge(self, switch: _Switch, raw: bool) -> None:
        """An edge from gpiozero's thread."""
        with self._mutex:
            if self._closed:
                return
            self._feed(switch, raw, self._clock.monotonic())
            self._notify_if_changed()

    def _feed(self, switch: _Switch, raw: bool, now: float) -> None:
        _, flapping = switch.feed(raw, now)
        if flapping and self._fault is None:
            self._fault = switch.flaps.reason(switch.what)
            log.warning("%s: %s", self.name, self._fault)

    def _relock(self) -> None:
        self._pulse_until = None
        try:
            self._lock_dev.off()
        except GPIOZeroError:
            log.exception("%s: could not end the unlock pulse", self.name)

    def _state_locked(self) -> LockerState:
        door = DoorState.UNKNOWN
        if self._door is not None and self._fault is None:
            active = self._door.debouncer.value
            if active is not None:
                closed = active == self.settings.door_closed_when_active
                door = DoorState.CLOSED if closed else DoorState.OPEN
        presence: bool | None = None
        if self._presence is not None and self._fault is None:
            active = self._presence.debouncer.value
            if active is not None:
                presence = active == self.settings.presence_when_active
        lock = LockState.LOCKED
        if not self._closed and bool(self._lock_dev.is_active):
            lock = LockState.UNLOCKED
        return LockerState(door=door, lock=lock, presence=presence, fault=self._fault)

    def _notify_if_changed(self) -> None:
        state = self._state_locked()
        if state == self._last_state:
            return
        self._last_state = state
        # Called with the mutex held so listeners see changes in order; they must be quick.
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:
                log.exception("%s: a state listener failed", self.name)


class GpioLockerBank(Closeable):
    """A :class:`~kiosk.devices.base.LockerBank` of GPIO :class:`Locker` s, one per bay.

    The runtime calls :meth:`poll` every few tens of milliseconds (it ends unlock pulses and confirms
    switch changes); reads and unlocks may come from any thread.
    """

    def __init__(
        self,
        bays: Sequence[GpioBay],
        settings: LockerSettings,
        *,
        pin_factory: Any,
        clock: Clock,
        name: str = "lockers",
    ) -> None:
        numbers = [b.number for b in bays]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"bay numbers must be unique, got {numbers}")
        self.name = name
        self.settings = settings
        self._clock = clock
        self._listeners: list[BayListener] = []
        self._closed = False
        self._lockers: dict[int, Locker] = {}
        try:
            for bay in bays:
                locker = Locker.from_pins(
                    lock_pin=bay.lock_pin,
                    door_pin=bay.door_pin,
                    presence_pin=bay.presence_pin,
                    settings=settings,
                    pin_factory=pin_factory,
                    clock=clock,
                    name=f"bay {bay.number}",
                )
                self._lockers[bay.number] = locker
                locker.subscribe(self._forward(bay.number))
        except BaseException:
            self.close()
            raise

    def _forward(self, bay: int) -> LockerListener:
        def forward(state: LockerState) -> None:
            bay_state = state.for_bay(bay)
            for listener in list(self._listeners):
                try:
                    listener(bay_state)
                except Exception:
                    log.exception("%s: a bay listener failed", self.name)

        return forward

    def _locker(self, bay: int) -> Locker:
        locker = self._lockers.get(bay)
        if locker is None:
            raise DeviceError(f"there is no bay {bay} in {self.name} (bays: {sorted(self._lockers)})")
        if self._closed:
            raise DeviceError(f"{self.name} is closed")
        return locker

    def bays(self) -> list[int]:
        """The bay numbers, in order."""
        return sorted(self._lockers)

    def unlock(self, bay: int) -> None:
        """Pulse one bay's lock open; it relocks when :meth:`poll` sees the pulse time is up."""
        self._locker(bay).unlock()

    def read(self, bay: int) -> BayState:
        """The bay now (pulses due are ended and settled changes confirmed first)."""
        return self._locker(bay).poll().for_bay(bay)

    def read_all(self) -> dict[int, BayState]:
        """Every bay now."""
        return {bay: self.read(bay) for bay in self.bays()}

    def poll(self, now: float | None = None) -> None:
        """End due unlock pulses and confirm settled switch changes on every bay; call it often."""
        for locker in self._lockers.values():
            locker.poll(now)

    def reset_fault(self, bay: int) -> None:
        """Clear a bay's latched fault (e.g. after the door switch was repaired)."""
        self._locker(bay).reset_fault()

    def subscribe(self, listener: BayListener) -> None:
        """Be told of every change of a bay's state (on gpiozero's or the polling thread; do not block)."""
        self._listeners.append(listener)

    def close(self) -> None:
        """Every relay to locked, every pin released. Safe twice."""
        self._closed = True
        for locker in self._lockers.values():
            locker.close()

    def get_status(self) -> dict[str, Any]:
        """Fresh JSON-safe status: per-bay state and a warning per faulted bay."""
        states = {bay: locker.state.for_bay(bay) for bay, locker in sorted(self._lockers.items())}
        return {
            "name": self.name,
            "kind": "gpio",
            "connected": not self._closed,
            "bays": [state.as_dict() for state in states.values()],
            "warnings": [f"bay {bay}: {state.fault}" for bay, state in states.items() if state.fault],
        }
