"""The entry door on gpiozero's MockFactory: a strike pulse, a debounced switch, a held-open alarm."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from kiosk.core.clock import FakeClock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import EntryDoorSettings
from kiosk.devices.base import DoorState, LockState
from kiosk.devices.door import DoorAlarm, EntryDoor
from kiosk.devices.lockers.gpio import LockerState

LOCK, DOOR = "GPIO23", "GPIO24"


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    """A fresh mock pin factory."""
    mock = MockFactory()
    yield mock
    mock.reset()


def make_door(factory: MockFactory, clock: FakeClock, settings: EntryDoorSettings | None = None) -> EntryDoor:
    return EntryDoor(LOCK, DOOR, settings or EntryDoorSettings(), factory, clock)


def set_door(factory: MockFactory, clock: FakeClock, door: EntryDoor, *, closed: bool) -> None:
    """Move the door and let the switch settle (pull-up: closed reed pulls the pin low)."""
    switch: MockPin = factory.pin(DOOR)
    if closed:
        switch.drive_low()
    else:
        switch.drive_high()
    clock.advance(0.1)
    door.poll()


def test_the_strike_starts_locked(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_door(factory, fake_clock):
        assert factory.pin(LOCK).state is False


def test_an_active_low_strike_starts_locked(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_door(factory, fake_clock, EntryDoorSettings(relay_active_high=False)):
        assert factory.pin(LOCK).state is True


def test_unlock_releases_the_strike_for_one_pulse(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_door(factory, fake_clock, EntryDoorSettings(pulse_s=3.0)) as door:
        door.unlock()
        fake_clock.advance(2.9)
        door.poll()
        assert door.state.lock is LockState.UNLOCKED
        fake_clock.advance(0.1)
        door.poll()
        assert factory.pin(LOCK).state is False


def test_close_locks_the_strike_and_is_safe_twice(factory: MockFactory, fake_clock: FakeClock) -> None:
    door = make_door(factory, fake_clock)
    door.unlock()
    door.close()
    door.close()
    assert factory.pin(LOCK).state is False
    assert factory.pin(LOCK).function == "input"


def test_unlock_after_close_is_refused(factory: MockFactory, fake_clock: FakeClock) -> None:
    door = make_door(factory, fake_clock)
    door.close()
    with pytest.raises(DeviceError):
        door.unlock()


def test_door_changes_are_debounced(factory: MockFactory, fake_clock: FakeClock) -> None:
    seen: list[LockerState] = []
    with make_door(factory, fake_clock) as door:
        set_door(factory, fake_clock, door, closed=True)
        door.subscribe(seen.append)
        switch: MockPin = factory.pin(DOOR)
        switch.drive_high()
        fake_clock.advance(0.01)
        switch.drive_low()
        fake_clock.advance(1.0)
        door.poll()
        assert door.door is DoorState.CLOSED
    assert seen == []


def test_a_door_open_beyond_the_limit_raises_an_alarm(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_door(factory, fake_clock, EntryDoorSettings(open_alarm_s=90.0)) as door:
        set_door(factory, fake_clock, door, closed=True)
        set_door(factory, fake_clock, door, closed=False)
        opened_at = fake_clock.monotonic()
        fake_clock.advance(90.0)
        assert door.poll() is None
        fake_clock.advance(1.0)
        alarm = door.poll()
    assert alarm is not None
    assert alarm.opened_at == opened_at
    assert abs(alarm.open_for_s - 91.0) < 1e-6


def test_the_alarm_is_raised_once_per_opening(factory: MockFactory, fake_clock: FakeClock) -> None:
    alarms: list[DoorAlarm] = []
    with make_door(factory, fake_clock, EntryDoorSettings(open_alarm_s=10.0)) as door:
        door.subscribe_alarm(alarms.append)
        set_door(factory, fake_clock, door, closed=False)
        for _ in range(5):
            fake_clock.advance(10.0)
            door.poll()
    assert len(alarms) == 1


def test_a_new_opening_can_alarm_again(factory: MockFactory, fake_clock: FakeClock) -> None:
    alarms: list[DoorAlarm] = []
    with make_door(factory, fake_clock, EntryDoorSettings(open_alarm_s=10.0)) as door:
        door.subscribe_alarm(alarms.append)
        set_door(factory, fake_clock, door, closed=False)
        fake_clock.advance(11.0)
        door.poll()
        set_door(factory, fake_clock, door, closed=True)
        set_door(factory, fake_clock, door, closed=False)
        fake_clock.advance(11.0)
        door.poll()
    assert len(alarms) == 2


def test_a_door_closed_in_time_raises_no_alarm(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_door(factory, fake_clock, EntryDoorSettings(open_alarm_s=10.0)) as door:
        set_door(factory, fake_clock, door, closed=False)
        fake_clock.advance(5.0)
        set_door(factory, fake_clock, door, closed=True)
        fake_clock.advance(60.0)
        assert door.poll() is None


def test_an_open_door_at_start_counts_from_start(factory: MockFactory, fake_clock: FakeClock) -> None:
    # Pull-up with nothing closing the reed switch: the door reads open from the first moment.
    with make_door(factory, fake_clock, EntryDoorSettings(open_alarm_s=10.0)) as door:
        fake_clock.advance(10.5)
        assert door.poll() is not None


def test_the_alarm_shows_in_the_status_until_the_door_closes(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_door(factory, fake_clock, EntryDoorSettings(open_alarm_s=10.0)) as door:
        fake_clock.advance(11.0)
        door.poll()
        assert door.get_status()["warnings"] == ["entry door: open for more than 10 s"]
        set_door(factory, fake_clock, door, closed=True)
        assert door.get_status()["warnings"] == []


def test_a_flapping_door_switch_is_a_warning(factory: MockFactory, fake_clock: FakeClock) -> None:
    with make_door(factory, fake_clock, EntryDoorSettings(flap_max_changes=2, flap_window_s=1.0)) as door:
        switch: MockPin = factory.pin(DOOR)
        for _ in range(2):
            switch.drive_low()
            switch.drive_high()
        status = door.get_status()
    assert status["fault"] == "door switch flapping: more than 2 changes within 1 s"
    assert status["door"] == "unknown"
    assert status["warnings"] == ["entry door: door switch flapping: more than 2 changes within 1 s"]


def test_a_non_positive_alarm_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="open_alarm_s"):
        EntryDoorSettings(open_alarm_s=0)
