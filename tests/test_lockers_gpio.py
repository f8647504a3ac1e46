"""GPIO lockers on gpiozero's MockFactory: relays fail secure, pulses end on the clock, switches debounce."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockFactory, MockPin

from kiosk.core.clock import FakeClock
from kiosk.core.config import BayConfig
from kiosk.core.errors import ConfigError, DeviceError
from kiosk.core.hardware import LockerSettings
from kiosk.devices.base import BayState, DoorState, LockerBank, LockState
from kiosk.devices.lockers.gpio import GpioBay, GpioLockerBank, gpio_bays_from_config

BAYS = [
    GpioBay(1, lock_pin="GPIO17", door_pin="GPIO27", presence_pin="GPIO22"),
    GpioBay(2, lock_pin="GPIO5", door_pin="GPIO6"),
]


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    """A fresh mock pin factory (never gpiozero's global default)."""
    mock = MockFactory()
    yield mock
    mock.reset()


def make_bank(
    factory: MockFactory, clock: FakeClock, settings: LockerSettings | None = None, bays: list[GpioBay] | None = None
) -> GpioLockerBank:
    return GpioLockerBank(bays or BAYS, settings or LockerSettings(), pin_factory=factory, clock=clock)


def pin(factory: MockFactory, name: str) -> MockPin:
    return factory.pin(name)


def close_door(factory: MockFactory, clock: FakeClock, bank: GpioLockerBank, door_pin: str = "GPIO27") -> None:
    """Pull-up wiring: the closed reed switch pulls the pin low; then let it settle."""
    pin(factory, door_pin).drive_low()
    clock.advance(0.1)
    bank.poll()


def test_the_bank_keeps_the_locker_bank_protocol(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock) as bank:
        assert isinstance(bank, LockerBank)
        assert bank.bays() == [1, 2]


def test_relays_start_locked_with_an_active_high_relay(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock, LockerSettings(relay_active_high=True)):
        assert pin(factory, "GPIO17").state is False
        assert pin(factory, "GPIO5").state is False


def test_relays_start_locked_with_an_active_low_relay(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock, LockerSettings(relay_active_high=False)):
        assert pin(factory, "GPIO17").state is True
        assert pin(factory, "GPIO5").state is True


def test_unlock_drives_only_that_bays_relay(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock) as bank:
        bank.unlock(1)
        assert pin(factory, "GPIO17").state is True
        assert pin(factory, "GPIO5").state is False
        assert bank.read(1).lock is LockState.UNLOCKED
        assert bank.read(2).lock is LockState.LOCKED


def test_the_relay_stays_open_until_the_pulse_time_is_up(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock, LockerSettings(pulse_s=0.5)) as bank:
        bank.unlock(1)
        fake_clock.advance(0.4)
        bank.poll()
        assert pin(factory, "GPIO17").state is True


def test_the_relay_relocks_after_the_pulse(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock, LockerSettings(pulse_s=0.5)) as bank:
        bank.unlock(1)
        fake_clock.advance(0.5)
        bank.poll()
        assert pin(factory, "GPIO17").state is False
        assert bank.read(1).lock is LockState.LOCKED


def test_an_active_low_relay_relocks_to_high(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock, LockerSettings(relay_active_high=False, pulse_s=1.0)) as bank:
        bank.unlock(2)
        assert pin(factory, "GPIO5").state is False
        fake_clock.advance(1.0)
        bank.poll()
        assert pin(factory, "GPIO5").state is True


def test_a_second_unlock_does_not_lengthen_the_pulse_beyond_one_pulse(
    factory: MockFactory, fake_clock: FakeClock
) -> None:
    with make_bank(factory, fake_clock, LockerSettings(pulse_s=0.5)) as bank:
        bank.unlock(1)
        fake_clock.advance(0.3)
        bank.unlock(1)
        fake_clock.advance(0.5)
        bank.poll()
        assert pin(factory, "GPIO17").state is False


def test_one_unlock_is_one_relay_pulse_even_when_the_door_stays_shut(
    factory: MockFactory, fake_clock: FakeClock
) -> None:
    # The door switch never opens (a jammed lock): the driver reports it, it does not pulse again.
    with make_bank(factory, fake_clock, LockerSettings(pulse_s=0.5)) as bank:
        close_door(factory, fake_clock, bank)
        relay = pin(factory, "GPIO17")
        relay.clear_states()
        bank.unlock(1)
        for _ in range(20):
            fake_clock.advance(0.1)
            bank.poll()
        assert [s.state for s in relay.states] == [False, True, False]
        assert bank.read(1).door is DoorState.CLOSED


def test_close_returns_an_unlocked_relay_to_locked(factory: MockFactory, fake_clock: FakeClock) -> None:
    bank = make_bank(factory, fake_clock)
    bank.unlock(1)
    bank.close()
    assert pin(factory, "GPIO17").state is False


def test_close_releases_the_pins(factory: MockFactory, fake_clock: FakeClock) -> None:
    bank = make_bank(factory, fake_clock)
    bank.close()
    assert pin(factory, "GPIO17").function == "input"
    DigitalOutputDevice("GPIO17", pin_factory=factory).close()


def test_close_is_safe_twice(factory: MockFactory, fake_clock: FakeClock) -> None:
    bank = make_bank(factory, fake_clock)
    bank.close()
    bank.close()
    assert bank.get_status()["connected"] is False


def test_unlock_after_close_is_refused(factory: MockFactory, fake_clock: FakeClock) -> None:
    bank = make_bank(factory, fake_clock)
    bank.close()
    with pytest.raises(DeviceError, match="closed"):
        bank.unlock(1)


def test_unlocking_an_unknown_bay_is_refused(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock) as bank, pytest.raises(DeviceError, match="no bay 9"):
        bank.unlock(9)


def test_the_door_reads_as_its_pin_at_start(factory: MockFactory, fake_clock: FakeClock) -> None:
    # Pull-up and nothing closing the reed switch: the pin reads high, the door is open.
    with make_bank(factory, fake_clock) as bank:
        assert bank.read(1).door is DoorState.OPEN


def test_a_door_change_is_reported_once_it_has_settled(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock) as bank:
        pin(factory, "GPIO27").drive_low()
        assert bank.read(1).door is DoorState.OPEN
        fake_clock.advance(0.05)
        assert bank.read(1).door is DoorState.CLOSED


def test_the_door_polarity_follows_the_settings(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock, LockerSettings(door_closed_when_active=False)) as bank:
        assert bank.read(1).door is DoorState.CLOSED


def test_listeners_get_the_settled_door_change(factory: MockFactory, fake_clock: FakeClock) -> None:
    seen: list[BayState] = []
    with make_bank(factory, fake_clock) as bank:
        bank.subscribe(seen.append)
        close_door(factory, fake_clock, bank)
    assert [(s.bay, s.door) for s in seen] == [(1, DoorState.CLOSED)]


def test_a_bounce_within_the_window_is_filtered(factory: MockFactory, fake_clock: FakeClock) -> None:
    seen: list[BayState] = []
    with make_bank(factory, fake_clock, LockerSettings(debounce_s=0.05)) as bank:
        bank.subscribe(seen.append)
        door = pin(factory, "GPIO27")
        for _ in range(3):
            door.drive_low()
            fake_clock.advance(0.01)
            bank.poll()
            door.drive_high()
            fake_clock.advance(0.01)
            bank.poll()
        fake_clock.advance(1.0)
        bank.poll()
        assert bank.read(1).door is DoorState.OPEN
    assert seen == []


def test_a_flapping_door_switch_faults_the_bay(factory: MockFactory, fake_clock: FakeClock) -> None:
    settings = LockerSettings(flap_max_changes=4, flap_window_s=2.0)
    with make_bank(factory, fake_clock, settings) as bank:
        door = pin(factory, "GPIO27")
        for _ in range(3):
            door.drive_low()
            fake_clock.advance(0.1)
            door.drive_high()
            fake_clock.advance(0.1)
        state = bank.read(1)
        assert state.fault == "door switch flapping: more than 4 changes within 2 s"
        assert state.door is DoorState.UNKNOWN


def test_a_flapping_bay_shows_in_the_status_warnings(factory: MockFactory, fake_clock: FakeClock) -> None:
    settings = LockerSettings(flap_max_changes=2, flap_window_s=2.0)
    with make_bank(factory, fake_clock, settings) as bank:
        door = pin(factory, "GPIO6")
        for _ in range(2):
            door.drive_low()
            door.drive_high()
        status = bank.get_status()
    assert status["warnings"] == ["bay 2: door switch flapping: more than 2 changes within 2 s"]
    assert status["bays"][1]["fault"] is not None
    assert status["bays"][0]["fault"] is None


def test_a_fault_stays_until_reset(factory: MockFactory, fake_clock: FakeClock) -> None:
    settings = LockerSettings(flap_max_changes=2, flap_window_s=2.0)
    with make_bank(factory, fake_clock, settings) as bank:
        door = pin(factory, "GPIO27")
        for _ in range(2):
            door.drive_low()
            door.drive_high()
        fake_clock.advance(60)
        assert bank.read(1).fault is not None
        bank.reset_fault(1)
        state = bank.read(1)
    assert state.fault is None
    assert state.door is DoorState.OPEN


def test_the_presence_switch_is_reported(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock) as bank:
        assert bank.read(1).presence is False
        pin(factory, "GPIO22").drive_low()
        fake_clock.advance(0.1)
        assert bank.read(1).presence is True


def test_a_bay_without_a_presence_switch_reports_none(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_bank(factory, fake_clock) as bank:
        assert bank.read_all()[2].presence is None


def test_a_pin_in_use_fails_construction_and_releases_what_was_built(
    factory: MockFactory, fake_clock: FakeClock
) -> None:
    clash = [GpioBay(1, "GPIO17", "GPIO27", "GPIO22"), GpioBay(2, lock_pin="GPIO5", door_pin="GPIO17")]
    with pytest.raises(DeviceError, match="GPIO17") as excinfo:
        make_bank(factory, fake_clock, bays=clash)
    assert "in use" in str(excinfo.value)
    for name in ("GPIO17", "GPIO27", "GPIO22", "GPIO5"):
        assert pin(factory, name).function == "input", name
    DigitalOutputDevice("GPIO17", pin_factory=factory).close()


def test_duplicate_bay_numbers_are_refused(factory: MockFactory, fake_clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="unique"):
        make_bank(factory, fake_clock, bays=[GpioBay(1, "GPIO17", "GPIO27"), GpioBay(1, "GPIO5", "GPIO6")])


def test_bays_from_config_need_a_lock_and_a_door_pin() -> None:
    bays = [BayConfig(number=1, lock_pin="GPIO17", door_pin="GPIO27"), BayConfig(number=2, lock_pin="GPIO5")]
    with pytest.raises(ConfigError) as excinfo:
        gpio_bays_from_config(bays)
    assert excinfo.value.problems == ["bay 2: a GPIO cabinet needs both lock_pin and door_pin"]


def test_bays_from_config_keep_the_pins() -> None:
    bays = [BayConfig(number=3, lock_pin="GPIO17", door_pin="GPIO27", presence_pin="GPIO22")]
    assert gpio_bays_from_config(bays) == [GpioBay(3, "GPIO17", "GPIO27", "GPIO22")]


def test_impossible_pulse_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="pulse_s"):
        LockerSettings(pulse_s=0)
