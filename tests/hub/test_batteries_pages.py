"""The fleet page's "Batteries due for retirement" section: over HTTP on both engines, and in headless Chromium."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from hub.batteries import PackRecord
from hub.server import HubServer
from hub.storage import Storage
from tests.browser import EXPECT_MS, chromium
from tests.hub.admin_support import OPERATOR, PASSWORD, login
from tests.hub.support import post_events, record

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hub"


@pytest.fixture
def worn(hub: HubServer, storage: Storage) -> HubServer:
    """A hub with a registry, a station that reported a worn pack, a hot one, a retired one and a fine one."""
    storage.set_operator(OPERATOR, PASSWORD)
    token = storage.add_station("st-a", name="甲", name_en="Station A")
    day = date(2025, 1, 10)
    storage.load_batteries(
        [
            PackRecord("SH0000101", "TL-48V20", "nmc-13s", day),
            PackRecord("SH0000102", "TL-48V20", "nmc-13s", day),
            PackRecord("SH0000103", "TL-48V20", "nmc-13s", day, retired=date(2026, 1, 5)),
            PackRecord("SH0000104", "TL-48V20", "nmc-13s", day),
        ]
    )
    packs = [
        {"battery_id": "SH0000101", "bay": 1, "soh_pct": 64.5, "cycles": 700, "temperatures_c": [25.0]},
        {"battery_id": "SH0000102", "bay": 2, "soh_pct": 90.0, "cycles": 300, "temperatures_c": [28.0, 61.0]},
        {"battery_id": "SH0000103", "bay": 3, "soh_pct": 90.0, "cycles": 300, "temperatures_c": [25.0]},
        {"battery_id": "SH0000104", "bay": 4, "soh_pct": 96.0, "cycles": 50, "temperatures_c": [25.0]},
    ]
    event = record("st-a", 1, type_="battery.readings", payload={"period_s": 600.0, "packs": packs})
    assert post_events(hub.url, token, "st-a", [event]).ok
    return hub


def test_the_fleet_page_lists_the_packs_due_for_retirement(worn: HubServer) -> None:
    page = login(worn.url).get(f"{worn.url}/fleet", timeout=10)
    assert page.ok
    assert "Batteries due for retirement (3)" in page.text
    assert "The registry holds 3 packs in service and 1 retired." in page.text
    assert 'data-battery="SH0000101"' in page.text
    assert "state of health 64.5 % is below 70 %" in page.text
    assert "reached 61 °C" in page.text
    assert "retired on 2026-01-05 but seen in service at st-a" in page.text
    assert 'data-battery="SH0000104"' not in page.text


def test_the_due_section_needs_a_login_like_the_rest_of_the_page(worn: HubServer) -> None:
    answer = requests.get(f"{worn.url}/fleet", timeout=10)
    assert answer.status_code == 401
    assert "SH0000101" not in answer.text


def test_an_operator_sees_the_due_packs_in_a_browser(worn: HubServer) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(EXPECT_MS)
        page = context.new_page()
        page.goto(f"{worn.url}/login")
        page.fill("input[name=username]", OPERATOR)
        page.fill("input[name=password]", PASSWORD)
        page.click("[data-test=sign-in]")
        expect(page).to_have_url(f"{worn.url}/fleet")
        section = page.locator("#batteries-due")
        expect(section).to_have_text("Batteries due for retirement (3)")
        expect(page.locator("#due tr[data-battery]")).to_have_count(3)
        expect(page.locator('#due tr[data-battery="SH0000103"]')).to_contain_text("retired on 2026-01-05")
        section.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "fleet-batteries-due.png"), full_page=True)
        context.close()
