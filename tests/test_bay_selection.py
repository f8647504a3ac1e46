"""Bay selection and battery policy: which bay takes a return, which battery is handed out, which are refused."""

from __future__ import annotations

import pytest

from kiosk.core.config import PolicyConfig
from kiosk.devices.base import BatteryReading, BayState, DoorState, LockState
from kiosk.station.selection import (
    Cabinet,
    Plan,
    ReturnVerdict,
    StartRefusal,
    SwapPolicy,
    can_start,
    charged_candidates,
    holds_battery,
    is_charged,
    judge_return,
    return_candidates,
)

POLICY = SwapPolicy()


def bay(n: int, presence: bool | None = None, **kw: object) -> BayState:
    values: dict[str, object] = {"door": DoorState.CLOSED, "lock": LockState.LOCKED, "presence": presence}
    values.update(kw)
    return BayState(n, **values)  # type: ignore[arg-type]


def charged(n: int, soc: float = 98.0, **kw: object) -> BatteryReading:
    values: dict[str, object] = {"battery_id": f"AB{n:08d}", "soc_pct": soc, "temperature_c": 25.0}
    values.update(kw)
    return BatteryReading(n, True, **values)  # type: ignore[arg-type]


def empty(n: int) -> BatteryReading:
    return BatteryReading(n, False)


def cabinet(readings: list[BatteryReading], **kw: object) -> Cabinet:
    bays = {r.bay: bay(r.bay) for r in readings}
    return Cabinet(bays, {r.bay: r for r in readings}, **kw)  # type: ignore[arg-type]


# --- presence ---------------------------------------------------------------------------------


def test_presence_switch_alone_decides_when_there_is_no_controller() -> None:
    assert holds_battery(bay(1, presence=False), None) is False


def test_controller_alone_decides_when_there_is_no_switch() -> None:
    assert holds_battery(bay(1), charged(1)) is True


def test_disagreeing_sources_mean_unknown() -> None:
    assert holds_battery(bay(1, presence=False), charged(1)) is None


def test_a_reading_with_an_error_is_no_source() -> None:
    assert holds_battery(bay(1), BatteryReading(1, False, error="timeout")) is None


# --- return bay -------------------------------------------------------------------------------


def test_return_bay_is_an_empty_working_bay() -> None:
    assert return_candidates(cabinet([charged(1), empty(2)])) == [2]


def test_return_bay_prefers_the_least_recently_used() -> None:
    cab = cabinet([empty(1), empty(2), empty(3)], last_used={1: 50.0, 2: 10.0})
    assert return_candidates(cab) == [3, 2, 1]


@pytest.mark.parametrize(
    "state",
    [
        bay(1, fault="lock board 0 not answering"),
        bay(1, door=DoorState.OPEN),
        bay(1, door=DoorState.UNKNOWN),
        bay(1, lock=LockState.UNLOCKED),
    ],
    ids=["faulted", "door-open", "door-unknown", "lock-reports-unlocked"],
)
def test_return_bay_must_be_working(state: BayState) -> None:
    cab = Cabinet({1: state}, {1: empty(1)})
    assert return_candidates(cab) == []


def test_a_bay_without_lock_feedback_still_works() -> None:
    cab = Cabinet({1: bay(1, lock=LockState.UNKNOWN)}, {1: empty(1)})
    assert return_candidates(cab) == [1]


def test_return_bay_must_be_in_service() -> None:
    assert return_candidates(cabinet([empty(1)], out_of_service=frozenset({1}))) == []


def test_a_bay_of_unknown_contents_is_never_a_return_bay() -> None:
    assert return_candidates(Cabinet({1: bay(1)}, {})) == []


# --- charged bay ------------------------------------------------------------------------------


def test_charged_bays_rank_by_state_of_charge() -> None:
    assert charged_candidates(cabinet([charged(1, 96.0), charged(2, 99.0)]), POLICY) == [2, 1]


def test_equal_charge_goes_to_the_least_recently_used() -> None:
    cab = cabinet([charged(1, 97.0), charged(2, 97.0)], last_used={1: 5.0, 2: 100.0})
    assert charged_candidates(cab, POLICY) == [1, 2]


@pytest.mark.parametrize(
    "reading",
    [
        charged(1, 90.0),
        charged(1, temperature_c=46.0),
        charged(1, temperature_c=None),
        charged(1, fault_flags=frozenset({"over_voltage"})),
        charged(1, charger_state="fault"),
        charged(1, error="no reply"),
        charged(1, battery_id="zz-foreign"),
        charged(1, battery_id=None),
        empty(1),
    ],
    ids=["low-soc", "hot", "temp-unknown", "fault-flag", "charger-fault", "read-error", "foreign", "no-id", "absent"],
)
def test_batteries_that_are_never_handed_out(reading: BatteryReading) -> None:
    assert not is_charged(reading, POLICY)


def test_a_battery_at_the_threshold_is_charged() -> None:
    assert is_charged(charged(1, 95.0), POLICY)


def test_without_telemetry_a_battery_is_charged_after_resting_long_enough() -> None:
    policy = SwapPolicy(require_battery_id=False, assume_charged_after_s=3600.0)
    reading = BatteryReading(1, True)
    assert not is_charged(reading, policy, last_used=1000.0, now=4000.0)
    assert is_charged(reading, policy, last_used=1000.0, now=4600.0)


def test_a_charged_bay_whose_presence_switch_says_empty_is_skipped() -> None:
    cab = Cabinet({1: bay(1, presence=False)}, {1: charged(1)})
    assert charged_candidates(cab, POLICY) == []


# --- can_start --------------------------------------------------------------------------------


def test_can_start_names_both_bays() -> None:
    assert can_start(cabinet([empty(1), charged(2)]), POLICY) == Plan(return_bay=1, charged_bay=2)


def test_can_start_refuses_without_an_empty_bay() -> None:
    assert can_start(cabinet([charged(1), charged(2)]), POLICY) is StartRefusal.NO_EMPTY_BAY


def test_can_start_refuses_without_a_charged_battery() -> None:
    assert can_start(cabinet([empty(1), charged(2, 50.0)]), POLICY) is StartRefusal.NO_CHARGED_BATTERY


# --- returned battery -------------------------------------------------------------------------


def test_a_network_battery_without_faults_is_accepted() -> None:
    assert judge_return(charged(1, 10.0), POLICY) is ReturnVerdict.ACCEPTED


def test_a_hot_returned_battery_is_still_accepted() -> None:
    # It is refused for hand-out until it cools; refusing the return would leave the rider stuck with it.
    assert judge_return(charged(1, 10.0, temperature_c=50.0), POLICY) is ReturnVerdict.ACCEPTED


def test_a_battery_id_outside_the_pattern_is_foreign() -> None:
    assert judge_return(charged(1, battery_id="XYZ"), POLICY) is ReturnVerdict.FOREIGN


def test_a_battery_without_id_is_foreign_when_ids_are_required() -> None:
    assert judge_return(BatteryReading(1, True), POLICY) is ReturnVerdict.FOREIGN


def test_a_battery_without_id_is_accepted_on_presence_only_cabinets() -> None:
    assert judge_return(BatteryReading(1, True), SwapPolicy(require_battery_id=False)) is ReturnVerdict.ACCEPTED


def test_a_battery_reporting_a_fault_is_faulty() -> None:
    reading = charged(1, fault_flags=frozenset({"short"}))
    assert judge_return(reading, POLICY) is ReturnVerdict.FAULTY


def test_nothing_in_the_bay_is_absent() -> None:
    assert judge_return(empty(1), POLICY) is ReturnVerdict.ABSENT


def test_a_failed_read_is_unreadable() -> None:
    assert judge_return(BatteryReading(1, False, error="timeout"), POLICY) is ReturnVerdict.UNREADABLE


# --- policy -----------------------------------------------------------------------------------


def test_policy_takes_the_config_section_and_the_extra_fields() -> None:
    config = PolicyConfig(charged_soc_pct=90.0, insert_timeout_s=60.0)
    policy = SwapPolicy.from_config(config, min_minutes_between_swaps=5.0)
    assert (policy.charged_soc_pct, policy.insert_timeout_s, policy.min_minutes_between_swaps) == (90.0, 60.0, 5.0)


def test_a_bad_battery_id_pattern_fails_at_start() -> None:
    with pytest.raises(ValueError, match="unterminated"):
        SwapPolicy(battery_id_pattern="[A-Z")


def test_a_non_positive_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="insert_timeout_s"):
        SwapPolicy(insert_timeout_s=0)
