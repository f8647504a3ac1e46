"""The battery-safety rules (kiosk/station/safety.py): levels, rise rates, hysteresis, latching, actions."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kiosk.core.safety_config import SafetyConfig
from kiosk.devices.base import BatteryReading
from kiosk.station.safety import (
    Action,
    ActionKind,
    BaySample,
    BayWatch,
    CabinetSample,
    CabinetWatch,
    Level,
    Outputs,
    Reason,
    SafetyState,
    apply_action,
    desired_outputs,
    plan_actions,
    reset_bay,
    reset_cabinet,
    step_bay,
    step_cabinet,
    transitions,
)

RULES = SafetyConfig()


def reading(temp: float = 30.0, *, charging: bool = True, **kw: object) -> BatteryReading:
    fields: dict[object, object] = {
        "bay": 1,
        "present": True,
        "battery_id": "CN00001234",
        "soc_pct": 60.0,
        "voltage_v": 50.0,
        "current_a": 5.0 if charging else 0.0,
        "temperature_c": temp,
        "charger_state": "charging" if charging else "idle",
    }
    fields.update(kw)
    return BatteryReading(**fields)  # type: ignore[arg-type]


def silent() -> BatteryReading:
    return BatteryReading(bay=1, present=False, error="no answer from slot controller 1")


def feed(
    samples: Iterable[tuple[float, BatteryReading]], watch: BayWatch | None = None, rules: SafetyConfig = RULES
) -> BayWatch:
    watch = watch or BayWatch(bay=1)
    for at, r in samples:
        watch = step_bay(watch, BaySample(at=at, reading=r), rules)
    return watch


def ramp(start_t: float, start_c: float, per_s: float, seconds: int, step_s: float = 1.0, **kw: object):
    """Readings every step_s seconds of a temperature rising per_s °C/s, rounded to whole degrees like a BMS."""
    count = int(seconds / step_s) + 1
    return [
        (start_t + i * step_s, reading(float(round(start_c + per_s * i * step_s)), **kw))  # type: ignore[arg-type]
        for i in range(count)
    ]


# --- temperatures ---------------------------------------------------------------------------------


def test_a_charging_pack_at_room_temperature_is_normal() -> None:
    watch = feed(ramp(0, 30, 0.0, 300))
    assert watch.level is Level.NORMAL
    assert watch.reasons == frozenset()


def test_a_charging_pack_above_the_charge_limit_is_watched() -> None:
    watch = feed([(0, reading(46.0))])
    assert watch.level is Level.WATCH
    assert Reason.TOO_HOT_TO_CHARGE in watch.reasons


def test_a_resting_pack_at_the_same_temperature_is_normal() -> None:
    watch = feed([(0, reading(46.0, charging=False))])
    assert watch.level is Level.NORMAL


def test_charging_below_freezing_is_watched() -> None:
    assert feed([(0, reading(-2.0))]).level is Level.WATCH


def test_a_pack_at_the_alarm_limit_is_an_alarm_whether_charging_or_not() -> None:
    assert feed([(0, reading(60.0))]).level is Level.ALARM
    assert feed([(0, reading(61.0, charging=False))]).level is Level.ALARM


def test_a_pack_at_the_fire_limit_is_a_fire() -> None:
    watch = feed([(0, reading(75.0, charging=False))])
    assert watch.level is Level.FIRE
    assert Reason.FIRE_TEMPERATURE in watch.reasons


# --- hysteresis and calm ----------------------------------------------------------------------------


def test_a_pack_hovering_at_the_charge_limit_does_not_flap() -> None:
    temps = [45.5, 44.6, 45.2, 44.1, 45.3, 43.0, 44.9, 42.5] * 10
    levels = {feed([(i * 2.0, reading(t)) for i, t in enumerate(temps[: n + 1])]).level for n in range(len(temps))}
    assert levels == {Level.WATCH}


def test_the_charge_limit_clears_only_below_the_hysteresis_and_after_the_calm_time() -> None:
    watch = feed([(0, reading(46.0))])
    watch = feed([(10, reading(43.0, charging=False))], watch)  # below 45 but not below 42: still hot
    assert Reason.TOO_HOT_TO_CHARGE in watch.active
    watch = feed([(20, reading(41.0, charging=False))], watch)  # cleared now: the calm time starts
    assert watch.active == frozenset()
    assert watch.level is Level.WATCH
    watch = feed([(20 + RULES.calm_s - 1, reading(40.0, charging=False))], watch)
    assert watch.level is Level.WATCH
    watch = feed([(20 + RULES.calm_s, reading(40.0, charging=False))], watch)
    assert watch.level is Level.NORMAL


def test_a_new_finding_during_the_calm_time_restarts_it() -> None:
    watch = feed([(0, reading(46.0)), (10, reading(40.0, charging=False))])
    watch = feed([(100, reading(46.0, charging=True))], watch)
    watch = feed([(110, reading(40.0, charging=False)), (10 + RULES.calm_s + 1, reading(40.0, charging=False))], watch)
    assert watch.level is Level.WATCH


def test_an_alarm_latches_until_staff_reset_it() -> None:
    watch = feed([(0, reading(62.0)), (10, reading(40.0, charging=False)), (10_000, reading(25.0, charging=False))])
    assert watch.level is Level.ALARM
    cleared = reset_bay(watch)
    assert cleared is not None
    assert cleared.level is Level.NORMAL


def test_a_reset_is_refused_while_the_pack_is_still_too_hot() -> None:
    watch = feed([(0, reading(62.0)), (10, reading(58.0, charging=False))])  # 58 is within the hysteresis
    assert reset_bay(watch) is None


def test_a_reset_of_a_fire_leaves_what_the_readings_still_call_for() -> None:
    watch = feed([(0, reading(80.0)), (600, reading(52.0, charging=False))])
    cleared = reset_bay(watch)
    assert cleared is not None
    assert cleared.level is Level.WATCH
    assert Reason.STORAGE_HOT in cleared.reasons


# --- rise rate and thermal runaway ----------------------------------------------------------------


def test_normal_charging_heat_is_no_rise() -> None:
    # 0.3 °C/min for 20 minutes, whole-degree readings every 2 s
    watch = feed(ramp(0, 25, 0.3 / 60, 1200, step_s=2.0))
    assert watch.level is Level.NORMAL


def test_one_step_of_the_sensor_is_no_rise() -> None:
    watch = feed([(0, reading(30.0)), (30, reading(30.0)), (31, reading(31.0))])
    assert watch.level is Level.NORMAL


def test_a_rise_of_two_degrees_a_minute_is_watched() -> None:
    watch = feed(ramp(0, 25, 2.0 / 60, 90, step_s=2.0))
    assert watch.level is Level.WATCH
    assert Reason.RISE_WATCH in watch.reasons


def test_a_rise_of_four_degrees_a_minute_is_an_alarm_well_below_the_alarm_temperature() -> None:
    samples = ramp(0, 25, 4.0 / 60, 90, step_s=2.0)
    watch = feed(samples)
    assert samples[-1][1].temperature_c is not None
    assert samples[-1][1].temperature_c < RULES.charge_watch_c
    assert watch.level is Level.ALARM
    assert Reason.RISE_ALARM in watch.reasons


def test_a_rise_is_not_judged_before_half_the_window_has_passed() -> None:
    watch = feed([(0, reading(30.0)), (10, reading(33.0))])
    assert Reason.RISE_ALARM not in watch.active
    assert Reason.RISE_WATCH not in watch.active


def test_thermal_runaway_is_a_fire_below_the_fire_temperature() -> None:
    watch = feed(ramp(0, 40, 1.5, 4))
    assert watch.level is Level.FIRE
    assert Reason.THERMAL_RUNAWAY in watch.reasons


def test_one_glitch_followed_by_a_flat_line_is_not_a_runaway() -> None:
    watch = feed([(0, reading(35.0)), (1, reading(41.0)), (2, reading(41.0)), (3, reading(41.0)), (4, reading(41.0))])
    assert Reason.THERMAL_RUNAWAY not in watch.reasons
    assert watch.level < Level.FIRE


def test_runaway_after_a_slow_rise_is_caught() -> None:
    slow = ramp(0, 30, 1.5 / 60, 300, step_s=2.0)
    fast = ramp(302, slow[-1][1].temperature_c or 0, 2.0, 4)
    assert feed(slow + fast).level is Level.FIRE


# --- electrical --------------------------------------------------------------------------------------


def test_a_silent_bms_while_charging_is_watched_after_the_silent_time() -> None:
    watch = feed([(0, reading(30.0)), (5, silent()), (RULES.silent_watch_s - 1, silent())])
    assert watch.level is Level.NORMAL
    watch = feed([(RULES.silent_watch_s, silent())], watch)
    assert watch.level is Level.WATCH
    assert Reason.BMS_SILENT in watch.reasons


def test_a_silent_controller_of_a_resting_pack_is_not_a_safety_level() -> None:
    watch = feed([(0, reading(30.0, charging=False)), (100, silent())])
    assert watch.level is Level.NORMAL


@pytest.mark.parametrize(
    ("fields", "level", "reason"),
    [
        ({"voltage_v": 56.0}, Level.ALARM, Reason.OVER_VOLTAGE),
        ({"voltage_v": 35.0}, Level.WATCH, Reason.UNDER_VOLTAGE),
        ({"current_a": 20.0}, Level.ALARM, Reason.OVER_CURRENT),
        ({"current_a": -20.0}, Level.ALARM, Reason.OVER_CURRENT),
        ({"fault_flags": frozenset({"short_circuit"})}, Level.ALARM, Reason.BMS_FAULT),
        ({"fault_flags": frozenset({"bms_comms_lost"})}, Level.WATCH, Reason.BMS_FAULT),
        ({"fault_flags": frozenset({"unknown_fault_bit_9"})}, Level.WATCH, Reason.BMS_FAULT),
    ],
)
def test_electrical_limits(fields: dict[str, object], level: Level, reason: Reason) -> None:
    watch = feed([(0, reading(30.0, **fields))])
    assert watch.level is level
    assert reason in watch.reasons


def test_the_voltage_window_follows_the_pack_chemistry() -> None:
    r = reading(30.0, voltage_v=56.0)
    nmc = step_bay(BayWatch(bay=1), BaySample(at=0, reading=r), RULES)
    lfp = step_bay(BayWatch(bay=1), BaySample(at=0, reading=r, chemistry="lfp-16s"), RULES)
    assert nmc.level is Level.ALARM
    assert lfp.level is Level.NORMAL


def test_cell_imbalance_where_the_map_reports_cells() -> None:
    def level(cells: tuple[float, ...]) -> Level:
        return step_bay(BayWatch(bay=1), BaySample(at=0, reading=reading(), cells_mv=cells), RULES).level

    assert level((3900, 3950, 3920)) is Level.NORMAL
    assert level((3900, 4100, 3920)) is Level.WATCH
    assert level((3500, 4100, 3920)) is Level.ALARM


# --- the cabinet, outputs and actions -------------------------------------------------------------


def state_with(*watches: BayWatch, cabinet: CabinetWatch | None = None) -> SafetyState:
    bays = {w.bay: w for w in watches}
    cab = cabinet or step_cabinet(CabinetWatch(), None, bays.values(), 0, RULES)
    return SafetyState(bays=bays, cabinet=cab)


def test_smoke_is_a_fire_of_the_cabinet() -> None:
    cabinet = step_cabinet(CabinetWatch(), CabinetSample(at=0, smoke=True), [], 0, RULES)
    assert cabinet.level is Level.FIRE
    state = state_with(BayWatch(bay=1), BayWatch(bay=2), cabinet=cabinet)
    assert not state.swaps_allowed()
    assert not state.unlock_allowed(1)
    out = desired_outputs(state, Outputs(), RULES)
    assert out == Outputs(charging_off=frozenset({1, 2}), fan=False, cabinet_extinguisher=True, mains_cut=True)


def test_a_bay_in_alarm_is_never_unlocked_and_the_cabinet_is_watched() -> None:
    hot = feed([(0, reading(62.0))])
    state = state_with(hot, BayWatch(bay=2))
    assert not state.unlock_allowed(1)
    assert state.unlock_allowed(2)
    assert state.swaps_allowed()
    assert state.cabinet.level is Level.WATCH


def test_a_bay_on_fire_sets_the_cabinet_on_fire() -> None:
    fire = feed([(0, reading(80.0))])
    state = state_with(fire, BayWatch(bay=2))
    assert state.cabinet.level is Level.FIRE
    assert Reason.BAY_FIRE in state.cabinet.reasons


def test_hot_cabinet_air_stops_all_charging() -> None:
    cabinet = step_cabinet(CabinetWatch(), CabinetSample(at=0, air_c=61.0), [], 0, RULES)
    state = state_with(BayWatch(bay=1), BayWatch(bay=2), cabinet=cabinet)
    out = desired_outputs(state, Outputs(), RULES)
    assert out.charging_off == {1, 2}
    assert out.fan
    assert not out.mains_cut


def test_the_fan_runs_at_fire_only_when_configured() -> None:
    fire = state_with(feed([(0, reading(80.0))]))
    assert not desired_outputs(fire, Outputs(), RULES).fan
    assert desired_outputs(fire, Outputs(), RULES.model_copy(update={"fan_at_fire": "on"})).fan


def test_actions_at_a_bay_fire_come_in_the_protective_order() -> None:
    fire = feed([(0, reading(80.0))])
    state = state_with(fire, BayWatch(bay=2))
    actions = plan_actions(Outputs(fan=True), desired_outputs(state, Outputs(fan=True), RULES))
    assert actions == [
        Action(ActionKind.CHARGER_OFF, 1),
        Action(ActionKind.CHARGER_OFF, 2),
        Action(ActionKind.EXTINGUISH_BAY, 1),
        Action(ActionKind.MAINS_CUT),
        Action(ActionKind.FAN_OFF),
    ]


def test_a_watched_bay_that_calms_down_charges_again() -> None:
    watch = feed([(0, reading(46.0))])
    applied = desired_outputs(state_with(watch), Outputs(), RULES)
    assert applied.charging_off == {1}
    calm = feed([(10, reading(40.0, charging=False)), (10 + RULES.calm_s, reading(40.0, charging=False))], watch)
    actions = plan_actions(applied, desired_outputs(state_with(calm), applied, RULES))
    assert actions == [Action(ActionKind.FAN_OFF), Action(ActionKind.CHARGER_ON, 1)]


def test_an_extinguisher_once_triggered_stays_triggered_after_a_reset() -> None:
    fire = feed([(0, reading(80.0))])
    applied = desired_outputs(state_with(fire), Outputs(), RULES)
    cooled = feed([(3600, reading(25.0, charging=False))], fire)
    cleared = reset_bay(cooled)
    assert cleared is not None
    cabinet = reset_cabinet(step_cabinet(state_with(fire).cabinet, None, [cleared], 3600, RULES))
    assert cabinet is not None
    after = desired_outputs(SafetyState(bays={1: cleared}, cabinet=cabinet), applied, RULES)
    assert after.extinguished_bays == {1}
    assert not after.mains_cut


def test_transitions_name_what_changed() -> None:
    before = state_with(BayWatch(bay=1))
    after = state_with(feed([(0, reading(62.0))]))
    changes = transitions(before, after)
    assert [(c.bay, c.before, c.after) for c in changes] == [
        (1, Level.NORMAL, Level.ALARM),
        (None, Level.NORMAL, Level.WATCH),
    ]


outputs_strategy = st.builds(
    Outputs,
    charging_off=st.frozensets(st.integers(1, 6)),
    fan=st.booleans(),
    extinguished_bays=st.frozensets(st.integers(1, 6)),
    cabinet_extinguisher=st.booleans(),
    mains_cut=st.booleans(),
)


@given(outputs_strategy, outputs_strategy)
def test_carrying_out_the_plan_reaches_the_desired_outputs(applied: Outputs, desired: Outputs) -> None:
    desired = Outputs(
        charging_off=desired.charging_off,
        fan=desired.fan,
        extinguished_bays=desired.extinguished_bays | applied.extinguished_bays,
        cabinet_extinguisher=desired.cabinet_extinguisher or applied.cabinet_extinguisher,
        mains_cut=desired.mains_cut,
    )
    out = applied
    for action in plan_actions(applied, desired):
        out = apply_action(out, action)
    assert out == desired


# --- the config -----------------------------------------------------------------------------------


def test_limits_out_of_order_are_refused() -> None:
    with pytest.raises(ValidationError, match="alarm_c"):
        SafetyConfig(alarm_c=40.0)
    with pytest.raises(ValidationError, match="default_chemistry"):
        SafetyConfig(default_chemistry="nimh")


def test_a_charger_of_unknown_state_is_written_as_desired_whatever_applied_claims() -> None:
    applied = Outputs(charging_off=frozenset({2}))
    desired = Outputs(charging_off=frozenset({1}))
    planned = plan_actions(applied, desired, unknown=frozenset({1, 3}))
    assert planned == [
        Action(ActionKind.CHARGER_OFF, 1),
        Action(ActionKind.CHARGER_ON, 2),
        Action(ActionKind.CHARGER_ON, 3),
    ]
    assert plan_actions(desired, desired, unknown=frozenset()) == []
