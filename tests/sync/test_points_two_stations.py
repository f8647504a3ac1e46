"""Points across two simulated stations and one real hub: live spends, offline spends, double-spend reconciliation.

Each station syncs through its own fault proxy, so one can be cut off from the hub (every connection reset)
while the other is not. Codes are issued by the hub and carry the rider's balance; the stations learn the
hub's keys, catalogue and balances from its bundles, exactly as in the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.cli import main as hub_cli
from hub.cli import write_token_file
from hub.codes import issue_code
from hub.content import Content
from hub.server import HubServer
from hub.storage import Storage
from hub.storage.points_models import EntryKind, EntryStatus
from kiosk.core.content import CatalogueItem, PointsRule
from tests.rider_support import SNACK_BAY, WAIT, RiderStation, rider_config
from tests.support import wait_until
from tests.sync.proxy import Fault, FaultProxy
from tests.sync.support import sync_config

RIDER = "R2024"
SNACK_POINTS = 8


@dataclass
class City:
    """The hub, its storage, and two stations each behind its own proxy."""

    storage: Storage
    a: RiderStation
    b: RiderStation
    proxy_a: FaultProxy
    proxy_b: FaultProxy


def _offline(proxy: FaultProxy) -> None:
    proxy.plan = lambda n, method, path: Fault.REFUSE


def _online(proxy: FaultProxy) -> None:
    proxy.plan = lambda n, method, path: Fault.PASS


def _sync_now(station: RiderStation) -> dict[str, Any]:
    answer = station.post("/api/sync/now")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _synced(station: RiderStation) -> None:
    """Run sync rounds until every event is at the hub and the latest bundle is in."""

    def drained() -> bool:
        status = _sync_now(station)
        return bool(status["ran"]) and station.running.tech.status()["store"]["unsynced_count"] == 0

    wait_until(drained, WAIT, "the station's events at the hub")
    _sync_now(station)  # one more round: the bundle made after the hub applied them


def _identify(station: RiderStation, storage: Storage) -> dict[str, Any]:
    """The rider scans a fresh code from the hub (carrying the hub's balance) to be known at ``station``."""
    assert station.post("/api/rider/identify", {"purpose": "points"}).status_code == 202
    station.sim.scan(issue_code(storage, RIDER, scope="swap").code)
    wait_until(lambda: station.get("/api/rider").status_code == 200, WAIT, "the rider identified")
    return station.rider()


def _redeem(station: RiderStation, item_id: str) -> dict[str, Any]:
    answer = station.post("/api/rider/redeem", {"item_id": item_id})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _end(station: RiderStation) -> None:
    assert station.post("/api/rider/end").status_code in (200, 204)


def _start(tmp_path: Path, name: str, proxy: FaultProxy, token_file: Path) -> RiderStation:
    config = rider_config(
        tmp_path / name,
        policy={"offline_spend_cap_points": 10, "spend_confirm_timeout_s": 2.0},
        sync=sync_config(proxy.url, token_file, bundle_s=0.2).model_dump(),
    )
    config = config.model_copy(update={"station": config.station.model_copy(update={"id": f"st-{name}"})})
    station = RiderStation(tmp_path / name, config, name=name)
    station.restock(SNACK_BAY, 3)
    return station


@pytest.fixture
def city(tmp_path: Path, hub: HubServer, hub_storage: Storage) -> Iterator[City]:
    assert hub_cli(["keys", "rotate", "--db", str(hub_storage.db.target)]) == 0
    hub_storage.load_content(
        Content(
            catalogue=[CatalogueItem(id="snack", name_zh="零食", name_en="Snack", points=SNACK_POINTS)],
            points_rules=[PointsRule(id="feedback", points=1)],
        )
    )
    tokens = {}
    for name, lat in (("a", 31.23), ("b", 31.24)):
        token = hub_storage.add_station(
            f"st-{name}", name=f"站{name}", name_en=f"Station {name}", latitude=lat, longitude=121.47
        )
        tokens[name] = tmp_path / f"token-{name}"
        write_token_file(tokens[name], token)
    hub_storage.credit_points(RIDER, 10, "community report: a broken charger reported", by="test")
    with FaultProxy((hub.host, hub.port)) as proxy_a, FaultProxy((hub.host, hub.port)) as proxy_b:
        a = _start(tmp_path, "a", proxy_a, tokens["a"])
        try:
            b = _start(tmp_path, "b", proxy_b, tokens["b"])
            try:
                for station in (a, b):
                    wait_until(lambda s=station: s.running.tech.status()["sync"]["bundle_generated"], WAIT, "bundle")
                yield City(hub_storage, a, b, proxy_a, proxy_b)
            finally:
                b.close()
        finally:
            a.close()


def _spends(storage: Storage) -> list[tuple[str | None, EntryStatus]]:
    entries = storage.ledger(rider_id=RIDER)
    return sorted((e.station_id, e.status) for e in entries if e.kind is EntryKind.SPENT)


def test_online_spends_are_confirmed_live_and_the_second_station_cannot_spend_the_same_points(city: City) -> None:
    first = _identify(city.a, city.storage)
    assert first["balance"] == 10
    answer = _redeem(city.a, "snack")
    assert (answer["ok"], answer["confirmed"], answer["bay"]) == (True, True, SNACK_BAY)
    assert city.storage.balance(RIDER) == 2

    _identify(city.b, city.storage)  # online, the hub has the last word (it knows of the spend at A)
    refused = _redeem(city.b, "snack")
    assert (refused["ok"], refused["reason"]) == (False, "hub_refused")
    assert city.storage.balance(RIDER) == 2
    assert SNACK_BAY not in city.b.sim.pulses

    _synced(city.a)
    assert _spends(city.storage) == [("st-a", EntryStatus.APPLIED)]  # the synced event did not spend twice


def test_the_same_points_spent_offline_at_two_stations_count_once_and_the_second_is_corrected(city: City) -> None:
    _offline(city.proxy_a)
    _offline(city.proxy_b)
    # Both stations know the rider has 10 points (the codes say so) and neither can ask the hub.
    for station in (city.a, city.b):
        seen = _identify(station, city.storage)
        assert seen["balance"] == 10
        answer = _redeem(station, "snack")
        assert (answer["ok"], answer["confirmed"], answer["balance"]) == (True, False, 2)
        wait_until(lambda s=station: SNACK_BAY in s.sim.pulses, WAIT, "the snack bay opened")
        _end(station)

    _online(city.proxy_a)
    _synced(city.a)
    _online(city.proxy_b)
    _synced(city.b)

    assert _spends(city.storage) == [("st-a", EntryStatus.APPLIED), ("st-b", EntryStatus.REJECTED)]
    assert city.storage.balance(RIDER) == 2

    at_b = _identify(city.b, city.storage)
    assert at_b["balance"] == 2
    assert at_b["pending"] == 0
    (correction,) = at_b["corrections"]
    assert (correction["station_id"], correction["item_id"], correction["points"]) == ("st-b", "snack", SNACK_POINTS)
    _end(city.b)

    at_a = _identify(city.a, city.storage)
    assert (at_a["balance"], at_a["pending"]) == (2, 0)
    # The correction belongs to the rider's account, so any station they visit may tell them (once per station).
    assert [c["station_id"] for c in at_a["corrections"]] == ["st-b"]


def test_a_batch_sent_again_after_a_lost_answer_spends_once(city: City) -> None:
    _offline(city.proxy_a)
    _identify(city.a, city.storage)
    assert _redeem(city.a, "snack")["ok"] is True
    # The hub stores the batch, then the answer is lost: the station sends the same events again.
    city.proxy_a.plan = lambda n, method, path: Fault.LOST_RESPONSE if path.endswith("/events") else Fault.PASS
    _sync_now(city.a)
    _online(city.proxy_a)
    _synced(city.a)
    assert _spends(city.storage) == [("st-a", EntryStatus.APPLIED)]
    assert city.storage.balance(RIDER) == 2


def test_offline_spends_stop_at_the_stations_cap_even_with_points_left(city: City) -> None:
    city.storage.credit_points(RIDER, 90, "community report: a flooded road reported", by="test")
    _offline(city.proxy_a)
    seen = _identify(city.a, city.storage)
    assert (seen["balance"], seen["offline_cap_left"]) == (100, 10)
    assert _redeem(city.a, "snack")["ok"] is True
    second = _redeem(city.a, "snack")
    assert (second["ok"], second["reason"]) == (False, "offline_cap")
    _online(city.proxy_a)
    again = _redeem(city.a, "snack")  # the hub answers: no cap applies to a confirmed spend
    assert (again["ok"], again["confirmed"]) == (True, True)


def test_points_earned_at_two_stations_on_one_day_count_as_often_as_the_rule_allows(city: City) -> None:
    _offline(city.proxy_a)
    _offline(city.proxy_b)
    for station in (city.a, city.b):
        _identify(station, city.storage)
        answer = station.post("/api/feedback", {"rating": 5, "topic": "cleanliness", "signed": True})
        assert answer.status_code == 201, answer.text
        assert answer.json()["points_earned"] == 1  # each station credits it: neither knows of the other
        assert station.rider()["balance"] == 11
        _end(station)

    for station, proxy in ((city.a, city.proxy_a), (city.b, city.proxy_b)):
        _online(proxy)
        _synced(station)

    earned = sorted((e.station_id, e.status) for e in city.storage.ledger(rider_id=RIDER) if e.kind is EntryKind.EARNED)
    assert earned == [("st-a", EntryStatus.APPLIED), ("st-b", EntryStatus.REJECTED)]
    assert city.storage.balance(RIDER) == 11
    assert _identify(city.b, city.storage)["balance"] == 11
