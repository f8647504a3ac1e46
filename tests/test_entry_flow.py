"""The entry door flow: a grant is written before the strike is pulsed; a door held open alarms once per opening."""

from __future__ import annotations

import pytest

from kiosk.station.entry import (
    EntryAlarm,
    EntryCodeRefused,
    EntryDoorChanged,
    EntryMachine,
    EntryRequested,
    UnlockEntryDoor,
)
from kiosk.station.swap import Persist, Show, Tick
from kiosk.station.swap_events import DoorAlarm, EntryGranted, EntryRefused


def test_a_valid_code_records_the_entry_then_pulses_the_strike() -> None:
    assert EntryMachine(90.0).handle(EntryRequested("rider-7", "n1", 0.0)) == [
        Persist(None, (EntryGranted(rider_id="rider-7", nonce="n1"),)),
        UnlockEntryDoor(),
        Show("entry.welcome"),
    ]


def test_a_refused_code_is_recorded_with_its_reason_and_nothing_opens() -> None:
    assert EntryMachine(90.0).handle(EntryCodeRefused("expired", 0.0, rider_id="rider-7")) == [
        Persist(None, (EntryRefused(reason="expired", rider_id="rider-7"),)),
        Show("entry.refused", {"reason": "expired"}),
    ]


def test_a_door_held_open_too_long_raises_an_alarm() -> None:
    machine = EntryMachine(90.0)
    machine.handle(EntryDoorChanged(True, 10.0))
    assert machine.handle(Tick(99.9)) == []
    assert machine.handle(Tick(100.0)) == [
        Persist(None, (DoorAlarm(door="entry", open_for_s=90.0),)),
        EntryAlarm(90.0),
    ]


def test_the_alarm_is_raised_once_per_opening() -> None:
    machine = EntryMachine(90.0)
    machine.handle(EntryDoorChanged(True, 10.0))
    machine.handle(Tick(100.0))
    assert machine.handle(Tick(200.0)) == []


def test_a_new_opening_can_alarm_again() -> None:
    machine = EntryMachine(90.0)
    machine.handle(EntryDoorChanged(True, 10.0))
    machine.handle(Tick(100.0))
    machine.handle(EntryDoorChanged(False, 110.0))
    machine.handle(EntryDoorChanged(True, 120.0))
    assert machine.handle(Tick(210.0))[1] == EntryAlarm(90.0)


def test_a_door_closed_in_time_does_not_alarm() -> None:
    machine = EntryMachine(90.0)
    machine.handle(EntryDoorChanged(True, 10.0))
    machine.handle(EntryDoorChanged(False, 20.0))
    assert machine.handle(Tick(200.0)) == []


def test_a_repeated_open_report_keeps_the_first_opening_time() -> None:
    machine = EntryMachine(90.0)
    machine.handle(EntryDoorChanged(True, 10.0))
    machine.handle(EntryDoorChanged(True, 50.0))
    assert machine.next_deadline() == 100.0


def test_nothing_is_due_while_the_door_is_closed() -> None:
    assert EntryMachine(90.0).next_deadline() is None


def test_the_alarm_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="open_alarm_s"):
        EntryMachine(0.0)
