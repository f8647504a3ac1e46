"""GET /fleet and /fleet.csv: per-station health and use, behind an operator session or a metrics key."""

from __future__ import annotations

import csv
import io

import pytest
import requests

from hub.auth import ApiRole
from hub.server import HubServer
from hub.storage import Storage
from tests.hub.admin_support import login, sign_in
from tests.hub.conftest import HUB_NOW
from tests.hub.support import post_events, record


@pytest.fixture
def fleet(hub: HubServer, storage: Storage) -> HubServer:
    """A hub with an operator, two stations, events of today and a heartbeat."""
    storage.set_operator("ops", "correct horse")
    token = storage.add_station("st-a", name="甲", name_en="Station A")
    storage.add_station("st-b", name="乙", name_en="Station B")
    today = HUB_NOW.replace(hour=8)
    events = [
        record("st-a", 1, type_="swap.completed", payload={"swap": 1}, wall=today),
        record("st-a", 2, type_="swap.completed", payload={"swap": 2}, wall=today),
        record("st-a", 3, type_="entry.granted", payload={"rider": "r"}, wall=today),
        record("st-a", 4, type_="service.viewed", payload={"service_id": "legal"}, wall=today),
        record("st-a", 7, type_="swap.completed", payload={"swap": 3}, wall=today),
    ]
    post_events(hub.url, token, "st-a", events)
    return hub


def test_the_fleet_page_needs_a_login(fleet: HubServer) -> None:
    answer = requests.get(f"{fleet.url}/fleet", timeout=10)
    assert answer.status_code == 401
    assert "st-a" not in answer.text


def test_a_browser_without_a_session_is_sent_to_the_sign_in(fleet: HubServer) -> None:
    answer = requests.get(f"{fleet.url}/fleet", headers={"Accept": "text/html"}, allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Ffleet"


def test_a_wrong_password_is_refused(fleet: HubServer) -> None:
    session, answer = sign_in(fleet.url, "ops", "wrong password")
    assert answer.status_code == 401
    assert session.get(f"{fleet.url}/fleet", timeout=10).status_code == 401


def test_the_fleet_page_shows_every_station_with_charts(fleet: HubServer) -> None:
    page = login(fleet.url, "ops", "correct horse").get(f"{fleet.url}/fleet", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "st-a" in page.text
    assert "st-b" in page.text
    assert page.text.count("<svg") >= 3
    assert "never heard from" in page.text  # st-b
    assert "5–6" in page.text  # st-a's gap
    assert "<script" not in page.text


def test_the_fleet_page_takes_a_metrics_key_too(fleet: HubServer, storage: Storage) -> None:
    key = storage.add_api_key("city-dashboard", ApiRole.METRICS)
    assert requests.get(f"{fleet.url}/fleet", headers={"Authorization": f"Bearer {key}"}, timeout=10).ok


def test_the_csv_counts_swaps_entries_and_service_views_per_day(fleet: HubServer) -> None:
    answer = login(fleet.url, "ops", "correct horse").get(f"{fleet.url}/fleet.csv", timeout=10)
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    today = next(r for r in rows if r["station_id"] == "st-a" and r["day"] == HUB_NOW.date().isoformat())
    assert (today["swaps"], today["entries"], today["service_views"]) == ("3", "1", "1")
    assert today["missing_events"] == "2"
    assert len(rows) == 2 * 14
