"""The safety supervisor through the real drivers: a simulated cabinet over ptys and mock pins.

Each test makes the simulated world go wrong (a pack running away, a hot pack, a BMS gone silent, smoke)
and judges the station by what reaches the devices — the slot controllers' charger register, the safety
pins, the lock board's unlock frames — and by the events it recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.errors import DeviceError
from kiosk.devices.sim.cabinet import CabinetSimKind
from tests.support import SimStation, sim_config, wait_until

WAIT = 10.0
"""Bound on waiting for the station to act (s)."""
BATTERY_BAYS = range(1, 9)
CHARGING_BAY = 2
"""The simulator's morning fills bay 2 with a half-charged pack (it charges)."""


class Cabinet(SimStation):
    """A running station and the simulated world it watches."""

    def __init__(self, tmp_path: Path, kind: CabinetSimKind = "kerong") -> None:
        super().__init__(sim_config(tmp_path, policy={"min_minutes_between_swaps": 0}), tmp_path, kind, WAIT)
        self.levels: dict[str, list[bool]] = {}
        wait_until(lambda: not self.safety()["outputs"]["mains_cut"], WAIT, "the chargers' mains switched on")

    def watch_pin(self, name: str) -> list[bool]:
        """Every level the safety pin ``name`` is driven to from now on."""
        pin = getattr(self.sim.hardware_config().safety, name)
        seen: list[bool] = []
        self.sim.pin_factory.pin(pin).watch(seen.append)
        return seen


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[Cabinet]:
    made = Cabinet(tmp_path)
    yield made
    made.close()


def test_a_cabinet_starts_with_every_charger_on_and_the_mains_switched_on_after_the_first_readings(
    cabinet: Cabinet,
) -> None:
    assert cabinet.sim.output_on("mains_pin")
    wait_until(lambda: cabinet.safety()["actions_done"] == 1 + len(BATTERY_BAYS), WAIT, "every charger written")
    assert all(cabinet.sim.charger_enabled(bay) for bay in BATTERY_BAYS)
    actions = [(e["payload"]["action"], e["payload"]["phase"]) for e in cabinet.tech.events("safety.action")]
    chargers = [
        (kind, phase) for _bay in BATTERY_BAYS for kind, phase in (("charger_on", "started"), ("charger_on", "done"))
    ]
    assert actions == [("mains_restore", "started"), ("mains_restore", "done"), *chargers]
    assert cabinet.sim.charger_writes() == [(bay, 1) for bay in BATTERY_BAYS]  # each written once, none twice
    assert cabinet.safety()["level"] == "normal"


def test_a_charger_the_last_station_left_off_is_switched_on_by_the_next_one(cabinet: Cabinet) -> None:
    """A slot controller keeps its register through a restart: a swap cut short by a kill held bay 3 off."""
    wait_until(lambda: cabinet.safety()["actions_done"] == 1 + len(BATTERY_BAYS), WAIT, "every charger written")
    cabinet.running.stop()
    cabinet.sim.leave_charger(3, False)
    cabinet.running.start()
    cabinet.tech = cabinet.running.tech
    wait_until(lambda: cabinet.sim.charger_enabled(3), WAIT, "bay 3's charger switched on again")
    assert cabinet.safety()["chargers_held"] == []


def test_a_pack_running_away_stops_every_charger_and_cuts_the_mains(cabinet: Cabinet) -> None:
    assert cabinet.tech.sim("/faults", fault="thermal_runaway", bay=1, on=True).status_code == 200
    cabinet.sim.tick(200)  # slow warming, then 2 °C/s: well past the fire limit
    wait_until(lambda: cabinet.safety()["level"] == "fire", WAIT, "the fire level")
    wait_until(lambda: not any(cabinet.sim.charger_enabled(b) for b in BATTERY_BAYS), WAIT, "every charger off")
    wait_until(lambda: not cabinet.sim.output_on("mains_pin"), WAIT, "the mains cut")

    changes = [(e["payload"]["bay"], e["payload"]["after"]) for e in cabinet.tech.events("safety.level_changed")]
    assert (1, "fire") in changes
    assert (None, "fire") in changes
    events = cabinet.tech.all_events()
    fire_seq = next(e["seq"] for e in events if e["type"] == "safety.level_changed" and e["payload"]["bay"] == 1)
    actions = [e for e in events if e["type"] == "safety.action" and e["seq"] > fire_seq]
    started = [(a["payload"]["action"], a["payload"]["bay"]) for a in actions if a["payload"]["phase"] == "started"]
    # the protective order: every charger, then the bay's extinguisher, then the mains
    assert started[:8] == [("charger_off", bay) for bay in BATTERY_BAYS]
    assert started[8:10] == [("extinguish_bay", 1), ("mains_cut", None)]
    # each action is on record as started before it is done
    for action in ("charger_off", "mains_cut"):
        phases = [a["payload"]["phase"] for a in actions if a["payload"]["action"] == action][:2]
        assert phases == ["started", "done"]


def test_no_unlock_frame_reaches_a_bay_in_alarm(cabinet: Cabinet) -> None:
    assert cabinet.tech.sim("/faults", fault="battery_hot", bay=3, on=True).status_code == 200
    wait_until(lambda: cabinet.safety()["bays"]["3"]["level"] == "alarm", WAIT, "bay 3 in alarm")
    assert "safety alarm" in (cabinet.tech.bay(3)["fault"] or "")
    pulses = len(cabinet.sim.pulses)

    with pytest.raises(DeviceError, match="safety alarm"):
        cabinet.running.loop.run(cabinet.running.station.cabinet.unlock(3))

    assert len(cabinet.sim.pulses) == pulses
    assert not cabinet.sim.charger_enabled(3)
    assert cabinet.sim.charger_enabled(4)
    assert cabinet.sim.output_on("fan_pin")


def test_a_reset_is_refused_while_the_pack_is_hot_and_accepted_once_it_cooled(cabinet: Cabinet) -> None:
    cabinet.tech.sim("/faults", fault="battery_hot", bay=3, on=True)
    wait_until(lambda: cabinet.safety()["bays"]["3"]["level"] == "alarm", WAIT, "bay 3 in alarm")
    with pytest.raises(DeviceError, match="still reads"):
        cabinet.running.loop.call(cabinet.running.station.cabinet.reset_fault, 3)

    cabinet.tech.sim("/faults", fault="battery_hot", bay=3, on=False)  # back to 25 °C, flag cleared

    def reset() -> bool:
        try:
            cabinet.running.loop.call(cabinet.running.station.cabinet.reset_fault, 3)
        except DeviceError:
            return False
        return True

    wait_until(reset, WAIT, "the reset accepted")
    assert cabinet.safety()["bays"]["3"]["level"] == "normal"
    wait_until(lambda: cabinet.sim.charger_enabled(3), WAIT, "bay 3 charging again")


def test_a_bms_falling_silent_while_charging_stops_that_charger_only(cabinet: Cabinet) -> None:
    assert cabinet.tech.bay(CHARGING_BAY)["battery"]["charger_state"] == "charging"
    cabinet.tech.sim("/faults", fault="bms_silent", bay=CHARGING_BAY, on=True)
    wait_until(lambda: not cabinet.sim.charger_enabled(CHARGING_BAY), WAIT, "the silent BMS's charger off")
    assert cabinet.safety()["bays"][str(CHARGING_BAY)]["level"] == "watch"
    assert all(cabinet.sim.charger_enabled(bay) for bay in BATTERY_BAYS if bay != CHARGING_BAY)


def test_smoke_releases_the_cabinet_extinguisher_and_stops_swaps(cabinet: Cabinet) -> None:
    released = cabinet.watch_pin("extinguisher_pin")
    cabinet.tech.sim("/faults", fault="smoke", on=True)
    wait_until(lambda: cabinet.safety()["cabinet"]["level"] == "fire", WAIT, "the cabinet in fire")
    wait_until(lambda: True in released, WAIT, "the extinguisher released")
    wait_until(lambda: not cabinet.sim.output_on("mains_pin"), WAIT, "the mains cut")
    assert not cabinet.safety()["swaps_allowed"]
    assert all("fire" in (cabinet.tech.bay(bay)["fault"] or "") for bay in BATTERY_BAYS)

    cabinet.tech.code("R1001")  # a rider scans a swap code in the middle of it
    wait_until(lambda: cabinet.tech.events("code.accepted") or cabinet.tech.events("code.refused"), WAIT, "")
    assert cabinet.tech.swap() is None
