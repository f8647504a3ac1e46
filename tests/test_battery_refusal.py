"""A returned pack the registry refuses (unknown, retired, worn) is handed back uncharged — through real drivers.

The station runs on a simulated Kerong cabinet: the lock board and the Modbus slot controllers are ptys
with simulated devices speaking the real protocols. The station is judged by the unlock frames the lock
board received, the charger writes the slot controllers answered, the touchscreen (``/api/screen``) and
the events it recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.core.battery_registry import PackRow, encode_registry
from kiosk.devices.sim.batteries import RETIRED_ID, UNKNOWN_ID, WORN_SOH_PCT
from kiosk.sync.protocol import Bundle
from tests.battery_support import RIDERS_PACK, WAIT, return_refused_pack, screen_named, wait_state
from tests.support import SimStation, sim_config, wait_until

LONG = 60.0


class Station(SimStation):
    """A running station on a simulated Kerong cabinet."""

    def __init__(self, tmp_path: Path, *, registry: bool = True, slot_map: str = "kiosk") -> None:
        policy = {"min_minutes_between_swaps": 0, "insert_timeout_s": LONG, "collect_timeout_s": LONG}
        self.config = sim_config(tmp_path, policy=policy)
        if slot_map != "kiosk":
            slots = self.config.hardware.slots.model_copy(update={"map": slot_map})
            hardware = self.config.hardware.model_copy(update={"slots": slots})
            self.config = self.config.model_copy(update={"hardware": hardware})
        super().__init__(self.config, tmp_path, wait=WAIT)
        if registry:
            bundle = Bundle(
                station_id=self.config.station.id,
                generated_at=datetime.now(UTC),
                batteries=encode_registry(self.sim.registry_rows()),
            )
            self.running.loop.call(self.running.station.apply_bundle, bundle)


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    made = Station(tmp_path)
    yield made
    made.close()


@pytest.mark.parametrize(
    ("fault", "reason", "battery_id"),
    [
        ("foreign_battery", "unknown", UNKNOWN_ID),
        ("foreign_battery_retired", "retired", RETIRED_ID),
        ("foreign_battery_low_soh", "low_soh", RIDERS_PACK),
    ],
)
def test_a_refused_pack_is_handed_back_with_one_pulse_and_never_charged(
    station: Station, fault: str, reason: str, battery_id: str
) -> None:
    done = return_refused_pack(station.tech, station.sim, fault)

    # one pulse to put the pack in, exactly one more to take it back; no charged bay was opened
    assert done.pulses == [done.bay, done.bay]
    # the pack was never charged: no charger-enable write reached its bay while it was inside
    assert done.writes_while_inside == []
    assert done.charger_on_inside is False
    assert done.take_back["reason"] == reason
    assert done.take_back["battery_id"] == battery_id
    assert done.ended["outcome"] == ("foreign_battery" if reason == "unknown" else "refused_battery")
    assert done.ended["battery_left_in_bay"] is False

    [refused] = station.tech.events("battery.refused")
    payload = refused["payload"]
    assert (payload["reason"], payload["battery_id"], payload["bay"]) == (reason, battery_id, done.bay)
    assert payload["registry"] is not None
    if reason == "low_soh":
        assert payload["soh_pct"] == WORN_SOH_PCT
    assert station.tech.events("swap.charged_chosen") == []
    assert station.tech.events("swap.completed") == []


def test_the_refusal_is_on_disk_before_the_take_back_pulse(station: Station) -> None:
    return_refused_pack(station.tech, station.sim, "foreign_battery_retired")
    types = [e["type"] for e in station.tech.all_events() if e["type"].startswith(("swap.", "battery."))]
    refused_at = types.index("battery.refused")
    # refusal, rejection and the take-back unlock intent are one transaction, written before the pulse
    assert types[refused_at - 1 : refused_at + 3] == [
        "swap.door_closed",
        "battery.refused",
        "swap.battery_rejected",
        "swap.bay_unlocking",
    ]


def test_a_refused_pack_left_behind_takes_its_bay_out_of_service_with_the_charger_off(station: Station) -> None:
    tech, sim = station.tech, station.sim
    assert tech.sim("/faults", fault="foreign_battery_retired", on=True).status_code == 200
    tech.code("R-leaves")
    bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
    wait_state(tech, "await_return")
    # the first readings write every charger once, as the rules want it then (an empty bay: on); what
    # counts is that nothing turns this bay's charger on from the moment the refused pack goes in
    writes_before = len(sim.charger_writes())
    assert tech.sim(f"/bays/{bay}/insert", battery_id=RIDERS_PACK).status_code == 200
    assert tech.sim(f"/bays/{bay}/close-door").status_code == 200
    wait_state(tech, "await_take_back")
    assert tech.sim(f"/bays/{bay}/close-door").status_code == 200  # shut again without taking it

    wait_until(lambda: str(bay) in tech.status()["components"]["station"]["out_of_service"], WAIT, "out of service")
    assert tech.status()["components"]["safety"]["chargers_held"] == [bay]
    assert not sim.charger_enabled(bay)
    assert (bay, 1) not in sim.charger_writes()[writes_before:]


def test_an_accepted_pack_gets_its_charger_back_once_it_is_accepted(station: Station) -> None:
    tech, sim = station.tech, station.sim
    tech.code("R-fine")
    bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
    wait_state(tech, "await_return")
    wait_until(lambda: not sim.charger_enabled(bay), WAIT, f"bay {bay}'s charger held off")
    assert tech.sim(f"/bays/{bay}/insert", battery_id=RIDERS_PACK, soc_pct=15.0).status_code == 200
    assert tech.sim(f"/bays/{bay}/close-door").status_code == 200
    screen_named(tech, "swap.take_charged")
    wait_until(lambda: sim.charger_enabled(bay), WAIT, f"bay {bay} charging the accepted pack")
    [returned] = tech.events("swap.battery_returned")
    assert returned["payload"]["unverified"] is False
    assert returned["payload"]["soh_pct"] is not None


def test_a_station_without_a_registry_accepts_the_pack_and_flags_it_unverified(tmp_path: Path) -> None:
    fresh = Station(tmp_path, registry=False)
    try:
        tech = fresh.tech
        assert tech.status()["components"]["station"]["battery_registry"] == {
            "received": False,
            "returned_batteries": "accept",
        }
        assert tech.sim("/faults", fault="foreign_battery", on=True).status_code == 200
        tech.code("R-fresh")
        bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
        wait_state(tech, "await_return")
        assert tech.sim(f"/bays/{bay}/insert", battery_id=RIDERS_PACK).status_code == 200
        assert tech.sim(f"/bays/{bay}/close-door").status_code == 200
        screen_named(tech, "swap.take_charged")
        [returned] = tech.events("swap.battery_returned")
        assert (returned["payload"]["battery_id"], returned["payload"]["unverified"]) == (UNKNOWN_ID, True)
        assert tech.events("battery.refused") == []
    finally:
        fresh.close()


def test_a_jk_bms_style_cabinet_refuses_a_worn_pack_the_same_way(tmp_path: Path) -> None:
    jk = Station(tmp_path, slot_map="jk-bms")  # serial from 0x1400, SoH at 0x125C, 32-bit cycles, 115200 baud
    try:
        done = return_refused_pack(jk.tech, jk.sim, "foreign_battery_low_soh")
        assert done.pulses == [done.bay, done.bay]
        assert done.writes_while_inside == []
        [refused] = jk.tech.events("battery.refused")
        assert (refused["payload"]["reason"], refused["payload"]["soh_pct"]) == ("low_soh", WORN_SOH_PCT)
    finally:
        jk.close()


def test_the_safety_rules_take_each_packs_chemistry_from_the_registry_in_the_bundle(tmp_path: Path) -> None:
    made = Station(tmp_path, registry=False)
    try:
        station = made.running.station
        assert station.chemistry_of(RIDERS_PACK) is None  # no registry yet: the configured default
        others = (row for row in made.sim.registry_rows() if row.battery_id != RIDERS_PACK)
        rows = [PackRow(RIDERS_PACK, "LF-60V", "lfp-16s", retired=False), *others]
        now = datetime.now(UTC)
        bundle = Bundle(station_id=made.config.station.id, generated_at=now, batteries=encode_registry(rows))
        made.running.loop.call(station.apply_bundle, bundle)
        assert made.running.loop.call(station.chemistry_of, RIDERS_PACK) == "lfp-16s"
        assert made.running.loop.call(station.chemistry_of, UNKNOWN_ID) is None
    finally:
        made.close()
