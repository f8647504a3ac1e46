"""The cabinet as a component: drivers in worker threads, their news handed to the asyncio loop.

One thread per resource (ARCHITECTURE.md, Concurrency): a fast "pins" thread ends GPIO unlock pulses and
watches the entry door (every 20 ms — a relay must never stay energised because a bus read was slow),
a "lock bus" thread polls the lock boards, a "slots" thread reads the batteries. Unlocks run on one
dedicated executor thread. Threads never touch loop state: they post with ``call_soon_threadsafe``.

On the loop, the component keeps the latest view of every bay and battery, records what changed as
events (door opened/closed, bay faulted/recovered, battery in/out, scanner lost/found, bad scans), and
marks a bay whose door flaps as faulted whatever the backend.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError
from kiosk.core.events import Event
from kiosk.core.hardware import HardwareConfig
from kiosk.devices.air import AirReading
from kiosk.devices.air.modbus import AirSensor
from kiosk.devices.base import BatteryReading, BayState, DoorState, LockerBank, LockState, Scan, ScanListener
from kiosk.devices.debounce import FlapDetector
from kiosk.devices.door import EntryDoor
from kiosk.devices.events import (
    BadScan,
    BatteryChanged,
    BayDoorChanged,
    BayFaultChanged,
    ScannerStateChanged,
)
from kiosk.devices.lockers.gpio import GpioLockerBank, LockerState
from kiosk.devices.scanner import ReconnectingScanner, ScannerState
from kiosk.devices.slots.modbus import SlotControllers
from kiosk.flows.bay_warnings import grouped_faults

log = logging.getLogger(__name__)

PINS_TICK_S = 0.02
MIN_GAP_S = 0.02
"""The least pause between two polls of a bus (s): room for an unlock or a charger write."""


class BayDidNotOpen(DeviceError):
    """A bay's lock was pulsed but the door was not seen open in time: the bay is marked faulted."""


def battery_trouble(reading: BatteryReading) -> str | None:
    """What is wrong with a battery its slot controller reports on (flags, charger fault), with its temperature.

    None for a healthy battery. A hot one reads e.g. ``"fault: over_temperature, 62.0 °C"``: staff need the
    number to judge the danger, not only the word.
    """
    if not reading.present or (not reading.fault_flags and reading.charger_state != "fault"):
        return None
    flags = ", ".join(sorted(reading.fault_flags)) or "charger fault"
    temp = f", {reading.temperature_c:.1f} °C" if reading.temperature_c is not None else ""
    return f"fault: {flags}{temp}"


class DeviceSet(Protocol):
    """What the composition root builds from config (see ``kiosk.devices.build.Devices``)."""

    lockers: LockerBank | None
    slots: SlotControllers | None
    scanner: ReconnectingScanner | None
    entry_door: EntryDoor | None
    air: AirSensor | None

    def close(self) -> None:
        """Close every part; outputs locked."""
        ...


class Poller:
    """A daemon thread that calls ``fn`` every ``period_s`` until stopped; logs each new error once.

    The period runs from the start of one call to the start of the next (a bus sweep that takes 0.45 s
    of a 0.5 s period is followed by a 0.05 s pause, not a 0.5 s one), with at least ``MIN_GAP_S``
    between calls so a sweep longer than the period does not hold the bus without a break.
    """

    def __init__(self, name: str, period_s: float, fn: Callable[[], object]) -> None:
        self.name = name
        self.period_s = period_s
        self._fn = fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._last_error: str | None = None

    def start(self) -> None:
        """Begin polling."""
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._fn()
                if self._last_error is not None:
                    log.info("%s recovered", self.name)
                self._last_error = None
            except Exception as exc:  # a driver bug must not end the polling of a lock
                message = f"{type(exc).__name__}: {exc}"
                if message != self._last_error:
                    log.exception("%s failed: %s", self.name, message)
                self._last_error = message
            self._stop.wait(max(MIN_GAP_S, self.period_s - (time.monotonic() - started)))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and wait (bounded) for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


class CabinetComponent:
    """Bays, batteries, scanner and entry door of one station, as the station logic and the API see them."""

    name = "cabinet"
    optional = True  # a station whose cabinet is down still lets staff in, shows status and syncs

    def __init__(
        self,
        hw: HardwareConfig,
        *,
        clock: Clock,
        build: Callable[[ScanListener], DeviceSet],
        record: Callable[[Event], object],
    ) -> None:
        self.hw = hw
        self.clock = clock
        self._build = build
        self._record = record
        self.devices: DeviceSet | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pollers: list[Poller] = []
        self._bays: dict[int, BayState] = {}
        self._batteries: dict[int, BatteryReading] = {}
        self._flaps: dict[int, FlapDetector] = {}
        self._flap_faults: dict[int, str] = {}
        self._unlock_faults: dict[int, str] = {}
        """Bays a staff unlock did not open → why (until staff clear the fault)."""
        self._confirming: dict[int, asyncio.Event] = {}
        """Bays just unlocked for staff → set when the door is seen open (or the board reads the lock released)."""
        self._scanner_connected: bool | None = None
        self._scanner_posted: bool | None = None
        """The pins thread's last word on the scanner: it posts only changes, not 50 times a second."""
        self._scan_listeners: list[ScanListener] = []
        self._bay_listeners: list[Callable[[BayState], None]] = []
        self._entry_listeners: list[Callable[[bool], None]] = []
        self._battery_listeners: list[Callable[[dict[int, BatteryReading]], None]] = []
        self._air_listeners: list[Callable[[AirReading], None]] = []
        self._last_scan_mono: float | None = None
        self._safety_guard: Callable[[int], str | None] | None = None
        """The safety supervisor's word on whether a bay may be unlocked (None: it may)."""
        self._safety_reset: Callable[[int], str | None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Build the drivers, read every bay once, start the worker threads and the scanner."""
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unlock")
        devices = self._build(self._scan_from_thread)
        self.devices = devices
        if devices.lockers is not None:
            devices.lockers.subscribe(self._bay_from_thread)
            first = await self._loop.run_in_executor(self._executor, devices.lockers.read_all)
            self._bays.update(first)
        if devices.slots is not None:
            # Every battery read once before the station starts: a swap recovery resumes, or a rider's
            # scan, must not judge the cabinet by an empty list of batteries (no charged one to hand out).
            self._batteries_read(await self._loop.run_in_executor(None, devices.slots.read_all))
        if devices.entry_door is not None:
            devices.entry_door.subscribe(self._entry_from_thread)
        self._pollers.append(Poller("cabinet-pins", PINS_TICK_S, self._tick_pins))
        if devices.lockers is not None and not isinstance(devices.lockers, GpioLockerBank):
            self._pollers.append(Poller("cabinet-lock-bus", self.hw.poll_s, devices.lockers.read_all))
        if devices.slots is not None:
            self._pollers.append(Poller("cabinet-slots", self.hw.slots.poll_s, self._read_slots))
        if devices.air is not None:
            self._pollers.append(Poller("cabinet-air", self.hw.safety.cabinet_sensor_poll_s, self._read_air))
        for poller in self._pollers:
            poller.start()
        if devices.scanner is not None:
            devices.scanner.start()

    async def close(self) -> None:
        """Stop the threads, then close every driver (outputs locked). Safe to call twice."""
        for poller in self._pollers:
            await asyncio.to_thread(poller.stop)
        self._pollers = []
        devices, self.devices = self.devices, None
        if devices is not None:
            await asyncio.to_thread(devices.close)
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    # --- worker-thread side --------------------------------------------------------------------

    def _post(self, fn: Callable[..., object], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)

    def _tick_pins(self) -> None:
        devices = self.devices
        if devices is None:
            return
        now = self.clock.monotonic()
        if isinstance(devices.lockers, GpioLockerBank):
            devices.lockers.poll(now)
        if devices.entry_door is not None:
            devices.entry_door.poll(now)
        check_reports = getattr(devices.lockers, "check_reports", None)
        if callable(check_reports):
            check_reports()
        if devices.scanner is not None and devices.scanner.state is not ScannerState.IDLE:
            connected = devices.scanner.connected
            if connected != self._scanner_posted:
                self._scanner_posted = connected
                self._post(self._scanner_seen, connected)

    def _read_slots(self) -> None:
        devices = self.devices
        if devices is not None and devices.slots is not None:
            self._post(self._batteries_read, devices.slots.read_all())

    def _read_air(self) -> None:
        devices = self.devices
        if devices is not None and devices.air is not None:
            self._post(self._tell, self._air_listeners, devices.air.read())

    def _bay_from_thread(self, state: BayState) -> None:
        self._post(self._bay_changed, state)

    def _scan_from_thread(self, scan: Scan) -> None:
        self._post(self._scanned, scan)

    def _entry_from_thread(self, state: LockerState) -> None:
        if state.door is not DoorState.UNKNOWN:
            self._post(self._entry_changed, state.door is DoorState.OPEN)

    # --- loop side -----------------------------------------------------------------------------

    def _bay_changed(self, state: BayState) -> None:
        confirming = self._confirming.get(state.bay)
        if confirming is not None and self._released(state):
            confirming.set()
        previous = self._bays.get(state.bay)
        self._bays[state.bay] = state
        if previous is None:  # first sight of the bay: a state, not a change
            if state.fault is not None:
                self._record(BayFaultChanged(bay=state.bay, reason=state.fault))
            return
        if previous.door is not state.door:
            self._record(BayDoorChanged(bay=state.bay, door=state.door.value))
            if DoorState.UNKNOWN not in (previous.door, state.door):
                self._note_door_change(state.bay)
        if previous.fault != state.fault:
            self._record(BayFaultChanged(bay=state.bay, reason=state.fault))
        self._tell(self._bay_listeners, state)

    def _entry_changed(self, is_open: bool) -> None:
        self._tell(self._entry_listeners, is_open)

    @staticmethod
    def _tell(listeners: list[Callable[[Any], None]], value: Any) -> None:
        for listener in list(listeners):
            try:
                listener(value)
            except Exception:  # one broken listener must not stop the others
                log.exception("a cabinet listener failed")

    def _note_door_change(self, bay: int) -> None:
        if isinstance(self.devices.lockers if self.devices else None, GpioLockerBank):
            return  # the GPIO driver judges every raw edge itself, which sees far more than our polls
        detector = self._flaps.setdefault(bay, FlapDetector(self.hw.door_flap_max_changes, self.hw.door_flap_window_s))
        if detector.record(self.clock.monotonic()) and bay not in self._flap_faults:
            reason = detector.reason("door switch")
            self._flap_faults[bay] = reason
            log.warning("bay %d marked faulted: %s", bay, reason)
            self._record(BayFaultChanged(bay=bay, reason=reason))

    def reset_fault(self, bay: int) -> None:
        """Staff cleared a bay's fault: forget the flapping and clear the driver's latch if it has one.

        A safety alarm is cleared too, when the bay's readings allow it; DeviceError says why not.
        """
        if self._safety_reset is not None:
            refusal = self._safety_reset(bay)
            if refusal is not None:
                raise DeviceError(refusal)
        self._flaps.pop(bay, None)
        flapped = self._flap_faults.pop(bay, None) is not None
        if (self._unlock_faults.pop(bay, None) is not None or flapped) and not self._driver_fault(bay):
            self._record(BayFaultChanged(bay=bay, reason=None))
        reset = getattr(self.devices.lockers if self.devices else None, "reset_fault", None)
        if callable(reset):
            reset(bay)

    def _batteries_read(self, readings: dict[int, BatteryReading]) -> None:
        for bay, reading in readings.items():
            previous = self._batteries.get(bay)
            self._batteries[bay] = reading
            if reading.error is not None:
                continue
            if previous is None or previous.present != reading.present or previous.battery_id != reading.battery_id:
                self._record(
                    BatteryChanged(
                        bay=bay, present=reading.present, battery_id=reading.battery_id, soc_pct=reading.soc_pct
                    )
                )
        self._tell(self._battery_listeners, readings)

    def _scanner_seen(self, connected: bool) -> None:
        if connected == self._scanner_connected:
            return
        first = self._scanner_connected is None
        self._scanner_connected = connected
        if first and connected:
            return
        error = None
        if not connected and self.devices is not None and self.devices.scanner is not None:
            error = self.devices.scanner.get_status().get("last_error")
        self._record(ScannerStateChanged(state="connected" if connected else "disconnected", error=error))

    def _scanned(self, scan: Scan) -> None:
        self._last_scan_mono = scan.mono
        if scan.error is not None:
            self._record(BadScan(reason=scan.error))
        self._tell(self._scan_listeners, scan)

    # --- what the rest of the station uses ----------------------------------------------------------

    def add_scan_listener(self, listener: ScanListener) -> None:
        """Be called (on the loop) with every scan, good or bad."""
        self._scan_listeners.append(listener)

    def add_bay_listener(self, listener: Callable[[BayState], None]) -> None:
        """Be called (on the loop) with a bay's state whenever it changes."""
        self._bay_listeners.append(listener)

    def add_entry_listener(self, listener: Callable[[bool], None]) -> None:
        """Be called (on the loop) with True/False when the entry door opens/closes."""
        self._entry_listeners.append(listener)

    def add_battery_listener(self, listener: Callable[[dict[int, BatteryReading]], None]) -> None:
        """Be called (on the loop) with every batch of battery readings, good or failed."""
        self._battery_listeners.append(listener)

    def add_air_listener(self, listener: Callable[[AirReading], None]) -> None:
        """Be called (on the loop) with every reading of the cabinet's air sensor (none without one)."""
        self._air_listeners.append(listener)

    def set_safety(self, guard: Callable[[int], str | None], reset: Callable[[int], str | None]) -> None:
        """The safety supervisor's unlock guard (why a bay must stay shut, or None) and its alarm reset."""
        self._safety_guard = guard
        self._safety_reset = reset

    async def set_charger(self, bay: int, on: bool) -> None:
        """Switch a bay's charger through its slot controller; DeviceError when it does not confirm."""
        devices = self.devices
        if devices is None or devices.slots is None or self._loop is None:
            raise DeviceError("the cabinet has no slot controllers to switch a charger")
        await self._loop.run_in_executor(None, devices.slots.set_charger, bay, on)

    async def read_battery(self, bay: int) -> BatteryReading:
        """Read one bay's battery now: its slot controller, or the presence switch where there is none."""
        devices = self.devices
        if devices is not None and devices.slots is not None and bay in devices.slots.bays() and self._loop:
            reading = await self._loop.run_in_executor(None, devices.slots.read, bay)
            self._batteries_read({bay: reading})
            return reading
        state = self.bays().get(bay)
        if state is None or state.presence is None:
            return BatteryReading(bay=bay, present=False, error=f"bay {bay} has no way to sense a battery")
        return BatteryReading(bay=bay, present=state.presence)

    def bays(self) -> dict[int, BayState]:
        """The latest state of every bay, with flapping faults and safety alarms applied."""
        out = dict(self._bays)
        faults = dict(self._flap_faults | self._unlock_faults)
        if self._safety_guard is not None:
            for bay in out:
                refusal = self._safety_guard(bay)
                if refusal is not None:
                    faults[bay] = refusal
        for bay, reason in faults.items():
            if bay in out and out[bay].fault is None:
                state = out[bay]
                out[bay] = BayState(bay, door=state.door, lock=state.lock, presence=state.presence, fault=reason)
        return out

    def batteries(self) -> dict[int, BatteryReading]:
        """The latest battery reading of every bay that has a slot controller."""
        return dict(self._batteries)

    async def unlock(self, bay: int) -> None:
        """Pulse one bay's lock (on the unlock thread). Raises DeviceError from the driver."""
        if self.devices is None or self.devices.lockers is None or self._loop is None:
            raise RuntimeError("the cabinet is not running")
        refusal = self._safety_guard(bay) if self._safety_guard is not None else None
        if refusal is not None:  # the safety supervisor outranks every flow, staff included
            log.error("unlock of bay %d refused: %s", bay, refusal)
            raise DeviceError(refusal)
        await self._loop.run_in_executor(self._executor, self.devices.lockers.unlock, bay)

    def _driver_fault(self, bay: int) -> bool:
        state = self._bays.get(bay)
        return state is not None and state.fault is not None

    def _released(self, state: BayState) -> bool:
        """Whether a bay's state shows its lock let go: the door seen open, or a board reading the latch released.

        A GPIO lock's "unlocked" is only our own relay being on, which proves nothing about the latch.
        """
        if state.door is DoorState.OPEN:
            return True
        lockers = self.devices.lockers if self.devices is not None else None
        return state.lock is LockState.UNLOCKED and not isinstance(lockers, GpioLockerBank)

    async def open_for_staff(self, bay: int, confirm_s: float | None) -> str | None:
        """Open one bay for staff: one pulse, then wait up to ``confirm_s`` for the lock to be seen released.

        Returns None when the door was seen open, else a note for staff (already open: not pulsed again;
        ``confirm_s`` None: not confirmed). Raises :class:`BayDidNotOpen` — and marks the bay faulted, which
        raises a warning and keeps swaps away from it — when the lock did not release; ``DeviceError`` from
        the driver. The lock is never pulsed a second time here: a jammed lock is a technician's job.
        """
        state = self.bays().get(bay)
        if state is None:
            raise DeviceError(f"this cabinet has no bay {bay}")
        if state.door is DoorState.OPEN:
            return f"Bay {bay} is already open; it was not pulsed again"
        opened = self._confirming[bay] = asyncio.Event()
        try:
            await self.unlock(bay)
            if confirm_s is None:
                return f"Bay {bay} unlocked (not confirmed: policy.unlock_confirm_s is off)"
            current = self._bays.get(bay)
            if not (current is not None and self._released(current)):
                try:
                    async with asyncio.timeout(confirm_s):
                        await opened.wait()
                except TimeoutError:
                    reason = f"the lock did not release (door not seen open within {confirm_s:g} s of the unlock)"
                    self._unlock_failed(bay, reason)
                    raise BayDidNotOpen(f"Bay {bay} did not open: {reason}") from None
        finally:
            self._confirming.pop(bay, None)
        return None

    def _unlock_failed(self, bay: int, reason: str) -> None:
        log.warning("bay %d marked faulted: a staff unlock did not open it: %s", bay, reason)
        fresh = bay not in self._unlock_faults and bay not in self._flap_faults and not self._driver_fault(bay)
        self._unlock_faults[bay] = reason
        if fresh:
            self._record(BayFaultChanged(bay=bay, reason=reason))

    async def trigger_scanner(self) -> None:
        """Ask the scanner for one scan (serial scanners that take a trigger command); DeviceError otherwise."""
        scanner = self.devices.scanner if self.devices is not None else None
        trigger = getattr(scanner, "trigger", None)
        if scanner is None or not callable(trigger) or self._loop is None:
            raise DeviceError("this scanner takes no trigger command: scan any code and watch 'last scan'")
        await self._loop.run_in_executor(None, trigger)

    async def unlock_entry(self) -> None:
        """Pulse the entry door strike."""
        if self.devices is None or self.devices.entry_door is None or self._loop is None:
            raise RuntimeError("this station has no entry door")
        await self._loop.run_in_executor(self._executor, self.devices.entry_door.unlock)

    def get_status(self) -> dict[str, Any]:
        """Every bay with its battery, the scanner, the slot controllers, the entry door, and warnings."""
        devices = self.devices
        bays = self.bays()
        status: dict[str, Any] = {
            "kind": self.hw.cabinet,
            "bays": {
                str(n): {**state.as_dict(), "battery": self._batteries[n].as_dict() if n in self._batteries else None}
                for n, state in sorted(bays.items())
            },
            "last_scan_mono": self._last_scan_mono,
        }
        warnings = grouped_faults({n: s.fault for n, s in bays.items() if s.fault})
        warnings += [
            f"bay {n}: battery not readable — {r.error}" for n, r in sorted(self._batteries.items()) if r.error
        ]
        warnings += [
            f"bay {n}: battery {r.battery_id or '?'} {battery_trouble(r)}"
            for n, r in sorted(self._batteries.items())
            if r.error is None and battery_trouble(r)
        ]
        if devices is not None:
            for label, part in (
                ("lockers", devices.lockers),
                ("slots", devices.slots),
                ("scanner", devices.scanner),
                ("entry_door", devices.entry_door),
                ("air_sensor", devices.air),
            ):
                status[label] = part.get_status() if part is not None else None
            if devices.scanner is not None and not devices.scanner.connected:
                warnings.append("the QR scanner is not connected")
        status["warnings"] = warnings
        return status
