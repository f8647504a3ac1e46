"""A simulated battery-swap cabinet, exposed through the real interfaces so production drivers run unchanged.

:class:`SimCabinet` is a model of the world — bays with doors, locks and batteries, a scanner module,
slot controllers, an entry door — and the devices that show it on the wire:

- the lock boards (Kerong or 8A/80) on a pseudo-terminal, or GPIO relays and switches on a
  ``MockFactory`` of :class:`~kiosk.devices.sim.gpio.SimPin` s;
- the slot controllers (Modbus RTU) and the scanner module (GM65-class, codes ended by CRLF) on
  pseudo-terminals with stable names under ``workdir``;
- the entry door's strike relay and switch on the same ``MockFactory``, for every kind of cabinet.

:meth:`SimCabinet.hardware_config` is the station's hardware config with the simulator's ports, pins and
addresses put in: drivers opened from it (``kiosk.devices.build.build_devices``) talk to the simulator.
A rider and a technician act on the world with :meth:`~SimCabinet.scan`, :meth:`~SimCabinet.close_door`,
:meth:`~SimCabinet.insert_battery` … and faults are injected with :meth:`~SimCabinet.inject`.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from gpiozero.pins.mock import MockFactory

from kiosk.core.battery_registry import PackRow
from kiosk.core.hardware import HardwareConfig
from kiosk.devices.base import Closeable
from kiosk.devices.lockers.gpio import GpioBay, gpio_bays_from_config
from kiosk.devices.sim.air import FAULTS as AIR_FAULTS
from kiosk.devices.sim.air import SimAir, SimAirSensor
from kiosk.devices.sim.batteries import FOREIGN_FAULTS, ForeignPacks, sim_registry
from kiosk.devices.sim.board8a80 import SimBoard8A80Bus
from kiosk.devices.sim.cabinet_config import (
    BAY_FAULTS,
    CABINET_FAULTS,
    FAULTS,
    LOCK_BUS_LINK,
    LOCKS_8A80,
    SCANNER_LINK,
    SLOTS_LINK,
    CabinetSimKind,
    Fault,
    sim_hardware,
)
from kiosk.devices.sim.gpio import SimGpioLockers, SimPin
from kiosk.devices.sim.kerong import SimKerongBus
from kiosk.devices.sim.lockboard import SimLockBus
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.safety import Runaways, heat_pack, run_away, silence_bms
from kiosk.devices.sim.scanner import SimScanner
from kiosk.devices.sim.slots import SimBattery, SimSlotControllers

__all__ = ["BATTERY_ID", "FAULTS", "CabinetSimKind", "Fault", "SimCabinet", "sim_hardware"]

BATTERY_ID = re.compile(r"[A-Z]{2}[0-9A-Z]{6,14}")
"""What a simulated battery id looks like: two letters, then 6-14 digits or capitals (``SH0000123``)."""

ENTRY_DOOR_BAY = 0
"""The entry door's number inside its own one-door GPIO simulator."""

FLAP_PERIOD_S = 0.004
"""How often a flapping door switch changes (s): far more changes than any debounce or flap window allows."""

PulseHook = Callable[[int], None]


T = TypeVar("T")


class SimCabinet(Closeable):
    """The world of one cabinet and the simulated devices that show it to the real drivers.

    Build, :meth:`start`, open drivers from :meth:`hardware_config` (passing :attr:`pin_factory`), act on
    the world, :meth:`close`. Rider actions that a real cabinet makes impossible (a battery through a
    shut door) raise ``ValueError`` with the reason.
    """

    def __init__(
        self,
        kind: CabinetSimKind,
        hw: HardwareConfig,
        workdir: Path,
        *,
        charge_pct_per_s: float = 0.05,
        seed: int = 0,
    ) -> None:
        self.kind: CabinetSimKind = kind
        self.workdir = workdir
        self.charge_pct_per_s = charge_pct_per_s
        self.seed = seed
        self._hw = sim_hardware(kind, hw, workdir)
        self.pin_factory = MockFactory(pin_class=SimPin)
        """GPIO cabinet relays and switches, and the entry door: hand it to the drivers."""
        self._lock = threading.Lock()
        self._flap_lock = threading.Lock()
        self._flap_stop = threading.Event()
        self._flapper: threading.Thread | None = None
        self._flap_truth: dict[int, bool] = {}
        """Flapping bays -> whether the door is really open (the switch shows noise meanwhile)."""
        self._faults: set[tuple[str, int | None]] = set()
        self._runaways = Runaways()
        self._foreign = ForeignPacks()
        self._filled: list[str] = []
        self._hooks: list[PulseHook] = []
        self.pulses: list[int] = []
        """Every bay whose lock was pulsed, in order (jammed ones too), once its door has reacted."""
        self._address = {bay.number: (bay.board, bay.lock) for bay in self._hw.bays}
        self._goods = {bay.number: bay.goods for bay in self._hw.bays if bay.goods is not None}
        """Goods bays -> the catalogue item they hold (never a battery)."""
        self._bay_at = {address: bay for bay, address in self._address.items()}
        self._ports: list[PtyPort] = []
        self._scanner: SimScanner | None = None
        self._slots: SimSlotControllers | None = None
        self._air: SimAir | None = None
        self._bus: SimLockBus | None = None
        self._gpio: SimGpioLockers | None = None
        self._entry: SimGpioLockers | None = None
        self._started = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------------

    def hardware_config(self) -> HardwareConfig:
        """The hardware config whose ports, pins and addresses are the simulator's (``cabinet`` = kind)."""
        return self._hw

    def start(self) -> None:
        """Create the ptys (stable symlinks under ``workdir``), start the simulated devices, fill the bays."""
        if self._closed:
            raise ValueError("this simulated cabinet is closed; build a new one")
        if self._started:
            return
        self._started = True
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        hw = self._hw
        self.workdir.mkdir(parents=True, exist_ok=True)
        scanner_port = self._port(SCANNER_LINK)
        self._scanner = SimScanner(scanner_port, terminator=b"\r\n")
        self._scanner.start()
        slaves = {bay.number: bay.slave for bay in hw.bays if bay.slave is not None}
        self._slots = SimSlotControllers(
            self._port(SLOTS_LINK), slaves, regmap=hw.slots.register_map(), charge_pct_per_s=self.charge_pct_per_s
        )
        self._slots.start()
        if hw.safety.cabinet_sensor == "modbus":
            self._air = SimAir(hw.safety, self._slots, self._port)
        boards = sorted({board for board, _ in self._address.values()})
        if self.kind == "kerong":
            self._bus = SimKerongBus(
                self._port(LOCK_BUS_LINK),
                boards,
                locks_per_board=hw.kerong.locks_per_board,
                locked_bit_value=hw.kerong.locked_bit_value,
            )
        elif self.kind == "8a80":
            self._bus = SimBoard8A80Bus(
                self._port(LOCK_BUS_LINK),
                boards,
                locks_per_board=LOCKS_8A80,
                set_means_open=hw.board8a80.set_means_open,
                unlock_reply_header=hw.board8a80.unlock_reply_header,
                status_bytes=hw.board8a80.status_bytes or 4,
            )
        else:
            self._gpio = SimGpioLockers(self.pin_factory, gpio_bays_from_config(hw.bays), hw.gpio)
            self._gpio.on_pulse(self._on_pulse)
        if self._bus is not None:
            self._bus.on_unlock(lambda board, lock: self._on_pulse(self._bay_at[(board, lock)]))
        door = hw.entry_door
        if door.lock_pin is not None and door.door_pin is not None:
            self._entry = SimGpioLockers(
                self.pin_factory,
                [GpioBay(ENTRY_DOOR_BAY, door.lock_pin, door.door_pin)],
                door,
                springs_open=False,
                name="sim-entry-door",
            )
        if hw.safety.smoke_pin is not None:
            self._smoke_pin().force(False)  # the detector's contact is closed: no smoke
        self._fill()

    def _smoke_pin(self) -> SimPin:
        pin = self._hw.safety.smoke_pin
        if pin is None:
            raise ValueError("this cabinet has no smoke detector (hardware.safety.smoke_pin is not set)")
        return cast(SimPin, self.pin_factory.pin(pin))

    def set_temperature(self, bay: int, temperature_c: float) -> None:
        """The bay's battery is now at ``temperature_c`` (its BMS flags unchanged)."""
        self._need(self._slots).warm(bay, temperature_c)

    def charger_enabled(self, bay: int) -> bool:
        """Whether the bay's charger is switched on (what the slot controller was last told)."""
        return self._need(self._slots).charger_enabled(bay)

    def leave_charger(self, bay: int, on: bool) -> None:
        """The bay's charger register as the last station left it (what a restarted station finds)."""
        self._need(self._slots).leave_charger(bay, on)

    def charger_writes(self) -> list[tuple[int, int]]:
        """Every charger-enable write the slot controllers answered, in order: (bay, 0 or 1)."""
        return list(self._need(self._slots).charger_writes)

    def output_on(self, name: str) -> bool:
        """Whether a safety output (``fan_pin``, ``mains_pin``, ``extinguisher_pin``) is driven active now."""
        safety = self._hw.safety
        pin = getattr(safety, name)
        if pin is None:
            raise ValueError(f"this cabinet has no {name}")
        active_high = {"fan_pin": safety.fan_active_high, "mains_pin": safety.mains_active_high}.get(
            name, safety.extinguisher_active_high
        )
        device_pin = self.pin_factory.pin(pin)
        return bool(device_pin.state) == active_high and device_pin.function == "output"

    def _port(self, link: str) -> PtyPort:
        port = PtyPort(self.workdir / link)
        self._ports.append(port)
        return port

    def _fill(self) -> None:
        """A plausible morning: all battery bays but the last two hold batteries, every other one charged."""
        rng = random.Random(self.seed)  # noqa: S311 - a reproducible world, not a secret
        numbers = sorted(bay for bay in self._address if bay not in self._goods)
        base = rng.randrange(1_000_000, 8_000_000)
        for i, bay in enumerate(numbers[: max(0, len(numbers) - 2)]):
            soc = rng.uniform(95.0, 100.0) if i % 2 == 0 else rng.uniform(15.0, 90.0)
            battery = SimBattery(
                f"SH{base + i:07d}",
                soc_pct=round(soc, 1),
                temperature_c=round(rng.uniform(23.0, 31.0), 1),
                soh_pct=round(rng.uniform(88.0, 99.5), 1),
                cycles=rng.randrange(40, 900),
            )
            self._need(self._slots).insert(bay, battery)
            self._filled.append(battery.battery_id)
            self._show_presence(bay, True)

    def registry_rows(self) -> list[PackRow]:
        """The battery registry of the simulated city: the packs filled at start, riders' packs, one retired."""
        return sim_registry(self._filled)

    def close(self) -> None:
        """Stop every simulated device and remove the ptys. Safe twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._flap_stop.set()
        with self._lock:
            flapper = self._flapper
        if flapper is not None:
            flapper.join(timeout=2.0)
        for part in (self._scanner, self._air, self._slots, self._bus, self._gpio, self._entry):
            if part is not None:
                part.close()
        for port in self._ports:
            port.close()

    # -- a rider, a technician -------------------------------------------------------------------------

    def on_pulse(self, hook: PulseHook) -> None:
        """Be called with the bay number whenever its lock is pulsed (on a simulator thread; do not block)."""
        with self._lock:
            self._hooks.append(hook)

    def scan(self, text: str) -> None:
        """The scanner module reads a code and sends it, ended by CRLF (lost while it is unplugged)."""
        self._need(self._scanner).scan(text)

    def close_door(self, bay: int) -> None:
        """A rider pushes the bay's door shut; the latch engages."""
        self._check_bay(bay)
        with self._lock:
            if bay in self._flap_truth:
                self._flap_truth[bay] = False
                return
        self._set_door(bay, False)

    def door_open(self, bay: int) -> bool:
        """Whether the bay's door is really open (whatever a flapping switch shows)."""
        self._check_bay(bay)
        with self._lock:
            if bay in self._flap_truth:
                return self._flap_truth[bay]
        if self._gpio is not None:
            return self._gpio.door_open(bay)
        board, lock = self._address[bay]
        return self._need(self._bus).door_open(board, lock)

    def insert_battery(self, bay: int, battery_id: str, soc_pct: float = 20.0, temperature_c: float = 25.0) -> None:
        """A rider puts a battery in an open, empty bay."""
        if not BATTERY_ID.fullmatch(battery_id):
            raise ValueError(f"battery id {battery_id!r} is not like 'SH0000123' (2 capitals, 6-14 digits/capitals)")
        if not 0.0 <= soc_pct <= 100.0:
            raise ValueError(f"state of charge must be 0-100 %, got {soc_pct}")
        if bay in self._goods:
            raise ValueError(f"bay {bay} holds {self._goods[bay]} for points, not batteries")
        self._check_open(bay, "insert a battery")
        slots = self._need(self._slots)
        held = slots.battery(bay)
        if held is not None:
            raise ValueError(f"bay {bay} already holds battery {held.battery_id}")
        for other in self._address:
            other_battery = slots.battery(other)
            if other_battery is not None and other_battery.battery_id == battery_id:
                raise ValueError(f"battery {battery_id} is already in bay {other}")
        battery_id, soh_pct, used = self._foreign.take(battery_id, SimBattery.soh_pct)
        slots.insert(bay, SimBattery(battery_id, soc_pct=soc_pct, temperature_c=temperature_c, soh_pct=soh_pct))
        self._show_presence(bay, True)
        if used is not None:
            with self._lock:
                self._faults.discard((used, None))  # one pack per fault: it is used up

    def take_battery(self, bay: int) -> str | None:
        """A rider takes the battery out of an open bay; returns its id (None: the bay was empty)."""
        self._check_open(bay, "take a battery")
        battery = self._need(self._slots).take(bay)
        self._show_presence(bay, False)
        return battery.battery_id if battery is not None else None

    def open_entry_door(self, *, force: bool = False) -> None:
        """Someone pushes the entry door open; only while its strike is released, unless ``force`` (a key)."""
        entry = self._entry_door()
        if not force and not entry.relay_active(ENTRY_DOOR_BAY):
            raise ValueError("the entry door is locked: its strike must be released (unlocked) before it opens")
        entry.open_door(ENTRY_DOOR_BAY)

    def close_entry_door(self) -> None:
        """Someone pulls the entry door shut."""
        self._entry_door().close_door(ENTRY_DOOR_BAY)

    def tick(self, seconds: float) -> None:
        """Let ``seconds`` pass for the batteries: those on a working charger charge."""
        if seconds < 0:
            raise ValueError("time does not run backwards")
        slots = self._need(self._slots)
        slots.tick(seconds)
        self._runaways.tick(seconds, slots.warm)

    # -- faults ----------------------------------------------------------------------------------------

    def inject(self, fault: Fault, bay: int | None = None, on: bool = True) -> None:
        """Turn a fault on (or off with ``on=False``).

        - ``lock_jammed`` (bay): the lock clicks (the board answers, the relay switches) but the door stays shut.
        - ``door_flapping`` (bay): the door switch changes every few ms until turned off; the door itself is
          as it was.
        - ``board_silent`` (bay's board, or every board when bay is None): the lock board answers nothing.
          Not for GPIO cabinets, which have no board.
        - ``battery_hot`` (bay): the battery reads 62 °C with over-temperature set; off: 25 °C, flag cleared.
        - ``scanner_unplugged`` (no bay): the scanner's port disappears; off: plugged back in.
        - ``slot_silent`` (bay): the bay's slot controller answers nothing.
        - ``thermal_runaway`` (bay): the battery warms 3 °C a minute for 90 s, then 2 °C a second (as
          :meth:`tick` lets time pass); off: back to room temperature.
        - ``bms_silent`` (bay): the controller answers but has lost its BMS (flag ``bms_comms_lost``).
        - ``smoke`` (no bay): the cabinet's smoke detector goes into alarm; off: clear.
        - ``foreign_battery`` (no bay): the next battery a rider puts in has an id no registry lists;
          ``foreign_battery_retired``: the simulated registry's retired pack; ``foreign_battery_low_soh``:
          its BMS reports 55 % state of health. Used up by that one battery; off: an ordinary one again.
        - ``cabinet_hot``, ``humid``, ``air_sensor_silent``, ``air_probe_disconnected`` (no bay): the cabinet
          air sensor reads 62 °C, reads 93 %RH, stops answering, or answers "no value" as with its probe
          unplugged (:class:`~kiosk.devices.sim.air.SimAir`); off: room air, answering, probe back.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        if fault in BAY_FAULTS and bay is None:
            raise ValueError(f"fault {fault} needs a bay")
        if fault in CABINET_FAULTS and bay is not None:
            raise ValueError(f"fault {fault} concerns the whole cabinet, not a bay")
        if bay is not None:
            self._check_bay(bay)
        handlers: dict[str, Callable[[int | None, bool], None]] = {
            "lock_jammed": self._jam,
            "door_flapping": self._flap,
            "board_silent": self._silence_board,
            "battery_hot": self._heat,
            "scanner_unplugged": self._unplug_scanner,
            "slot_silent": self._silence_slot,
            "thermal_runaway": self._run_away,
            "bms_silent": self._silence_bms,
            "smoke": self._smoke,
            **dict.fromkeys(FOREIGN_FAULTS, lambda _bay, on: self._arm_foreign(fault, on)),
            **{name: self._air_fault(name) for name in AIR_FAULTS},
        }
        handlers[fault](bay, on)
        with self._lock:
            if on:
                self._faults.add((fault, bay))
            else:
                self._faults.discard((fault, bay))

    def _arm_foreign(self, fault: str, on: bool) -> None:
        if on:
            self._foreign.arm(fault)
            with self._lock:  # one identity waits at a time: the newest wins
                self._faults -= {(other, None) for other in FOREIGN_FAULTS}
        elif self._foreign.armed == fault:
            self._foreign.arm(None)

    def _jam(self, bay: int | None, on: bool) -> None:
        assert bay is not None
        if self._gpio is not None:
            self._gpio.jam(bay, on)
        else:
            self._need(self._bus).jam(*self._address[bay], on)

    def _silence_board(self, bay: int | None, on: bool) -> None:
        if self.kind == "gpio":
            raise ValueError(
                "board_silent does not apply to a GPIO cabinet: its switches are wired to the Pi, not to a board"
            )
        bus = self._need(self._bus)
        boards = {self._address[bay][0]} if bay is not None else set(bus.boards)
        for board in boards:
            bus.silent(board, on)

    def _heat(self, bay: int | None, on: bool) -> None:
        assert bay is not None
        heat_pack(self._need(self._slots), bay, on)

    def _run_away(self, bay: int | None, on: bool) -> None:
        assert bay is not None
        run_away(self._need(self._slots), self._runaways, bay, on)

    def _silence_bms(self, bay: int | None, on: bool) -> None:
        assert bay is not None
        silence_bms(self._need(self._slots), bay, on)

    def _air_fault(self, name: str) -> Callable[[int | None, bool], None]:
        return lambda _bay, on: self.air_sensor_sim().fault(name, on)

    def air_sensor(self) -> SimAirSensor:
        """The simulated cabinet air sensor (ValueError when the config fits none)."""
        return self.air_sensor_sim().sensor

    def air_sensor_sim(self) -> SimAir:
        """The air sensor with its line (ValueError when ``[hardware.safety] cabinet_sensor`` is not 'modbus')."""
        if self._air is None:
            raise ValueError("this cabinet has no air sensor ([hardware.safety] cabinet_sensor is not 'modbus')")
        return self._air

    def _smoke(self, bay: int | None, on: bool) -> None:
        self._smoke_pin().force(on)

    def _unplug_scanner(self, bay: int | None, on: bool) -> None:
        scanner = self._need(self._scanner)
        if on:
            scanner.unplug()
        else:
            scanner.plug()

    def _silence_slot(self, bay: int | None, on: bool) -> None:
        assert bay is not None
        self._need(self._slots).silent(bay, on)

    def _flap(self, bay: int | None, on: bool) -> None:
        assert bay is not None
        if on:
            truth = self.door_open(bay)
            with self._lock:
                self._flap_truth.setdefault(bay, truth)
                thread = None
                if self._flapper is None:
                    thread = self._flapper = threading.Thread(target=self._run_flapper, name="sim-flapper", daemon=True)
            if thread is not None:
                thread.start()
            return
        with self._flap_lock:
            with self._lock:
                truth_or_none = self._flap_truth.pop(bay, None)
            if truth_or_none is not None:
                self._set_door(bay, truth_or_none)

    def _run_flapper(self) -> None:
        level = False
        while not self._flap_stop.wait(FLAP_PERIOD_S):
            level = not level
            with self._flap_lock:
                with self._lock:
                    bays = list(self._flap_truth)
                    if not bays:  # nothing flaps any more: the next door_flapping starts a new thread
                        self._flapper = None
                        return
                for bay in bays:
                    self._show_door_only(bay, level)

    # -- the world's truth -----------------------------------------------------------------------------

    def get_status(self) -> dict[str, Any]:
        """The world as it is (not as drivers read it): per bay door, lock, battery, faults; entry door, scanner."""
        with self._lock:
            faults = sorted(self._faults, key=lambda f: (f[0], f[1] or 0))
        bays = (
            [self._bay_status(bay, faults) for bay in sorted(self._address)]
            if self._started and not self._closed
            else []
        )
        entry: dict[str, Any] = {"present": self._entry is not None}
        if self._entry is not None:
            entry["door"] = "open" if self._entry.door_open(ENTRY_DOOR_BAY) else "closed"
            entry["strike"] = "released" if self._entry.relay_active(ENTRY_DOOR_BAY) else "locked"
        scanner = self._scanner
        return {
            "kind": self.kind,
            "started": self._started,
            "closed": self._closed,
            "bays": bays,
            "entry_door": entry,
            "scanner": {"plugged": scanner.port.plugged if scanner is not None else False},
            "air": self._air.status() if self._air is not None else None,
            "faults": [{"fault": fault, "bay": bay} for fault, bay in faults],
            "pulses": len(self.pulses),
        }

    def _bay_status(self, bay: int, faults: list[tuple[str, int | None]]) -> dict[str, Any]:
        door_open = self.door_open(bay)
        # A board lock's latch is released exactly while its door is open; a GPIO lock while its relay is on.
        unlocked = self._gpio.relay_active(bay) if self._gpio is not None else door_open
        battery = None
        reading = None if bay in self._goods else self._need(self._slots).reading(bay)
        if reading is not None and reading.present:
            battery = {k: v for k, v in reading.as_dict().items() if k not in ("bay", "present", "error")}
        return {
            "bay": bay,
            "goods": self._goods.get(bay),
            "door": "open" if door_open else "closed",
            "lock": "unlocked" if unlocked else "locked",
            "battery": battery,
            "faults": [fault for fault, at in faults if at == bay],
        }

    # -- internals -------------------------------------------------------------------------------------

    def _on_pulse(self, bay: int) -> None:
        with self._lock:
            self.pulses.append(bay)
            if bay in self._flap_truth and ("lock_jammed", bay) not in self._faults:
                self._flap_truth[bay] = True
            hooks = list(self._hooks)
        for hook in hooks:
            hook(bay)

    def _set_door(self, bay: int, is_open: bool) -> None:
        """Change the door in the model and on its switch."""
        if self._gpio is not None:
            if is_open:
                self._gpio.open_door(bay)
            else:
                self._gpio.close_door(bay)
            return
        board, lock = self._address[bay]
        bus = self._need(self._bus)
        if is_open:
            bus.open_door(board, lock)
        else:
            bus.close_door(board, lock)

    def _show_door_only(self, bay: int, is_open: bool) -> None:
        """Show a door state on the switch only (a flapping switch); the truth is kept in ``_flap_truth``."""
        if self._gpio is not None:
            self._gpio.drive_door(bay, is_open)
        else:
            self._set_door(bay, is_open)  # a board's door bit is its switch: the truth lives in _flap_truth

    def _show_presence(self, bay: int, present: bool) -> None:
        if self._gpio is not None:
            self._gpio.set_presence(bay, present)
        elif isinstance(self._bus, SimKerongBus):
            self._bus.set_presence(*self._address[bay], present)
        # 8A/80 boards have no presence sensor: only the slot controller knows.

    def _check_bay(self, bay: int) -> None:
        if bay not in self._address:
            raise ValueError(f"there is no bay {bay} (bays: {sorted(self._address)})")

    def _check_open(self, bay: int, what: str) -> None:
        self._check_bay(bay)
        if not self.door_open(bay):
            raise ValueError(f"bay {bay}'s door is shut: unlock it before trying to {what}")

    def _entry_door(self) -> SimGpioLockers:
        if self._entry is None:
            raise ValueError("this cabinet has no entry door (hardware.entry_door has no pins)")
        return self._entry

    def _need(self, part: T | None) -> T:
        if part is None:
            raise ValueError("the simulated cabinet is not started (call start() first)")
        if self._closed:
            raise ValueError("the simulated cabinet is closed")
        return part
