"""build_devices: the drivers a hardware config describes, wired but not started, and closed together."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockFactory

from kiosk.core.clock import FakeClock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import BayConfig, EntryDoorConfig, HardwareConfig, ScannerConfig, SlotConfig
from kiosk.devices import build
from kiosk.devices.base import Scan
from kiosk.devices.build import Devices, build_devices, is_raspberry_pi
from kiosk.devices.door import EntryDoor
from kiosk.devices.lockers.board8a80 import Board8A80Bank
from kiosk.devices.lockers.gpio import GpioLockerBank
from kiosk.devices.lockers.kerong import KerongBank
from kiosk.devices.scanner import ScannerState
from kiosk.devices.scanner.evdev_scanner import EvdevScanner
from kiosk.devices.scanner.serial_scanner import SerialScanner
from kiosk.devices.sim.cabinet import sim_hardware
from kiosk.devices.slots.modbus import SlotControllers

BANKS = {"gpio": GpioLockerBank, "kerong": KerongBank, "8a80": Board8A80Bank}


def ignore(scan: Scan) -> None:
    """A scan listener for drivers that never start."""


def station(kind: str, tmp_path: Path) -> HardwareConfig:
    """A four-bay station of ``kind`` with slot controllers, a serial scanner and an entry door."""
    hw = HardwareConfig(
        bays=[BayConfig(number=n, slave=n) for n in range(1, 5)],
        slots=SlotConfig(port="/dev/serial/by-id/slots"),
        scanner=ScannerConfig(kind="serial", port="/dev/serial/by-id/scanner"),
        entry_door=EntryDoorConfig(lock_pin="GPIO5", door_pin="GPIO6"),
    )
    return sim_hardware(kind, hw, tmp_path)  # type: ignore[arg-type]


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.reset()


@pytest.fixture
def not_a_pi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "is_raspberry_pi", lambda: False)


def make(hw: HardwareConfig, factory: Any, clock: FakeClock) -> Devices:
    return build_devices(hw, clock=clock, on_scan=ignore, pin_factory=factory)


@pytest.mark.parametrize("kind", ["gpio", "kerong", "8a80"])
def test_every_part_is_built_for_each_kind(
    kind: str, tmp_path: Path, factory: MockFactory, fake_clock: FakeClock
) -> None:
    with make(station(kind, tmp_path), factory, fake_clock) as devices:
        assert devices.lockers is not None
        assert isinstance(devices.lockers, BANKS[kind])
        assert devices.lockers.bays() == [1, 2, 3, 4]
        assert isinstance(devices.slots, SlotControllers)
        assert devices.slots.bays() == [1, 2, 3, 4]
        assert isinstance(devices.scanner, SerialScanner)
        assert isinstance(devices.entry_door, EntryDoor)


def test_a_goods_bay_needs_no_slot_controller(tmp_path: Path, factory: MockFactory, fake_clock: FakeClock) -> None:
    hw = station("kerong", tmp_path)
    goods = BayConfig(number=5, lock=4, goods="water")
    with make(hw.model_copy(update={"bays": [*hw.bays, goods]}), factory, fake_clock) as devices:
        assert devices.lockers is not None
        assert devices.lockers.bays() == [1, 2, 3, 4, 5]
        assert devices.slots is not None
        assert devices.slots.bays() == [1, 2, 3, 4]


def test_the_scanner_is_built_but_not_started(tmp_path: Path, factory: MockFactory, fake_clock: FakeClock) -> None:
    with make(station("kerong", tmp_path), factory, fake_clock) as devices:
        assert devices.scanner is not None
        assert devices.scanner.state is ScannerState.IDLE


def test_board_bays_keep_their_board_and_lock(tmp_path: Path, factory: MockFactory, fake_clock: FakeClock) -> None:
    hw = station("8a80", tmp_path)
    with make(hw, factory, fake_clock) as devices:
        assert isinstance(devices.lockers, Board8A80Bank)
        assert devices.lockers._address_of(3) == (1, 2)


def test_an_evdev_scanner_is_built_for_a_keyboard_mode_config(fake_clock: FakeClock) -> None:
    hw = HardwareConfig(scanner=ScannerConfig(kind="evdev", port="/dev/input/by-id/usb-scanner-event-kbd"))
    with make(hw, None, fake_clock) as devices:
        assert isinstance(devices.scanner, EvdevScanner)


def test_parts_that_are_not_configured_are_none(fake_clock: FakeClock) -> None:
    with make(HardwareConfig(), None, fake_clock) as devices:
        assert (devices.lockers, devices.slots, devices.scanner, devices.entry_door) == (None, None, None, None)
        assert devices.get_status() == {}


def test_gpio_parts_without_a_pin_factory_off_a_pi_are_refused(
    tmp_path: Path, fake_clock: FakeClock, not_a_pi: None
) -> None:
    with pytest.raises(DeviceError, match="not a Raspberry Pi"):
        make(station("gpio", tmp_path), None, fake_clock)


def test_an_entry_door_alone_needs_a_pin_factory_too(fake_clock: FakeClock, not_a_pi: None) -> None:
    hw = HardwareConfig(entry_door=EntryDoorConfig(lock_pin="GPIO5", door_pin="GPIO6"))
    with pytest.raises(DeviceError, match="not a Raspberry Pi"):
        make(hw, None, fake_clock)


def test_a_station_without_gpio_parts_needs_no_pin_factory(
    tmp_path: Path, fake_clock: FakeClock, not_a_pi: None
) -> None:
    hw = station("kerong", tmp_path).model_copy(update={"entry_door": EntryDoorConfig()})
    with make(hw, None, fake_clock) as devices:
        assert isinstance(devices.lockers, KerongBank)
        assert devices.entry_door is None


def test_a_part_that_fails_closes_the_parts_built_before_it(
    tmp_path: Path, factory: MockFactory, fake_clock: FakeClock
) -> None:
    hw = station("gpio", tmp_path)
    squatter = DigitalOutputDevice("GPIO5", pin_factory=factory)  # the entry door's relay pin, taken
    with pytest.raises(DeviceError, match="GPIO5"):
        make(hw, factory, fake_clock)
    squatter.close()
    # The GPIO bank built before the entry door released its pins, its relays left locked.
    lock_pin = hw.bays[0].lock_pin
    assert factory.pin(lock_pin).state is False
    DigitalOutputDevice(lock_pin, pin_factory=factory).close()


def test_a_failing_scanner_closes_the_slot_controllers(
    tmp_path: Path, factory: MockFactory, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[SlotControllers] = []

    class Recorded(SlotControllers):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    def broken_scanner(*args: Any, **kwargs: Any) -> SerialScanner:
        raise ValueError("no such scanner")

    monkeypatch.setattr(build, "SlotControllers", Recorded)
    monkeypatch.setattr(build, "SerialScanner", broken_scanner)
    with pytest.raises(DeviceError, match="cannot set up the scanner: no such scanner"):
        make(station("kerong", tmp_path), factory, fake_clock)
    assert made[0].read(1).error == "slots is closed"


def test_close_closes_every_part_and_is_safe_twice(tmp_path: Path, factory: MockFactory, fake_clock: FakeClock) -> None:
    hw = station("gpio", tmp_path)
    devices = make(hw, factory, fake_clock)
    assert devices.lockers is not None
    assert devices.entry_door is not None
    assert devices.scanner is not None
    devices.lockers.unlock(1)
    devices.close()
    devices.close()
    assert factory.pin(hw.bays[0].lock_pin).state is False  # back to locked
    with pytest.raises(DeviceError):
        devices.entry_door.unlock()
    assert devices.scanner.state is ScannerState.CLOSED


def test_close_carries_on_past_a_part_that_fails_to_close(
    tmp_path: Path, factory: MockFactory, fake_clock: FakeClock
) -> None:
    class Stubborn:
        def close(self) -> None:
            raise RuntimeError("stuck")

        def get_status(self) -> dict[str, Any]:
            return {}

    devices = make(station("gpio", tmp_path), factory, fake_clock)
    devices.scanner = Stubborn()  # type: ignore[assignment]
    devices.close()
    assert devices.entry_door is not None
    with pytest.raises(DeviceError):
        devices.entry_door.unlock()


def test_status_has_every_part_present(tmp_path: Path, factory: MockFactory, fake_clock: FakeClock) -> None:
    with make(station("kerong", tmp_path), factory, fake_clock) as devices:
        status = devices.get_status()
    assert sorted(status) == ["entry_door", "lockers", "scanner", "slots"]
    assert status["lockers"]["kind"] == "kerong"


def test_a_pi_is_recognised_by_its_device_tree(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    assert is_raspberry_pi(model)


def test_another_machine_is_not_a_pi(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_bytes(b"Generic x86 board\x00")
    assert not is_raspberry_pi(model)
    assert not is_raspberry_pi(tmp_path / "missing")
