"""Attacks of a malicious station on the hub's points, over real HTTP on both engines: the hub decides
what an event is worth and on which day, and flags the claims that disagree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.content import Content
from hub.fleet import gather
from hub.fleet_html import render_fleet
from hub.server import HubServer
from hub.storage import FlagKind, Storage
from hub.storage.points_models import EntryKind, EntryStatus
from kiosk.core.events import EventRecord
from kiosk.sync.protocol import CatalogueItem, PointsRule, SpendRequest
from tests.hub.conftest import HUB_NOW
from tests.hub.support import post_events, record


@pytest.fixture
def token(storage: Storage) -> str:
    """Station st-a's token, in a city with a check-in rule (3 points once a day) and water at 5 points."""
    storage.load_content(
        Content(
            points_rules=[PointsRule(id="checkin", points=3, per_day=1)],
            catalogue=[CatalogueItem(id="water", name_zh="水", name_en="Water", points=5)],
        )
    )
    return storage.add_station("st-a", name="甲", name_en="A")


def event(
    seq: int, type_: str, *, synced: bool = True, wall_offset: timedelta | None = None, **payload: Any
) -> EventRecord:
    wall = None if wall_offset is None else HUB_NOW + wall_offset
    return record("st-a", seq, type_=type_, payload=payload, wall=wall, synced=synced)


def checkin(seq: int, entry: str, *, points: int = 3, day: str = "2026-03-10", **kw: Any) -> EventRecord:
    body: dict[str, Any] = {"entry_id": entry, "rider_id": "r-1", "rule": "checkin", "points": points, "day": day}
    return event(seq, "points.earned", **body, **kw)


def test_a_million_points_claimed_by_a_station_earn_nothing_and_are_flagged(
    hub: HubServer, token: str, storage: Storage
) -> None:
    answer = post_events(hub.url, token, "st-a", [checkin(1, "earn-mint-01", points=1_000_000)])
    assert answer.status_code == 200
    assert answer.json()["accepted"] == [record("st-a", 1).id]  # stored: the record of what the station said
    assert storage.balance("r-1") == 0
    entry = storage.ledger(rider_id="r-1")[0]
    assert entry.status is EntryStatus.REJECTED
    assert "claimed 1000000 points" in entry.reason
    [flag] = storage.flags(station_id="st-a")
    assert flag.kind is FlagKind.POINTS_MISMATCH
    page = render_fleet(gather(storage))
    assert "1 flagged event" in page
    assert "claimed 1000000 points" in page


def test_ten_checkins_with_made_up_days_credit_one_per_hub_day(hub: HubServer, token: str, storage: Storage) -> None:
    events = [checkin(i + 1, f"earn-day-{i:02d}", day=f"2026-02-{i + 1:02d}") for i in range(10)]
    assert post_events(hub.url, token, "st-a", events).status_code == 200
    assert storage.balance("r-1") == 3
    applied = [e for e in storage.ledger(rider_id="r-1") if e.status is EntryStatus.APPLIED]
    assert len(applied) == 1


def test_checkins_on_an_unsynchronised_clock_count_on_the_day_the_hub_received_them(
    hub: HubServer, token: str, storage: Storage
) -> None:
    # A clock that was never synchronised may say anything: ten different days, one boot, no anchor.
    events = [checkin(i + 1, f"earn-clk-{i:02d}", synced=False, wall_offset=timedelta(days=-i)) for i in range(10)]
    assert post_events(hub.url, token, "st-a", events).status_code == 200
    assert storage.balance("r-1") == 3


def test_checkins_placed_in_the_future_count_on_the_day_the_hub_received_them(
    hub: HubServer, token: str, storage: Storage
) -> None:
    events = [checkin(i + 1, f"earn-fut-{i:02d}", wall_offset=timedelta(days=i)) for i in range(5)]
    assert post_events(hub.url, token, "st-a", events).status_code == 200
    assert storage.balance("r-1") == 3


def test_checkins_backdated_beyond_two_weeks_earn_nothing(hub: HubServer, token: str, storage: Storage) -> None:
    events = [checkin(i + 1, f"earn-old-{i:02d}", wall_offset=timedelta(days=-20 - i)) for i in range(3)]
    assert post_events(hub.url, token, "st-a", events).status_code == 200
    assert storage.balance("r-1") == 0
    assert "more than 14 days before" in storage.ledger(rider_id="r-1")[0].reason


def test_a_spend_is_charged_the_catalogue_price_not_the_stations_and_flagged(
    hub: HubServer, token: str, storage: Storage
) -> None:
    storage.credit_points("r-1", 20, "test", by="ops")
    spent: dict[str, Any] = {"entry_id": "spend-cheap-1", "rider_id": "r-1", "item_id": "water", "points": 1, "bay": 7}
    assert post_events(hub.url, token, "st-a", [event(1, "points.spent", **spent, confirmed=False)]).status_code == 200
    assert storage.balance("r-1") == 15
    [flag] = storage.flags(station_id="st-a")
    assert flag.kind is FlagKind.POINTS_MISMATCH
    assert "catalogue says 5" in flag.detail


def test_a_live_spend_under_the_catalogue_price_is_refused_and_flagged(storage: Storage, token: str) -> None:
    storage.credit_points("r-1", 20, "test", by="ops")
    request = SpendRequest(station_id="st-a", entry_id="spend-live-01", rider_id="r-1", item_id="water", points=1)
    answer = storage.spend_now("st-a", request)
    assert not answer.accepted
    assert "catalogue" in str(answer.reason)
    assert storage.balance("r-1") == 20
    assert [f.kind for f in storage.flags(station_id="st-a")] == [FlagKind.POINTS_MISMATCH]


def test_an_honest_checkin_still_earns_the_rules_points(hub: HubServer, token: str, storage: Storage) -> None:
    assert post_events(hub.url, token, "st-a", [checkin(1, "earn-ok-001")]).status_code == 200
    assert storage.balance("r-1") == 3
    assert storage.ledger(rider_id="r-1")[0].kind is EntryKind.EARNED
    assert storage.flags() == []


def test_one_code_nonce_at_two_stations_is_flagged(hub: HubServer, token: str, storage: Storage) -> None:
    other = storage.add_station("st-b", name="乙", name_en="B")
    code: dict[str, Any] = {
        "rider_id": "r-1",
        "scope": "swap",
        "kid": "k1",
        "nonce": "00112233445566778899aabbccddeeff",
    }
    assert post_events(hub.url, token, "st-a", [event(1, "code.accepted", **code)]).status_code == 200
    assert storage.flags() == []
    at_b = record("st-b", 1, type_="code.accepted", payload=code)
    assert post_events(hub.url, other, "st-b", [at_b]).status_code == 200
    [flag] = storage.flags()
    assert (flag.station_id, flag.kind, flag.event_id) == ("st-b", FlagKind.NONCE_REUSED, at_b.id)
    assert "used at st-a before" in flag.detail
    assert "one code, two stations" in render_fleet(gather(storage))
