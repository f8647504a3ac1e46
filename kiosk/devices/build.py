"""Build the production drivers from the hardware config: pure wiring, no threads started, no port opened.

:func:`build_devices` maps ``hardware.bays`` onto each backend's addressing — ``(board, lock)`` for Kerong
and 8A/80 buses, pins for GPIO, ``{bay: slave}`` for the slot controllers — and returns a
:class:`Devices` holding every part (any may be None). The serial drivers open their ports lazily on
first use; the scanner is built but not started. If one part cannot be built, the parts already
built are closed (outputs locked, pins released) before the error is raised.

GPIO parts (a GPIO cabinet, the entry door) need a pin factory. Pass one (gpiozero's ``MockFactory`` for
simulation); when none is passed, a Raspberry Pi gets a real one built here (lgpio, else gpiozero's
pure-Python native factory) and any other machine gets a plain DeviceError. gpiozero's global default
factory is never used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError, KioskError
from kiosk.core.hardware import HardwareConfig
from kiosk.devices.air.modbus import AirLine, AirSensor
from kiosk.devices.base import Closeable, LockerBank, ScanListener
from kiosk.devices.door import EntryDoor
from kiosk.devices.lockers.board8a80 import Board8A80Bank
from kiosk.devices.lockers.gpio import GpioLockerBank, gpio_bays_from_config
from kiosk.devices.lockers.kerong import KerongBank
from kiosk.devices.scanner import ReconnectingScanner
from kiosk.devices.scanner.evdev_scanner import EvdevScanner
from kiosk.devices.scanner.serial_scanner import SerialScanner
from kiosk.devices.slots.modbus import SlotControllers

log = logging.getLogger(__name__)

T = TypeVar("T")

_DEVICE_TREE_MODEL = Path("/proc/device-tree/model")


class _Part(Protocol):
    """What every part of :class:`Devices` offers."""

    def close(self) -> None: ...

    def get_status(self) -> dict[str, Any]: ...


def is_raspberry_pi(model_file: Path = _DEVICE_TREE_MODEL) -> bool:
    """Whether this machine is a Raspberry Pi (its device tree says so)."""
    try:
        return "raspberry pi" in model_file.read_bytes().decode("ascii", "replace").lower()
    except OSError:
        return False


def pi_pin_factory() -> Any:
    """A real gpiozero pin factory for this Pi (lgpio, else the native one); DeviceError elsewhere."""
    if not is_raspberry_pi():
        raise DeviceError(
            "the GPIO lockers and the entry door need the Raspberry Pi's GPIO pins, and this machine is not a "
            "Raspberry Pi (to simulate them, pass a gpiozero MockFactory, as `kiosk sim` does)"
        )
    try:
        from gpiozero.pins.lgpio import LGPIOFactory  # imported here: only a Pi has lgpio

        return LGPIOFactory()
    except Exception as exc:  # ImportError without lgpio, or lgpio failing to open the chip
        log.warning("lgpio pin factory unavailable (%s); using gpiozero's native factory", exc)
    try:
        from gpiozero.pins.native import NativeFactory

        return NativeFactory()
    except Exception as exc:
        raise DeviceError(f"cannot reach the Raspberry Pi's GPIO pins: {exc}") from exc


@dataclass
class Devices(Closeable):
    """Everything a station drives; any part may be None (not fitted or not configured)."""

    lockers: LockerBank | None = None
    slots: SlotControllers | None = None
    scanner: ReconnectingScanner | None = None
    """Built, not started: the runtime starts it once it listens for scans."""
    entry_door: EntryDoor | None = None
    air: AirSensor | None = None
    """The cabinet's temperature/humidity sensor (``[hardware.safety] cabinet_sensor``)."""

    def parts(self) -> list[tuple[str, _Part]]:
        """``(name, part)`` of every part present."""
        named: list[tuple[str, _Part | None]] = [
            ("lockers", self.lockers),
            ("slots", self.slots),
            ("scanner", self.scanner),
            ("entry_door", self.entry_door),
            ("air", self.air),
        ]
        return [(name, part) for name, part in named if part is not None]

    def close(self) -> None:
        """Close every part (locks and strike to locked, ports and pins released). Safe twice; never raises."""
        # The scanner first: no scan should arrive while the locks are being closed.
        for name, part in reversed(self.parts()):
            try:
                part.close()
            except Exception:
                log.exception("closing %s failed", name)

    def get_status(self) -> dict[str, Any]:
        """Fresh JSON-safe status of every part present, by name."""
        out: dict[str, Any] = {}
        for name, part in self.parts():
            try:
                out[name] = part.get_status()
            except Exception as exc:
                out[name] = {"error": f"status unavailable: {exc}"}
        return out


def build_devices(
    hw: HardwareConfig,
    *,
    clock: Clock,
    on_scan: ScanListener,
    pin_factory: Any | None,
) -> Devices:
    """The drivers ``hw`` describes, wired but not started. Raises DeviceError (or ConfigError) naming the part.

    ``pin_factory``: gpiozero pin factory for GPIO parts; None means the Pi's own (DeviceError on a
    machine that is not a Pi, if the config has GPIO parts).
    """
    devices = Devices()
    try:
        needs_gpio = hw.cabinet == "gpio" or hw.entry_door.present
        if needs_gpio and pin_factory is None:
            pin_factory = pi_pin_factory()
        devices.lockers = _part("lockers", lambda: _lockers(hw, clock, pin_factory))
        devices.slots = _part("slot controllers", lambda: _slots(hw, clock))
        devices.scanner = _part("scanner", lambda: _scanner(hw, clock, on_scan))
        devices.entry_door = _part("entry door", lambda: _entry_door(hw, clock, pin_factory))
        devices.air = _part("cabinet air sensor", lambda: _air(hw, devices.slots))
    except BaseException:
        devices.close()
        raise
    return devices


def _part(name: str, build: Callable[[], T]) -> T:
    """Build one part; a plain ValueError/OSError from a driver becomes a DeviceError naming the part."""
    try:
        return build()
    except KioskError:
        raise
    except (ValueError, OSError) as exc:
        raise DeviceError(f"cannot set up the {name}: {exc}") from exc


def _lockers(hw: HardwareConfig, clock: Clock, pin_factory: Any) -> LockerBank | None:
    if hw.cabinet == "none":
        return None
    if hw.cabinet == "gpio":
        return GpioLockerBank(gpio_bays_from_config(hw.bays), hw.gpio, pin_factory=pin_factory, clock=clock)
    if hw.bus_port is None:  # the config schema refuses this; kept for configs built in code
        raise DeviceError(f"cabinet '{hw.cabinet}' needs bus_port (the RS-485 adapter's path)")
    addresses = {bay.number: (bay.board, bay.lock) for bay in hw.bays}
    if hw.cabinet == "kerong":
        return KerongBank(hw.bus_port, addresses, hw.kerong, clock)
    return Board8A80Bank(hw.bus_port, addresses, hw.board8a80, clock)


def _slots(hw: HardwareConfig, clock: Clock) -> SlotControllers | None:
    if hw.slots.port is None:
        return None
    missing = [bay.number for bay in hw.bays if bay.slave is None and bay.goods is None]
    if missing:
        raise DeviceError(f"bays {missing} have no slave address but slot controllers are configured")
    slaves = {bay.number: bay.slave for bay in hw.bays if bay.slave is not None}
    return SlotControllers(hw.slots.port, slaves, hw.slots, clock)


def _scanner(hw: HardwareConfig, clock: Clock, on_scan: ScanListener) -> ReconnectingScanner | None:
    config = hw.scanner
    if config.kind == "none" or config.port is None:
        return None
    if config.kind == "serial":
        return SerialScanner(config.port, config.serial, clock, on_scan)
    return EvdevScanner(config.port, config.evdev, clock, on_scan)


def _air(hw: HardwareConfig, slots: SlotControllers | None) -> AirSensor | None:
    safety = hw.safety
    if safety.cabinet_sensor != "modbus":
        return None
    amap = safety.air_map()
    if safety.cabinet_sensor_port is not None:
        line = AirLine(safety.cabinet_sensor_port, amap.baudrate, timeout_s=hw.slots.timeout_s)
        return AirSensor(line, safety.cabinet_sensor_address, amap, model=safety.cabinet_sensor_model, line=line)
    if slots is None:  # the config schema refuses this; kept for configs built in code
        raise DeviceError("the cabinet air sensor shares the slot controllers' bus, but there are no slot controllers")
    return AirSensor(slots, safety.cabinet_sensor_address, amap, model=safety.cabinet_sensor_model)


def _entry_door(hw: HardwareConfig, clock: Clock, pin_factory: Any) -> EntryDoor | None:
    door = hw.entry_door
    if door.lock_pin is None or door.door_pin is None:
        return None
    return EntryDoor(door.lock_pin, door.door_pin, door, pin_factory, clock)


__all__ = ["Devices", "build_devices", "is_raspberry_pi", "pi_pin_factory"]
