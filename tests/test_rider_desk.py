"""The rider desk on a running station: a simulated cabinet with goods bays, a real store, a hub over real HTTP.

Spends go to a fake hub on loopback (accepting, refusing, or too slow) or nowhere (sync off): the offline
rule decides then. What the rider gets is judged by the local API, the simulated cabinet (which locks were
pulsed) and the recorded events.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.errors import ConfigError, DeviceError
from kiosk.station.rider_session import RiderSession, SessionState
from kiosk.sync.protocol import PointsCorrection, SpendAnswer, SpendRequest
from tests.rider_support import (
    SNACK_BAY,
    WAIT,
    WATER_BAY,
    FakeHub,
    RiderStation,
    balance,
    booking_status,
    city_bundle,
    hub_sync,
    rider_config,
    start_rider_station,
)
from tests.support import wait_until

RIDER = "R1001"


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[RiderStation]:
    """A station that does not sync (every spend is decided offline), offline cap 10, stocked, with the city."""
    config = rider_config(tmp_path, policy={"offline_spend_cap_points": 10})
    for station in start_rider_station(tmp_path, config):
        station.restock(WATER_BAY, 5)
        station.restock(SNACK_BAY, 1)
        yield station


def online(tmp_path: Path, hub: FakeHub, **policy: Any) -> Iterator[RiderStation]:
    config = rider_config(tmp_path, policy={"offline_spend_cap_points": 10, **policy}, sync=hub_sync(hub, tmp_path))
    for station in start_rider_station(tmp_path, config):
        station.restock(WATER_BAY, 5)
        yield station


def accept(request: SpendRequest) -> SpendAnswer:
    return SpendAnswer(entry_id=request.entry_id, accepted=True, balance=77)


def refuse(request: SpendRequest) -> SpendAnswer:
    return SpendAnswer(entry_id=request.entry_id, accepted=False, balance=1, reason="not enough points")


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    server = FakeHub(accept)
    yield server
    server.close()


def redeem(station: RiderStation, item_id: str) -> dict[str, Any]:
    answer = station.post("/api/rider/redeem", {"item_id": item_id})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def stock(station: RiderStation) -> dict[str, int]:
    goods = station.running.tech.status()["components"]["rider"]["goods"]
    return {bay: int(g["count"]) for bay, g in goods.items()}


# --- offline ------------------------------------------------------------------------------------------


def test_an_offline_spend_the_balance_covers_opens_the_goods_bay_and_is_recorded(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 40)]))
    offline.identify(RIDER)
    answer = redeem(offline, "water")
    assert (answer["ok"], answer["bay"], answer["confirmed"], answer["balance"]) == (True, WATER_BAY, False, 37)
    wait_until(lambda: WATER_BAY in offline.sim.pulses, WAIT, "the water bay's lock pulsed")
    spent = offline.events("points.spent")
    assert [(e["payload"]["item_id"], e["payload"]["bay"], e["payload"]["confirmed"]) for e in spent] == [
        ("water", WATER_BAY, False)
    ]
    assert stock(offline)[str(WATER_BAY)] == 4
    assert offline.running.tech.screen()["name"] == "points.take_item"


def test_shutting_the_goods_door_after_taking_the_item_brings_the_riders_screen_back(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 40)]))
    offline.identify(RIDER)
    assert redeem(offline, "water")["ok"] is True
    wait_until(lambda: offline.sim.door_open(WATER_BAY), WAIT, "the water bay's door open")
    assert offline.running.tech.screen()["name"] == "points.take_item"
    offline.sim.close_door(WATER_BAY)
    shown = wait_until(
        lambda: (s := offline.running.tech.screen())["name"] == "rider" and s, WAIT, "the rider's screen back"
    )
    assert shown["params"]["rider_id"] == RIDER
    assert offline.rider()["balance"] == 37


def test_offline_spends_beyond_the_cap_are_refused_and_open_nothing(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 100)]))
    offline.identify(RIDER)
    assert [redeem(offline, "water")["ok"] for _ in range(2)] == [True, True]
    third = redeem(offline, "water")
    assert (third["ok"], third["reason"]) == (False, "offline_cap")
    assert third["message_en"]
    assert third["message_zh"]
    assert offline.rider()["offline_cap_left"] == 0
    assert len(offline.events("points.spent")) == 2
    assert stock(offline)[str(WATER_BAY)] == 3


def test_a_spend_beyond_the_balance_is_refused(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 8)]))
    offline.identify(RIDER)
    assert redeem(offline, "snack")["reason"] == "not_enough_points"


def test_a_balance_never_known_refuses_offline_spends(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001"))
    offline.identify(RIDER)
    answer = redeem(offline, "water")
    assert (answer["ok"], answer["reason"], answer["balance"]) == (False, "balance_unknown", None)


def test_the_codes_points_snapshot_is_the_balance_when_it_is_newer(offline: RiderStation) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 100, as_of=an_hour_ago)]))
    offline.identify(RIDER, points=20)
    view = offline.rider()
    assert (view["balance"], view["pending"], view["checked_in_today"]) == (22, 2, True)


def test_the_last_item_is_out_of_stock_afterwards(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 100)]))
    offline.identify(RIDER)
    assert redeem(offline, "snack")["ok"] is False  # 12 points: beyond the offline cap of 10
    offline.restock(SNACK_BAY, 0)
    assert redeem(offline, "snack")["reason"] == "out_of_stock"
    assert redeem(offline, "cable")["reason"] == "out_of_stock"  # in the catalogue, in no bay here
    assert redeem(offline, "gold")["reason"] == "unknown_item"


# --- the lock fails -------------------------------------------------------------------------------------


def test_a_goods_bay_that_does_not_open_gives_the_points_and_the_item_back(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 40)]))
    offline.identify(RIDER)

    async def jammed(bay: int) -> None:
        raise DeviceError(f"bay {bay}: the lock board did not confirm the unlock")

    offline.station.cabinet.unlock = jammed  # the lock fails at the driver seam
    answer = redeem(offline, "water")
    assert (answer["ok"], answer["reason"], answer["balance"]) == (False, "bay_fault", 42)
    spent, cancelled = offline.events("points.spent"), offline.events("points.spend_cancelled")
    assert [c["payload"]["entry_id"] for c in cancelled] == [s["payload"]["entry_id"] for s in spent]
    assert spent[0]["seq"] < cancelled[0]["seq"]
    assert stock(offline)[str(WATER_BAY)] == 5
    assert offline.rider()["offline_cap_left"] == 10


def test_a_goods_bay_whose_door_never_opens_gives_the_points_and_the_item_back(tmp_path: Path) -> None:
    config = rider_config(tmp_path, policy={"unlock_confirm_s": 0.5})
    for station in start_rider_station(tmp_path, config):
        station.restock(WATER_BAY, 2)
        station.apply(city_bundle("sim-001", balances=[balance(RIDER, 40)]))
        station.identify(RIDER)
        assert station.running.tech.sim("/faults", fault="lock_jammed", bay=WATER_BAY).status_code == 200
        answer = redeem(station, "water")
        assert (answer["ok"], answer["reason"]) == (False, "bay_fault")
        [cancelled] = station.events("points.spend_cancelled")
        assert "not seen open" in cancelled["payload"]["reason"]
        assert stock(station)[str(WATER_BAY)] == 2


# --- online ---------------------------------------------------------------------------------------------


def test_a_spend_the_hub_accepts_live_is_recorded_as_confirmed(tmp_path: Path, hub: FakeHub) -> None:
    for station in online(tmp_path, hub):
        station.apply(city_bundle("sim-001"))  # no balance known here: the hub's word is enough
        station.identify(RIDER)
        answer = redeem(station, "water")
        assert (answer["ok"], answer["confirmed"]) == (True, True)
        spent = station.events("points.spent")[0]["payload"]
        assert [(r.entry_id, r.rider_id, r.item_id, r.points) for r in hub.spends] == [
            (spent["entry_id"], RIDER, "water", 5)
        ]
        assert spent["confirmed"] is True
        assert station.rider()["offline_cap_left"] == 10


def test_a_spend_the_hub_refuses_live_is_refused_even_when_the_balance_covers_it(tmp_path: Path) -> None:
    hub = FakeHub(refuse)
    try:
        for station in online(tmp_path, hub):
            station.apply(city_bundle("sim-001", balances=[balance(RIDER, 100)]))
            station.identify(RIDER)
            answer = redeem(station, "water")
            assert (answer["ok"], answer["reason"]) == (False, "hub_refused")
            assert station.events("points.spent") == []
            assert WATER_BAY not in station.sim.pulses
    finally:
        hub.close()


def test_a_hub_too_slow_to_answer_leaves_the_spend_to_the_offline_rule(tmp_path: Path) -> None:
    hub = FakeHub(lambda request: None)
    try:
        for station in online(tmp_path, hub, spend_confirm_timeout_s=0.3):
            station.apply(city_bundle("sim-001", balances=[balance(RIDER, 40)]))
            station.identify(RIDER)
            answer = redeem(station, "water")
            assert (answer["ok"], answer["confirmed"]) == (True, False)
            assert len(hub.spends) == 1
            assert station.events("points.spent")[0]["payload"]["entry_id"] == hub.spends[0].entry_id
    finally:
        hub.close()


# --- earning ----------------------------------------------------------------------------------------------


def test_the_first_code_of_the_day_earns_the_check_in_once(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 10)]))
    offline.identify(RIDER)
    offline.post("/api/rider/end")
    offline.identify(RIDER, scope="entry")
    earned = [
        (e["payload"]["rider_id"], e["payload"]["rule"], e["payload"]["points"])
        for e in offline.events("points.earned")
    ]
    assert earned == [(RIDER, "checkin", 2)]
    assert offline.rider()["balance"] == 12


def test_a_swap_code_opens_a_session_and_earns_the_check_in(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001"))
    offline.sim.scan(offline.code("R2002"))
    wait_until(lambda: offline.events("points.earned"), WAIT, "the check-in")
    assert offline.rider()["rider_id"] == "R2002"


def test_without_a_checkin_rule_nothing_is_earned(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", points_rules=[]))
    offline.identify(RIDER)
    assert offline.events("points.earned") == []
    assert offline.rider()["checked_in_today"] is False


# --- swaps and goods bays ------------------------------------------------------------------------------


def test_goods_bays_never_take_part_in_a_swap(offline: RiderStation) -> None:
    view = offline.call(offline.station.controller._cabinet_view)
    assert {WATER_BAY, SNACK_BAY} & (set(view.bays) | set(view.readings)) == set()


def test_the_identified_rider_starts_a_swap_without_scanning_again(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001"))
    offline.identify(RIDER)
    assert offline.post("/api/rider/swap").status_code == 202
    swap = wait_until(offline.running.tech.swap, WAIT, "the swap under way")
    assert swap is not None
    assert swap["rider_id"] == RIDER
    again = offline.post("/api/rider/swap")
    assert again.status_code == 409


def charged_bays(station: RiderStation) -> list[int]:
    """Battery bays of the simulated world holding a battery at 95 % or more (charged by the sim's policy)."""
    bays = station.running.tech.world()["bays"]
    return [b["bay"] for b in bays if b.get("battery") and b["battery"]["soc_pct"] >= 95.0]


def swappable(station: RiderStation) -> int:
    """What the station counts as swappable now (its status)."""
    return int(station.running.tech.status()["components"]["station"]["charged_batteries"])


def test_a_swap_asked_for_with_no_charged_battery_is_refused_in_words_and_uses_nothing(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001"))
    tech = offline.running.tech
    assert swappable(offline) > 0
    for bay in charged_bays(offline):  # charged but too hot to hand out: none is swappable
        assert tech.sim("/faults", fault="battery_hot", bay=bay).status_code == 200
    wait_until(lambda: swappable(offline) == 0, WAIT, "no battery swappable")
    offline.identify(RIDER)
    refused = offline.post("/api/rider/swap")
    assert refused.status_code == 409
    assert refused.json()["reason"] == "no_charged_battery"
    assert "no charged battery here now" in refused.json()["error"]
    assert tech.swap() is None
    assert offline.sim.pulses == []
    assert offline.events("swap.refused") == []  # not even a refused swap: nothing of the rider's was used
    offline.sim.tick(3600.0)  # an hour on the chargers: the cool batteries fill up
    wait_until(lambda: swappable(offline) > 0, WAIT, "a battery charged")
    assert offline.post("/api/rider/swap").status_code == 202  # the same session's code still starts one
    swap = wait_until(tech.swap, WAIT, "the swap under way")
    assert swap is not None
    assert swap["rider_id"] == RIDER


def test_an_entry_code_cannot_start_a_swap(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001"))
    offline.identify(RIDER, scope="entry")
    answer = offline.post("/api/rider/swap")
    assert answer.status_code == 409
    assert "swap" in answer.json()["error"]


def test_restocking_a_battery_bay_is_refused(offline: RiderStation) -> None:
    with pytest.raises(ValueError, match="not a goods bay"):
        offline.restock(1, 3)


# --- the hub's word, restarts ------------------------------------------------------------------------------


def test_a_correction_is_shown_once(offline: RiderStation) -> None:
    correction = PointsCorrection(
        entry_id="spend-elsewhere-1",
        station_id="other-1",
        item_id="water",
        points=5,
        at=datetime.now(UTC),
        reason="already spent at another station",
    )
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, -5, corrections=[correction])]))
    offline.identify(RIDER)
    assert [c["entry_id"] for c in offline.rider()["corrections"]] == ["spend-elsewhere-1"]
    assert [c["entry_id"] for c in offline.rider()["corrections"]] == ["spend-elsewhere-1"]  # all this session
    offline.post("/api/rider/end")
    offline.identify(RIDER)
    assert offline.rider()["corrections"] == []


def test_the_hubs_answer_to_a_booking_reaches_the_rider(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001"))
    offline.identify(RIDER)
    booking = offline.post("/api/rider/bookings", {"service_id": "legal-aid", "slot_id": "slot-1"}).json()
    offline.apply(
        city_bundle("sim-001", bookings=[booking_status(booking["booking_id"], RIDER, "confirmed", "Room 2")])
    )
    [mine] = offline.rider()["bookings"]
    assert (mine["booking_id"], mine["status"], mine["note"]) == (booking["booking_id"], "confirmed", "Room 2")


def test_a_bundle_for_another_station_is_refused(offline: RiderStation) -> None:
    with pytest.raises(ConfigError, match="other-9"):
        offline.apply(city_bundle("other-9"))


def test_a_restart_keeps_stock_points_bookings_and_content(offline: RiderStation) -> None:
    offline.apply(city_bundle("sim-001", balances=[balance(RIDER, 40)]))
    offline.identify(RIDER)
    redeem(offline, "water")
    offline.post("/api/rider/bookings", {"service_id": "legal-aid", "slot_id": "slot-1"})
    before = offline.get("/api/content").json()
    offline.running.restart()
    assert offline.get("/api/content").json() == before
    assert stock(offline) == {str(WATER_BAY): 4, str(SNACK_BAY): 1}
    offline.identify(RIDER)
    view = offline.rider()
    assert (view["balance"], view["offline_cap_left"], len(view["bookings"])) == (37, 5, 1)
    assert len(offline.events("points.earned")) == 1


# --- the session, pure ---------------------------------------------------------------------------------------


def test_a_session_runs_out_without_a_touch_and_a_touch_keeps_it() -> None:
    session = RiderSession().identify(RIDER, 100.0, can_swap=True, nonce="00")
    assert not session.touch(150.0).expired(260.0, 120.0)
    assert session.expired(220.0, 120.0)


def test_the_wait_for_a_scan_ends_at_its_deadline() -> None:
    session = RiderSession().await_scan("points", 10.0, 60.0)
    assert (session.state, session.expired(69.0, 120.0), session.expired(70.0, 120.0)) == (
        SessionState.AWAITING_SCAN,
        False,
        True,
    )


def test_an_identification_keeps_the_purpose_asked_for() -> None:
    session = RiderSession().await_scan("feedback", 0.0, 60.0).identify(RIDER, 1.0, can_swap=False, nonce="00")
    assert (session.identified, session.purpose) == (True, "feedback")


def test_an_unknown_purpose_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown purpose"):
        RiderSession().await_scan("lottery", 0.0, 60.0)
