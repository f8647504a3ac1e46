"""Rider services over HTTP: the bundle's place, catalogue, rules, balances, bookings, open slots; spends; codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from hub.codes import issue_code
from hub.content import Content
from hub.server import HubServer
from hub.storage import Storage
from hub.storage.points_models import BookingState
from kiosk.core.clock import FakeClock
from kiosk.core.ridercode import parse_code
from kiosk.sync.protocol import BookingSlot, CatalogueItem, PointsRule, Service
from tests.hub.support import post_events, record

SOON = datetime(2026, 3, 12, 6, 0, tzinfo=UTC)
PAST = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def token(storage: Storage) -> str:
    """Station st-a with a place, and content with a catalogue, a rule and a bookable service of three slots."""
    slots = [
        BookingSlot(id="law-past", starts=PAST, ends=PAST + timedelta(minutes=30)),
        BookingSlot(id="law-soon", starts=SOON, ends=SOON + timedelta(minutes=30)),
        BookingSlot(id="law-later", starts=SOON + timedelta(days=1), ends=SOON + timedelta(days=1, minutes=30)),
    ]
    storage.load_content(
        Content(
            services=[
                Service(id="law", category="legal_aid", title_zh="法", title_en="Law", bookable=True, slots=slots)
            ],
            catalogue=[CatalogueItem(id="water", name_zh="水", name_en="Water", points=5)],
            points_rules=[PointsRule(id="checkin", points=2)],
        )
    )
    storage.add_station("st-b", name="乙", name_en="B")
    return storage.add_station("st-a", name="甲", name_en="A", latitude=31.23, longitude=121.47)


def get_bundle(hub: HubServer, token: str, etag: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    return requests.get(f"{hub.url}/v1/stations/st-a/bundle", headers=headers, timeout=10)


def spend(hub: HubServer, token: str, entry_id: str, points: int, station: str = "st-a") -> requests.Response:
    body = {"station_id": station, "entry_id": entry_id, "rider_id": "r-1", "item_id": "water", "points": points}
    return requests.post(
        f"{hub.url}/v1/stations/st-a/points/spend", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def booking(seq: int, booking_id: str, slot: str) -> Any:
    payload = {"booking_id": booking_id, "rider_id": "r-1", "service_id": "law", "slot_id": slot}
    return record("st-a", seq, type_="booking.requested", payload=payload)


def test_the_bundle_carries_the_station_place_catalogue_and_rules(hub: HubServer, token: str) -> None:
    bundle = get_bundle(hub, token).json()
    assert bundle["location"] == {"latitude": 31.23, "longitude": 121.47}
    assert [(c["id"], c["points"]) for c in bundle["catalogue"]] == [("water", 5)]
    assert [(r["id"], r["points"], r["per_day"]) for r in bundle["points_rules"]] == [("checkin", 2, 1)]


def test_the_bundle_offers_only_slots_not_begun_and_not_full(hub: HubServer, token: str, storage: Storage) -> None:
    post_events(hub.url, token, "st-a", [booking(1, "book-0001", "law-soon")])
    storage.set_booking_status("book-0001", BookingState.CONFIRMED)
    [service] = get_bundle(hub, token).json()["services"]
    assert [s["id"] for s in service["slots"]] == ["law-later"]


def test_the_bundle_carries_the_station_bookings_with_the_city_answer(
    hub: HubServer, token: str, storage: Storage
) -> None:
    post_events(hub.url, token, "st-a", [booking(1, "book-0001", "law-later")])
    storage.set_booking_status("book-0001", BookingState.CONFIRMED, "Room 3")
    [status] = get_bundle(hub, token).json()["bookings"]
    assert (status["booking_id"], status["status"], status["note"]) == ("book-0001", "confirmed", "Room 3")


def test_the_bundle_carries_the_balance_of_riders_seen_at_the_station(
    hub: HubServer, token: str, storage: Storage
) -> None:
    storage.credit_points("r-1", 9, "welcome", by="ops")
    accepted = record(
        "st-a", 1, type_="code.accepted", payload={"rider_id": "r-1", "scope": "swap", "kid": "k1", "nonce": "ab" * 8}
    )
    post_events(hub.url, token, "st-a", [accepted])
    [balance] = get_bundle(hub, token).json()["balances"]
    assert (balance["rider_id"], balance["balance"], balance["station_seq"]) == ("r-1", 9, 1)


def test_the_etag_stays_while_nothing_changes_even_with_balances(
    hub: HubServer, token: str, storage: Storage, hub_clock: FakeClock
) -> None:
    storage.credit_points("r-1", 9, "welcome", by="ops")
    spend(hub, token, "spend-0001", 5)  # the rider is now seen at st-a
    first = get_bundle(hub, token)
    hub_clock.advance(60)
    assert get_bundle(hub, token, first.headers["ETag"]).status_code == 304


def test_a_spend_changes_the_etag(hub: HubServer, token: str, storage: Storage) -> None:
    storage.credit_points("r-1", 10, "welcome", by="ops")
    spend(hub, token, "spend-0001", 5)  # water costs 5 in the city's catalogue
    first = get_bundle(hub, token)
    spend(hub, token, "spend-0002", 5)
    assert get_bundle(hub, token, first.headers["ETag"]).status_code == 200


def test_a_live_spend_is_answered_with_the_balance_after(hub: HubServer, token: str, storage: Storage) -> None:
    storage.credit_points("r-1", 9, "welcome", by="ops")
    answer = spend(hub, token, "spend-0001", 5)
    assert answer.status_code == 200
    assert answer.json() == {"entry_id": "spend-0001", "accepted": True, "balance": 4, "reason": None}


def test_a_live_spend_beyond_the_balance_is_answered_with_the_reason(hub: HubServer, token: str) -> None:
    answer = spend(hub, token, "spend-0001", 5).json()
    assert (answer["accepted"], answer["reason"]) == (False, "not enough points: the balance is 0, the item costs 5")


def test_a_spend_naming_another_station_is_422(hub: HubServer, token: str) -> None:
    assert spend(hub, token, "spend-0001", 5, station="st-b").status_code == 422


def test_a_spend_needs_the_station_token(hub: HubServer, token: str) -> None:
    body = {"station_id": "st-a", "entry_id": "spend-0001", "rider_id": "r-1", "item_id": "water", "points": 1}
    assert requests.post(f"{hub.url}/v1/stations/st-a/points/spend", json=body, timeout=10).status_code == 401


def test_a_code_issued_without_points_carries_the_ledger_balance(storage: Storage) -> None:
    storage.credit_points("r-1", 12, "welcome", by="ops")
    assert parse_code(issue_code(storage, "r-1").code).code.points == 12


def test_a_code_issued_with_points_carries_those(storage: Storage) -> None:
    storage.credit_points("r-1", 12, "welcome", by="ops")
    assert parse_code(issue_code(storage, "r-1", points=3).code).code.points == 3
