"""Startup reconciliation: every in-flight state, decided from the sensors, never unlocking more than the flow needs.

Records were last written at t=100. "Fresh" restarts happen at t=105 in the same boot; stale ones are
after a power cut (another boot).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from kiosk.devices.base import BatteryReading, BayState, DoorState, LockState
from kiosk.station.recovery import reconcile, recover
from kiosk.station.selection import Cabinet, SwapPolicy
from kiosk.station.swap import (
    IN_FLIGHT,
    UNLOCKING,
    DoorChanged,
    MarkBayFaulted,
    Persist,
    ReadBattery,
    Show,
    SwapMachine,
    SwapOutcome,
    SwapRecord,
    SwapState,
    Unlock,
)
from kiosk.station.swap_events import SwapEnded, SwapRecovered

S = SwapState
POLICY = SwapPolicy()
RETURNED = BatteryReading(1, True, battery_id="AB00000099", soc_pct=12.0, temperature_c=30.0)
CHARGED = BatteryReading(3, True, battery_id="AB00000003", soc_pct=98.0, temperature_c=25.0)
CHARGED_ROLE = {S.OPENING_CHARGED, S.AWAIT_COLLECT, S.READING_COLLECT}
TAKE_BACK_ROLE = {S.REJECTING_RETURN, S.AWAIT_TAKE_BACK, S.READING_TAKE_BACK}


def record(state: SwapState, **kw: Any) -> SwapRecord:
    values: dict[str, Any] = {"return_bay": 1, "steps": {"requested": 90.0, "return_unlocked": 100.0}}
    if state in CHARGED_ROLE:
        values |= {"charged_bay": 3, "returned_battery_id": "AB00000099", "charged_battery_id": "AB00000003"}
    if state in TAKE_BACK_ROLE:
        values |= {"reject_reason": "foreign", "returned_battery_id": "XX-1"}
    values.update(kw)
    return SwapRecord("swap-1", "rider-7", "n1", state, **values)


def sensors(bay: int, door: DoorState, present: bool | None) -> tuple[dict[int, BayState], dict[int, BatteryReading]]:
    bays = {n: BayState(n, DoorState.CLOSED, LockState.LOCKED) for n in (1, 2, 3, 4)}
    bays[bay] = BayState(bay, door, LockState.UNKNOWN)
    readings = {n: BatteryReading(n, False) for n in (1, 2)} | {3: CHARGED, 4: CHARGED}
    if present is None:
        readings[bay] = BatteryReading(bay, False, error="timeout")
    elif present:
        readings[bay] = RETURNED if bay == 1 else CHARGED
    else:
        readings[bay] = BatteryReading(bay, False)
    return bays, readings


def run(state: SwapState, door: DoorState, present: bool | None, *, fresh: bool, **kw: Any) -> list[Any]:
    rec = record(state, **kw)
    bay = rec.current_bay
    assert bay is not None
    bays, readings = sensors(bay, door, present)
    return reconcile(rec, bays, readings, 105.0 if fresh else 3.0, POLICY, same_boot=fresh)


def outcome_of(commands: list[Any]) -> tuple[SwapState, SwapOutcome | None, str]:
    first = commands[0]
    assert isinstance(first, Persist)
    assert first.swap is not None
    event = first.events[0]
    assert isinstance(event, SwapRecovered)
    return first.swap.state, first.swap.outcome, event.decision


OPEN, CLOSED = DoorState.OPEN, DoorState.CLOSED


# --- the return -------------------------------------------------------------------------------


def test_an_open_return_door_resumes_waiting_for_the_close() -> None:
    commands = run(S.OPENING_RETURN, OPEN, False, fresh=False)
    assert outcome_of(commands) == (S.AWAIT_RETURN, None, "resumed")
    assert commands[1:] == [Show("swap.open_return_bay", {"bay": 1, "seconds": 120.0})]


def test_an_unopened_empty_return_bay_is_unlocked_again_after_a_quick_restart() -> None:
    commands = run(S.OPENING_RETURN, CLOSED, False, fresh=True)
    assert outcome_of(commands) == (S.OPENING_RETURN, None, "reissued")
    assert commands[1:] == [Unlock(1), Show("swap.open_return_bay", {"bay": 1, "seconds": 120.0})]


def test_an_unopened_empty_return_bay_after_a_power_cut_ends_abandoned() -> None:
    commands = run(S.OPENING_RETURN, CLOSED, False, fresh=False)
    assert outcome_of(commands) == (S.ENDED, SwapOutcome.ABANDONED, "ended")
    assert not any(isinstance(c, Unlock) for c in commands)


def test_a_closed_return_bay_with_a_battery_is_read_after_a_quick_restart() -> None:
    commands = run(S.AWAIT_RETURN, CLOSED, True, fresh=True)
    assert outcome_of(commands) == (S.READING_RETURN, None, "resumed")
    assert commands[1:] == [ReadBattery(1)]


def test_a_returned_battery_is_recorded_even_when_the_swap_is_closed_out() -> None:
    commands = run(S.AWAIT_RETURN, CLOSED, True, fresh=False)
    assert outcome_of(commands) == (S.ENDED, SwapOutcome.ABANDONED, "ended")
    ended = commands[0].events[1]
    assert isinstance(ended, SwapEnded)
    assert (ended.returned_battery_id, ended.battery_left_in_bay) == ("AB00000099", True)


def test_a_return_bay_closed_empty_waits_for_a_reopen_after_a_quick_restart() -> None:
    commands = run(S.READING_RETURN, CLOSED, False, fresh=True)
    assert outcome_of(commands) == (S.RETURN_EMPTY, None, "resumed")
    assert commands[1:] == []


def test_an_empty_return_bay_after_a_power_cut_ends_abandoned() -> None:
    assert outcome_of(run(S.RETURN_EMPTY, CLOSED, False, fresh=False))[:2] == (S.ENDED, SwapOutcome.ABANDONED)


# --- the take-back ----------------------------------------------------------------------------


def test_an_unopened_take_back_is_unlocked_again_after_a_quick_restart() -> None:
    commands = run(S.REJECTING_RETURN, CLOSED, True, fresh=True)
    assert outcome_of(commands) == (S.REJECTING_RETURN, None, "reissued")
    assert commands[1] == Unlock(1)


def test_a_battery_not_taken_back_after_a_power_cut_stays_recorded() -> None:
    commands = run(S.REJECTING_RETURN, CLOSED, True, fresh=False)
    assert outcome_of(commands) == (S.ENDED, SwapOutcome.FOREIGN_BATTERY, "ended")
    ended = commands[0].events[1]
    assert isinstance(ended, SwapEnded)
    assert ended.battery_left_in_bay is True


def test_a_take_back_with_the_bay_empty_ends_with_the_rejection() -> None:
    assert outcome_of(run(S.AWAIT_TAKE_BACK, CLOSED, False, fresh=True))[:2] == (S.ENDED, SwapOutcome.FOREIGN_BATTERY)


def test_a_take_back_door_that_was_opened_is_never_unlocked_again() -> None:
    commands = run(S.READING_TAKE_BACK, CLOSED, True, fresh=True)
    assert outcome_of(commands)[:2] == (S.ENDED, SwapOutcome.FOREIGN_BATTERY)


def test_an_open_take_back_door_resumes_waiting() -> None:
    assert outcome_of(run(S.READING_TAKE_BACK, OPEN, True, fresh=False)) == (S.AWAIT_TAKE_BACK, None, "resumed")


# --- the charged battery ----------------------------------------------------------------------


def test_a_charged_battery_gone_means_the_swap_completed() -> None:
    commands = run(S.OPENING_CHARGED, CLOSED, False, fresh=False)
    assert outcome_of(commands) == (S.ENDED, SwapOutcome.COMPLETED, "ended")
    assert commands[0].events[1].TYPE == "swap.completed"


def test_an_unopened_charged_bay_is_unlocked_again_after_a_quick_restart() -> None:
    commands = run(S.OPENING_CHARGED, CLOSED, True, fresh=True)
    assert outcome_of(commands) == (S.OPENING_CHARGED, None, "reissued")
    assert commands[1:] == [Unlock(3), Show("swap.take_charged", {"bay": 3, "seconds": 120.0})]


def test_an_unopened_charged_bay_after_a_power_cut_ends_not_collected() -> None:
    commands = run(S.OPENING_CHARGED, CLOSED, True, fresh=False)
    assert outcome_of(commands) == (S.ENDED, SwapOutcome.NOT_COLLECTED, "ended")
    assert not any(isinstance(c, Unlock) for c in commands)


def test_a_charged_bay_opened_and_closed_with_the_battery_is_never_unlocked_again() -> None:
    commands = run(S.AWAIT_COLLECT, CLOSED, True, fresh=True)
    assert outcome_of(commands)[:2] == (S.ENDED, SwapOutcome.NOT_COLLECTED)
    assert not any(isinstance(c, Unlock) for c in commands)


def test_a_collection_being_read_with_the_battery_gone_completed() -> None:
    assert outcome_of(run(S.READING_COLLECT, CLOSED, False, fresh=True))[:2] == (S.ENDED, SwapOutcome.COMPLETED)


def test_an_open_charged_door_resumes_waiting_for_the_close() -> None:
    assert outcome_of(run(S.AWAIT_COLLECT, OPEN, True, fresh=False)) == (S.AWAIT_COLLECT, None, "resumed")


# --- what cannot be known ---------------------------------------------------------------------


def test_unknown_battery_presence_takes_the_bay_out_of_service() -> None:
    commands = run(S.OPENING_CHARGED, CLOSED, None, fresh=True)
    assert outcome_of(commands)[:2] == (S.ENDED, SwapOutcome.BAY_FAULT)
    assert commands[1] == MarkBayFaulted(3, "bay 3: door or battery presence unknown after a restart")


def test_an_unknown_door_takes_the_bay_out_of_service() -> None:
    commands = run(S.AWAIT_RETURN, DoorState.UNKNOWN, False, fresh=True)
    assert outcome_of(commands)[:2] == (S.ENDED, SwapOutcome.BAY_FAULT)


def test_bays_faulted_before_the_crash_are_marked_again() -> None:
    commands = run(S.OPENING_RETURN, OPEN, False, fresh=True, faulted_bays=(2,))
    assert commands[1] == MarkBayFaulted(2, "lock did not open (marked again after a restart)")


def test_a_quick_restart_needs_the_same_boot() -> None:
    rec = record(S.OPENING_RETURN)
    bays, readings = sensors(1, CLOSED, False)
    commands = reconcile(rec, bays, readings, 105.0, POLICY, same_boot=False)
    assert outcome_of(commands)[:2] == (S.ENDED, SwapOutcome.ABANDONED)


def test_an_ended_swap_needs_nothing() -> None:
    rec = record(S.ENDED, outcome=SwapOutcome.COMPLETED)
    assert reconcile(rec, {}, {}, 105.0, POLICY) == []


# --- handing a resumed swap to the machine ----------------------------------------------------


def test_a_resumed_swap_carries_on_in_the_machine() -> None:
    bays, readings = sensors(1, OPEN, False)
    machine = SwapMachine(POLICY, lambda: Cabinet(bays, readings))
    recover(machine, record(S.AWAIT_RETURN), bays, readings, 3.0)
    assert machine.handle(DoorChanged(1, False, 10.0))[1] == ReadBattery(1)


def test_a_resumed_open_door_still_raises_its_alarm() -> None:
    bays, readings = sensors(1, OPEN, False)
    machine = SwapMachine(POLICY, lambda: Cabinet(bays, readings))
    recover(machine, record(S.AWAIT_RETURN), bays, readings, 3.0)
    assert machine.next_deadline() == 93.0


def test_a_closed_out_swap_leaves_the_machine_idle() -> None:
    bays, readings = sensors(1, CLOSED, False)
    machine = SwapMachine(POLICY, lambda: Cabinet(bays, readings))
    recover(machine, record(S.RETURN_EMPTY), bays, readings, 3.0)
    assert not machine.busy


# --- every state, every sensor reading --------------------------------------------------------

CASES = list(
    itertools.product(
        sorted(IN_FLIGHT, key=lambda s: s.value),
        [OPEN, CLOSED, DoorState.UNKNOWN],
        [True, False, None],
        [True, False],
    )
)


@pytest.mark.parametrize(("state", "door", "present", "fresh"), CASES)
def test_recovery_never_unlocks_more_than_the_flow_needs(
    state: SwapState, door: DoorState, present: bool | None, fresh: bool
) -> None:
    commands = run(state, door, present, fresh=fresh)
    assert isinstance(commands[0], Persist)
    new = commands[0].swap
    assert new is not None
    assert (new.state is S.ENDED) == (new.outcome is not None)
    unlocks = [c for c in commands if isinstance(c, Unlock)]
    if not unlocks:
        return
    # An unlock only repeats an interrupted one, only for a rider who may still be there, only on a closed
    # door, and only where it cannot hand a battery out twice.
    assert fresh
    assert door is CLOSED
    assert state in UNLOCKING
    assert new.state is state
    assert unlocks == [Unlock(new.current_bay or 0)]
    if state is S.OPENING_CHARGED:
        assert present is True, "re-offered a charged battery that is already gone"
