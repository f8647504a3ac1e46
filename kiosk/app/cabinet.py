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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from kiosk.app.bay_warnings import grouped_faults
from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError
from kiosk.core.events import Event
from kiosk.core.hardware import HardwareConfig
from kiosk.devices.base import BatteryReading, BayState, DoorState, LockerBank, Scan, ScanListener
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

log = logging.getLogger(__name__)

PINS_TICK_S = 0.02


class DeviceSet(Protocol):
    """What the composition root builds from config (see ``kiosk.devices.build.Devices``)."""

    lockers: LockerBank | None
    slots: SlotControllers | None
    scanner: ReconnectingScanner | None
    entry_door: EntryDoor | None

    def close(self) -> None:
        """Close every part; outputs locked."""
        ...


class Poller:
    """A daemon thread that calls ``fn`` every ``period_s`` until stopped; logs each new error once."""

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
            self._stop.wait(self.period_s)

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
        self._scanner_connected: bool | None = None
        self._scanner_posted: bool | None = None
        """The pins thread's last word on the scanner: it posts only changes, not 50 times a second."""
        self._scan_listeners: list[ScanListener] = []
        self._bay_listeners: list[Callable[[BayState], None]] = []
        self._entry_listeners: list[Callable[[bool], None]] = []
        self._last_scan_mono: float | None = None

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

    def _bay_from_thread(self, state: BayState) -> None:
        self._post(self._bay_changed, state)

    def _scan_from_thread(self, scan: Scan) -> None:
        self._post(self._scanned, scan)

    def _entry_from_thread(self, state: LockerState) -> None:
        if state.door is not DoorState.UNKNOWN:
            self._post(self._entry_changed, state.door is DoorState.OPEN)

    # --- loop side -----------------------------------------------------------------------------

    def _bay_changed(self, state: BayState) -> None:
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
        """Staff cleared a bay's fault: forget the flapping and clear the driver's latch if it has one."""
        self._flaps.pop(bay, None)
        if self._flap_faults.pop(bay, None) is not None:
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
        """The latest state of every bay, with flapping faults applied."""
        out = dict(self._bays)
        for bay, reason in self._flap_faults.items():
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
        await self._loop.run_in_executor(self._executor, self.devices.lockers.unlock, bay)

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
        if devices is not None:
            for label, part in (
                ("lockers", devices.lockers),
                ("slots", devices.slots),
                ("scanner", devices.scanner),
                ("entry_door", devices.entry_door),
            ):
                status[label] = part.get_status() if part is not None else None
            if devices.scanner is not None and not devices.scanner.connected:
                warnings.append("the QR scanner is not connected")
        status["warnings"] = warnings
        return status
