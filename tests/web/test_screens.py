"""Every status page at a phone's size (390×844) and a laptop's (1280×800), in headless Chromium.

A technician with a phone must see each bay's number next to its state and reach every control without
scrolling sideways, with buttons a finger can hit. Screenshots go to ``test-artifacts/web/screens/``.
The layout check itself is :func:`tests.browser.layout_problems`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser import EXPECT_MS, LAPTOP_SIZE, MIN_TARGET_PX, PHONE_SIZE, chromium, layout_problems
from tests.web.conftest import PASSWORD, STAFF, WebStation

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web" / "screens"
PAGES = {
    "overview": "/",
    "devices": "/devices",
    "confirm-open": "/devices/bays/3/open",
    "sync": "/sync",
    "events": "/events",
    "simulator": "/simulator",
}
SIZES: dict[str, ViewportSize] = {"phone": PHONE_SIZE, "laptop": LAPTOP_SIZE}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStation]:
    """One station for every page and size: a bay out of service and a few events, so the pages are not empty."""
    web = WebStation(tmp_path_factory.mktemp("screens"))
    web.tech.session.post(f"{web.url}/api/sim/codes", json={"rider_id": "R-shots"}, timeout=5)
    yield web
    web.close()


def signed_in(browser: Browser, url: str, size: ViewportSize) -> Page:
    """A fresh profile of the given size, signed in as staff."""
    context = browser.new_context(viewport=size)
    context.set_default_timeout(EXPECT_MS)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", STAFF)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    expect(page).to_have_url(f"{url}/")
    return page


@pytest.mark.parametrize("size", SIZES)
def test_every_status_page_fits_the_window(station: WebStation, browser: Browser, size: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = MIN_TARGET_PX if size == "phone" else 0
    found: dict[str, list[str]] = {}
    outside = browser.new_context(viewport=SIZES[size])
    login = outside.new_page()
    login.goto(f"{station.url}/login")
    login.screenshot(path=str(ARTIFACTS / f"login-{size}.png"), full_page=True)
    if problems := layout_problems(login, min_target_px=target):
        found["/login"] = problems[:8]
    outside.close()
    page = signed_in(browser, station.url, SIZES[size])
    for name, path in PAGES.items():
        answer = page.goto(f"{station.url}{path}")
        assert answer is not None, path
        assert answer.ok, f"{path}: {answer.status}"
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
        if problems := layout_problems(page, min_target_px=target):
            found[path] = problems[:8]
    page.context.close()
    assert found == {}


def test_on_a_phone_every_bay_card_shows_its_number_and_door(station: WebStation, browser: Browser) -> None:
    page = signed_in(browser, station.url, PHONE_SIZE)
    page.goto(f"{station.url}/devices")
    card = page.locator("#bay-3")
    number, door = card.locator("th"), card.locator("td[data-field=door]")
    card.scroll_into_view_if_needed()
    expect(number).to_be_in_viewport()
    expect(door).to_be_in_viewport()
    assert number.evaluate("e => getComputedStyle(e, '::before').content") == '"Bay "'
    assert door.evaluate("e => getComputedStyle(e, '::before').content") == '"Door: "'
    page.context.close()


def test_open_asks_first_and_cancel_leaves_the_bay_locked(station: WebStation, browser: Browser) -> None:
    page = signed_in(browser, station.url, PHONE_SIZE)
    page.goto(f"{station.url}/devices")
    page.click("[data-test=open-4]")
    expect(page.locator("h1")).to_have_text("Open bay 4?")
    page.click("[data-test=cancel-open]")
    expect(page).to_have_url(f"{station.url}/devices")
    assert station.tech.bay(4)["lock"] == "locked"
    assert all(a["action"] != "open_bay" for a in station.staff_actions())
    page.click("[data-test=open-4]")
    page.click("[data-test=confirm-open-4]")
    expect(page).to_have_url(f"{station.url}/devices")
    expect(page.locator(".flash")).to_contain_text("Bay 4")
    assert [a["bay"] for a in station.staff_actions() if a["action"] == "open_bay"] == [4]
    page.context.close()


def test_the_events_page_shows_the_stations_local_time(station: WebStation, browser: Browser) -> None:
    page = signed_in(browser, station.url, PHONE_SIZE)
    page.goto(f"{station.url}/events?type=staff.")
    zone = station.config.station.timezone
    expect(page.locator("table.events thead")).to_contain_text(f"Time ({zone})")
    stamp = page.locator("table.events tbody tr").first.locator("time")
    utc_text = stamp.get_attribute("title") or ""
    assert utc_text.endswith(" UTC")
    wall = datetime.fromisoformat(stamp.get_attribute("datetime") or "")
    assert stamp.inner_text() == wall.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
    assert ZoneInfo(zone).utcoffset(wall) != timedelta(0)  # so local and UTC differ, and the page shows local
    page.context.close()
