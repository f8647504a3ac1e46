"""The swap state machine: every path, timeout and fault, as exact ordered command lists on explicit times.

The cabinet: bays 1 and 2 empty, bay 3 holds a battery at 98 %, bay 4 one at 96 %. Times are plain
monotonic seconds; the swap starts at t=0.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.core.errors import ProtocolError
from kiosk.devices.base import BatteryReading
from kiosk.station.selection import SwapPolicy
from kiosk.station.swap import (
    MAX_REOPENS,
    Alarm,
    BatteryRead,
    DoorChanged,
    MarkBayFaulted,
    ReadBattery,
    ReopenRequested,
    SwapOutcome,
    SwapRecord,
    SwapRequested,
    Tick,
    Unlock,
    UnlockFailed,
)
from kiosk.station.swap_events import SwapCompleted, SwapEnded
from tests.swap_machine_support import RETURNED, P, S, Station, ended, full, make_cabinet, summary

# --- starting ---------------------------------------------------------------------------------


def test_a_swap_persists_its_intent_then_unlocks_the_return_bay() -> None:
    assert Station().start() == [
        (P, S.OPENING_RETURN, ["swap.started", "swap.bay_unlocking"]),
        Unlock(1),
        ("show", "swap.open_return_bay", {"bay": 1, "seconds": 120.0}),
    ]


def test_a_second_scan_during_a_swap_is_refused_politely_and_nothing_else() -> None:
    station = Station()
    station.start()
    assert station(SwapRequested("swap-2", "rider-8", "n2", 1.0)) == [("show", "swap.busy", {})]


def test_a_rider_swapping_again_too_soon_is_refused() -> None:
    station = Station()
    assert station(SwapRequested("swap-1", "rider-7", "n1", 0.0, since_last_swap_s=60.0)) == [
        (P, S.ENDED, ["swap.refused"]),
        ("show", "swap.refused", {"reason": "too_soon", "wait_s": 120.0}),
    ]
    assert station.record.outcome is SwapOutcome.TOO_SOON
    assert not station.machine.busy


def test_a_rider_past_the_limit_may_swap() -> None:
    station = Station()
    assert station(SwapRequested("swap-1", "rider-7", "n1", 0.0, since_last_swap_s=181.0))[1] == Unlock(1)


def test_no_empty_bay_refuses_before_opening_anything() -> None:
    station = Station(cabinet=make_cabinet({1: full(1, 98.0), 3: full(3, 98.0)}))
    assert station.start() == [
        (P, S.ENDED, ["swap.refused"]),
        ("show", "swap.refused", {"reason": "no_empty_bay"}),
    ]
    assert station.record.outcome is SwapOutcome.NO_CAPACITY


def test_no_charged_battery_refuses_before_opening_anything() -> None:
    station = Station(cabinet=make_cabinet({1: BatteryReading(1, False), 3: full(3, 60.0)}))
    assert station.start()[-1] == ("show", "swap.refused", {"reason": "no_charged_battery"})


# --- the return -------------------------------------------------------------------------------


def test_the_return_door_opening_is_recorded() -> None:
    station = Station()
    station.start()
    assert station(DoorChanged(1, True, 2.0)) == [(P, S.AWAIT_RETURN, ["swap.bay_opened"])]


def test_the_return_door_closing_reads_the_battery() -> None:
    station = Station()
    station.start()
    station(DoorChanged(1, True, 2.0))
    assert station(DoorChanged(1, False, 10.0)) == [(P, S.READING_RETURN, ["swap.door_closed"]), ReadBattery(1)]


def test_a_good_battery_opens_the_best_charged_bay() -> None:
    station = Station()
    station.at_return_read()
    assert station(BatteryRead(1, RETURNED, 11.0)) == [
        (P, S.OPENING_CHARGED, ["swap.battery_returned", "swap.charged_chosen", "swap.bay_unlocking"]),
        Unlock(3),
        ("show", "swap.take_charged", {"bay": 3, "seconds": 120.0}),
    ]


def test_the_charged_bay_is_chosen_again_after_the_return() -> None:
    station = Station()
    station.at_return_read()
    station.cabinet = replace(station.cabinet, out_of_service=frozenset({3}))
    assert station(BatteryRead(1, RETURNED, 11.0))[1] == Unlock(4)


def test_a_presence_only_cabinet_accepts_a_battery_without_id() -> None:
    station = Station(SwapPolicy(require_battery_id=False))
    station.at_return_read()
    assert station(BatteryRead(1, BatteryReading(1, True), 11.0))[1] == Unlock(3)


def test_a_foreign_battery_reopens_the_same_bay_to_give_it_back() -> None:
    station = Station()
    station.at_return_read()
    assert station(BatteryRead(1, replace(RETURNED, battery_id="XX-1"), 11.0)) == [
        (P, S.REJECTING_RETURN, ["swap.battery_rejected", "swap.bay_unlocking"]),
        Unlock(1),
        ("show", "swap.take_back", {"bay": 1, "reason": "foreign", "seconds": 120.0}),
    ]


def test_a_battery_reporting_a_fault_is_given_back() -> None:
    station = Station()
    station.at_return_read()
    out = station(BatteryRead(1, replace(RETURNED, fault_flags=frozenset({"short"})), 11.0))
    assert out[-1] == ("show", "swap.take_back", {"bay": 1, "reason": "faulty", "seconds": 120.0})


def test_a_battery_taken_back_ends_the_swap_with_its_reason() -> None:
    station = Station()
    station.at_take_back()
    station(DoorChanged(1, True, 15.0), DoorChanged(1, False, 20.0))
    assert station(BatteryRead(1, BatteryReading(1, False), 21.0)) == [
        (P, S.ENDED, ["swap.ended"]),
        ("show", "swap.ended", {"outcome": "foreign_battery", "detail": "the rider took the battery back"}),
    ]


def test_a_battery_not_taken_back_is_recorded_as_left_in_the_bay() -> None:
    station = Station()
    station.at_take_back()
    station(DoorChanged(1, True, 15.0), DoorChanged(1, False, 20.0))
    event = ended(station.machine.handle(BatteryRead(1, replace(RETURNED, battery_id="XX-1"), 21.0)))
    assert isinstance(event, SwapEnded)
    assert (event.battery_left_in_bay, event.returned_battery_id) == (True, "XX-1")


def test_a_return_bay_closed_empty_offers_a_reopen() -> None:
    station = Station()
    station.at_return_read()
    assert station(BatteryRead(1, BatteryReading(1, False), 11.0)) == [
        (P, S.RETURN_EMPTY, ["swap.no_battery"]),
        ("show", "swap.no_battery", {"bay": 1, "can_reopen": True}),
    ]


def test_the_rider_may_ask_to_reopen_the_empty_return_bay() -> None:
    station = Station()
    station.at_return_read()
    station(BatteryRead(1, BatteryReading(1, False), 11.0))
    assert station(ReopenRequested(12.0)) == [
        (P, S.OPENING_RETURN, ["swap.reopen_requested", "swap.bay_unlocking"]),
        Unlock(1),
        ("show", "swap.open_return_bay", {"bay": 1, "seconds": 120.0}),
    ]


def test_reopens_are_limited() -> None:
    station = Station()
    station.at_return_read()
    t = 11.0
    for _ in range(MAX_REOPENS):
        station(BatteryRead(1, BatteryReading(1, False), t), ReopenRequested(t + 1))
        station(DoorChanged(1, True, t + 2), DoorChanged(1, False, t + 3))
        t += 4
    station(BatteryRead(1, BatteryReading(1, False), t))
    assert station(ReopenRequested(t + 1)) == []


def test_a_reopen_is_ignored_outside_the_empty_state() -> None:
    station = Station()
    station.start()
    assert station(ReopenRequested(1.0)) == []


def test_an_empty_return_bay_ends_abandoned_at_the_insert_timeout() -> None:
    station = Station()
    station.at_return_read()
    station(BatteryRead(1, BatteryReading(1, False), 11.0))
    assert station(Tick(119.9)) == []
    assert station(Tick(120.0)) == [
        (P, S.ENDED, ["swap.ended"]),
        ("show", "swap.ended", {"outcome": "abandoned", "detail": "no battery was put in"}),
    ]


def test_no_charged_battery_left_after_the_return_gives_the_battery_back() -> None:
    station = Station()
    station.at_return_read()
    station.cabinet = replace(station.cabinet, out_of_service=frozenset({3, 4}))
    assert station(BatteryRead(1, RETURNED, 11.0)) == [
        (P, S.REJECTING_RETURN, ["swap.battery_returned", "swap.battery_rejected", "swap.bay_unlocking"]),
        Unlock(1),
        ("show", "swap.take_back", {"bay": 1, "reason": "no_charged_battery", "seconds": 120.0}),
    ]


def test_a_swap_whose_battery_went_back_for_lack_of_stock_ends_no_capacity() -> None:
    station = Station()
    station.at_return_read()
    station.cabinet = replace(station.cabinet, out_of_service=frozenset({3, 4}))
    station(BatteryRead(1, RETURNED, 11.0), DoorChanged(1, True, 12.0), DoorChanged(1, False, 13.0))
    station(BatteryRead(1, BatteryReading(1, False), 14.0))
    assert station.record.outcome is SwapOutcome.NO_CAPACITY


# --- locks that do not open -------------------------------------------------------------------


def test_a_return_door_not_opened_in_time_faults_the_bay_and_tries_another() -> None:
    station = Station()
    station.start()
    assert station(Tick(9.9)) == []
    assert station(Tick(10.0)) == [
        (P, S.OPENING_RETURN, ["bay.faulted", "swap.bay_unlocking"]),
        MarkBayFaulted(1, "door did not open within 10 s of the unlock"),
        Unlock(2),
        ("show", "swap.open_return_bay", {"bay": 2, "seconds": 120.0}),
    ]


def test_a_driver_reported_unlock_failure_tries_another_bay() -> None:
    station = Station()
    station.start()
    out = station(UnlockFailed(1, "lock board 0 not answering", 0.5))
    assert out[1:3] == [MarkBayFaulted(1, "lock board 0 not answering"), Unlock(2)]


def test_running_out_of_return_bays_ends_bay_fault() -> None:
    station = Station()
    station.start()
    station(UnlockFailed(1, "stuck", 1.0))
    assert station(UnlockFailed(2, "stuck", 2.0)) == [
        (P, S.ENDED, ["bay.faulted", "swap.ended"]),
        MarkBayFaulted(2, "stuck"),
        ("show", "swap.ended", {"outcome": "bay_fault", "detail": "stuck"}),
    ]


def test_return_attempts_are_bounded_by_policy() -> None:
    cabinet = make_cabinet({n: BatteryReading(n, False) for n in (1, 2, 5, 6)} | {3: full(3, 98.0)})
    station = Station(SwapPolicy(max_bay_attempts=2), cabinet)
    station.start()
    station(UnlockFailed(1, "stuck", 1.0))
    assert station(UnlockFailed(2, "stuck", 2.0))[0] == (P, S.ENDED, ["bay.faulted", "swap.ended"])


def test_a_charged_bay_that_does_not_open_is_faulted_and_the_next_best_opened() -> None:
    station = Station()
    station.at_charged()
    assert station(Tick(21.0)) == [
        (P, S.OPENING_CHARGED, ["bay.faulted", "swap.charged_chosen", "swap.bay_unlocking"]),
        MarkBayFaulted(3, "door did not open within 10 s of the unlock"),
        Unlock(4),
        ("show", "swap.take_charged", {"bay": 4, "seconds": 120.0}),
    ]


def test_no_charged_bay_that_opens_gives_the_returned_battery_back() -> None:
    station = Station()
    station.at_charged()
    station(UnlockFailed(3, "stuck", 12.0))
    assert station(UnlockFailed(4, "stuck", 13.0)) == [
        (P, S.REJECTING_RETURN, ["bay.faulted", "swap.battery_rejected", "swap.bay_unlocking"]),
        MarkBayFaulted(4, "stuck"),
        Unlock(1),
        ("show", "swap.take_back", {"bay": 1, "reason": "bay_fault", "seconds": 120.0}),
    ]


def test_a_take_back_that_cannot_open_ends_with_the_battery_kept() -> None:
    station = Station()
    station.at_take_back()
    out = station.machine.handle(UnlockFailed(1, "stuck", 12.0))
    assert summary(out)[:2] == [(P, S.ENDED, ["bay.faulted", "swap.ended"]), MarkBayFaulted(1, "stuck")]
    event = ended(out)
    assert isinstance(event, SwapEnded)
    assert (event.outcome, event.battery_left_in_bay) == ("foreign_battery", True)


def test_an_unlock_failure_of_another_bay_is_ignored() -> None:
    station = Station()
    station.start()
    assert station(UnlockFailed(3, "stuck", 1.0)) == []


# --- the collection ---------------------------------------------------------------------------


def test_taking_the_charged_battery_completes_the_swap() -> None:
    station = Station()
    station.at_charged()
    station(DoorChanged(3, True, 13.0), DoorChanged(3, False, 20.0))
    assert station(BatteryRead(3, BatteryReading(3, False), 21.0)) == [
        (P, S.ENDED, ["swap.completed"]),
        ("show", "swap.done", {"bay": 3}),
    ]


def test_a_completed_swap_records_bays_batteries_and_step_durations() -> None:
    station = Station()
    station.at_charged()
    station(DoorChanged(3, True, 13.0), DoorChanged(3, False, 20.0))
    event = ended(station.machine.handle(BatteryRead(3, BatteryReading(3, False), 21.0)))
    assert isinstance(event, SwapCompleted)
    assert (event.return_bay, event.charged_bay) == (1, 3)
    assert (event.returned_battery_id, event.returned_soc_pct) == ("AB00000099", 12.0)
    assert (event.charged_battery_id, event.charged_soc_pct) == ("AB00000003", 98.0)
    assert event.durations_s == {
        "open_return": 2.0,
        "insert": 8.0,
        "read_and_choose": 1.0,
        "open_charged": 2.0,
        "collect": 7.0,
        "total": 21.0,
    }


def test_closing_the_charged_bay_without_taking_the_battery_ends_not_collected() -> None:
    station = Station()
    station.at_charged()
    station(DoorChanged(3, True, 13.0), DoorChanged(3, False, 20.0))
    out = station(BatteryRead(3, full(3, 98.0), 21.0))
    assert out[0] == (P, S.ENDED, ["swap.ended"])
    assert station.record.outcome is SwapOutcome.NOT_COLLECTED


def test_a_charged_door_never_opened_ends_not_collected_when_unlock_confirmation_is_off() -> None:
    station = Station(SwapPolicy(unlock_confirm_s=None))
    station.at_charged()
    assert station(Tick(130.0)) == []
    assert station(Tick(131.0))[0] == (P, S.ENDED, ["swap.ended"])
    assert station.record.outcome is SwapOutcome.NOT_COLLECTED


def test_a_return_door_never_opened_ends_abandoned_when_unlock_confirmation_is_off() -> None:
    station = Station(SwapPolicy(unlock_confirm_s=None))
    station.start()
    station(Tick(120.0))
    assert station.record.outcome is SwapOutcome.ABANDONED


# --- doors left open --------------------------------------------------------------------------


def test_a_door_open_too_long_raises_one_alarm_per_opening() -> None:
    station = Station()
    station.start()
    station(DoorChanged(1, True, 2.0))
    assert station(Tick(91.9)) == []
    assert station(Tick(92.0)) == [(P, S.AWAIT_RETURN, ["door.alarm"]), Alarm(1, 90.0)]
    assert station(Tick(100.0)) == []


def test_the_swap_waits_for_an_open_door_past_its_timeout() -> None:
    station = Station()
    station.start()
    station(DoorChanged(1, True, 2.0), Tick(92.0))
    assert station(Tick(150.0)) == []
    assert station.record.state is S.AWAIT_RETURN


def test_a_return_door_left_open_ends_abandoned_and_keeps_the_battery_on_record() -> None:
    station = Station()
    station.start()
    station(DoorChanged(1, True, 2.0), Tick(92.0))
    station.cabinet = make_cabinet({1: RETURNED, 3: full(3, 98.0)})
    event = ended(station.machine.handle(Tick(210.0)))
    assert isinstance(event, SwapEnded)
    assert (event.outcome, event.returned_battery_id, event.door_left_open) == ("abandoned", "AB00000099", True)


def test_a_charged_door_left_open_with_the_battery_gone_counts_as_completed() -> None:
    station = Station()
    station.at_charged()
    station(DoorChanged(3, True, 13.0), Tick(103.0))
    station.cabinet = make_cabinet({1: RETURNED, 3: BatteryReading(3, False)})
    event = ended(station.machine.handle(Tick(11.0 + 120.0 + 90.0)))
    assert isinstance(event, SwapCompleted)
    assert event.door_left_open


def test_a_door_pulled_open_again_before_the_read_goes_back_to_waiting() -> None:
    station = Station()
    station.at_return_read()
    assert station(DoorChanged(1, True, 10.5)) == [(P, S.AWAIT_RETURN, ["swap.bay_opened"])]
    assert station(BatteryRead(1, BatteryReading(1, False), 11.0)) == []


# --- reads that fail --------------------------------------------------------------------------


def test_a_failed_read_is_retried() -> None:
    station = Station()
    station.at_return_read()
    assert station(BatteryRead(1, BatteryReading(1, False, error="timeout"), 11.0)) == [ReadBattery(1)]


def test_a_read_without_answer_is_retried_after_the_read_timeout() -> None:
    station = Station()
    station.at_return_read()
    assert station(Tick(19.9)) == []
    assert station(Tick(20.0)) == [ReadBattery(1)]


def test_an_unreadable_return_faults_the_bay_and_gives_the_battery_back() -> None:
    station = Station()
    station.at_return_read()
    bad = BatteryRead(1, BatteryReading(1, False, error="timeout"), 11.0)
    assert station(bad, bad, bad) == [
        (P, S.REJECTING_RETURN, ["bay.faulted", "swap.battery_rejected", "swap.bay_unlocking"]),
        MarkBayFaulted(1, "battery could not be read: timeout"),
        Unlock(1),
        ("show", "swap.take_back", {"bay": 1, "reason": "unreadable", "seconds": 120.0}),
    ]


def test_an_unconfirmed_collection_faults_the_charged_bay() -> None:
    station = Station()
    station.at_charged()
    station(DoorChanged(3, True, 13.0), DoorChanged(3, False, 20.0))
    bad = BatteryRead(3, BatteryReading(3, False, error="timeout"), 21.0)
    assert station(bad, bad, bad)[:2] == [
        (P, S.ENDED, ["bay.faulted", "swap.ended"]),
        MarkBayFaulted(3, "battery could not be read: timeout"),
    ]
    assert station.record.outcome is SwapOutcome.BAY_FAULT


def test_a_stale_read_of_another_bay_is_ignored() -> None:
    station = Station()
    station.at_return_read()
    assert station(BatteryRead(3, full(3, 98.0), 11.0)) == []


# --- other doors ------------------------------------------------------------------------------


def test_doors_of_bays_outside_the_swap_are_ignored() -> None:
    station = Station()
    station.start()
    assert station(DoorChanged(4, True, 1.0)) == []


def test_the_return_bay_opening_during_the_collection_is_recorded() -> None:
    station = Station()
    station.at_charged()
    assert station(DoorChanged(1, True, 12.0)) == [(P, S.OPENING_CHARGED, ["swap.unexpected_door"])]


# --- timing and records -----------------------------------------------------------------------


def test_next_deadline_is_the_unlock_confirmation_while_opening() -> None:
    station = Station()
    station.start()
    assert station.machine.next_deadline() == 10.0


def test_next_deadline_is_the_door_alarm_while_the_door_is_open() -> None:
    station = Station()
    station.start()
    station(DoorChanged(1, True, 2.0))
    assert station.machine.next_deadline() == 92.0


def test_an_idle_machine_has_no_deadline() -> None:
    assert Station().machine.next_deadline() is None


def test_a_record_survives_json() -> None:
    station = Station()
    station.at_charged()
    record = station.record
    assert SwapRecord.from_dict(record.as_dict()) == record


def test_a_record_that_does_not_fit_is_refused() -> None:
    with pytest.raises(ProtocolError, match="does not fit"):
        SwapRecord.from_dict({"swap_id": "x", "state": "flying"})


def test_an_in_flight_record_with_an_outcome_is_refused() -> None:
    data = SwapRecord("x", "r", "n", S.AWAIT_RETURN).as_dict() | {"outcome": "completed"}
    with pytest.raises(ProtocolError, match="outcome"):
        SwapRecord.from_dict(data)
