"""The admin pages in headless Chromium (Debian's /usr/bin/chromium driven by Playwright), on a seeded hub.

What the city's operator does: read each station's figures, confirm a booking by clicking, credit a
rider points and see the new balance, fix the content in the editor. Riders' feedback text is shown as
text, never run. Screenshots go to ``test-artifacts/hub/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, ViewportSize, expect

from hub.server import HubServer
from hub.storage import Storage
from hub.storage.points_models import BookingState
from tests.browser import EXPECT_MS, chromium
from tests.hub.admin_support import HOSTILE, OPERATOR, PASSWORD, City, seed

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hub"
LAPTOP: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture
def db_target(tmp_path: Path) -> str:
    """SQLite only: the pages are the same on both engines (tests/hub/test_admin_pages.py runs both)."""
    return str(tmp_path / "hub.db")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (Debian's build; Playwright never downloads one)."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def city(hub: HubServer, storage: Storage) -> City:
    """The seeded hub (see tests/hub/admin_support.py)."""
    return seed(hub, storage)


def sign_in_page(page: Page, url: str, name: str = OPERATOR, password: str = PASSWORD) -> None:
    """Sign in through the hub's sign-in form, as an operator does."""
    page.goto(f"{url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("[data-test=sign-in]")


@pytest.fixture
def page(browser: Browser, city: City) -> Iterator[Page]:
    """A fresh browser profile signed in as the operator through /login, laptop-sized."""
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(EXPECT_MS)
    tab = context.new_page()
    sign_in_page(tab, city.url)
    expect(tab).to_have_url(f"{city.url}/fleet")
    yield tab
    context.close()


def shot(page: Page, name: str) -> None:
    """Keep a full-page screenshot as ``test-artifacts/hub/admin-<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


def cell(station: str, field: str) -> str:
    return f"#row-{station} td[data-field={field}]"


def test_the_dashboard_shows_points_per_station(city: City, page: Page) -> None:
    page.goto(f"{city.url}/admin")
    expect(page.locator("h1")).to_have_text("Rider services")
    for station, issued, spent, rejected in (("st-a", "10", "5", "0"), ("st-b", "10", "5", "1")):
        expect(page.locator(cell(station, "issued"))).to_have_text(issued)
        expect(page.locator(cell(station, "spent"))).to_have_text(spent)
        expect(page.locator(cell(station, "rejected"))).to_have_text(rejected)
    shot(page, "dashboard")


def test_the_dashboard_shows_service_demand_and_feedback(city: City, page: Page) -> None:
    page.goto(f"{city.url}/admin")
    expect(page.locator(cell("st-a", "views"))).to_have_text("4")
    expect(page.locator(cell("st-a", "rating"))).to_have_text("3.0")
    expect(page.locator("#station-st-a svg[aria-label='st-a: service views']")).to_contain_text("Legal consultation")


def test_a_hostile_feedback_text_is_shown_and_never_run(city: City, page: Page) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(f"{city.url}/admin")
    expect(page.locator("#station-st-a li.feedback")).to_contain_text(HOSTILE)
    assert page.locator("#station-st-a li.feedback img, #station-st-a li.feedback script").count() == 0
    assert dialogs == []


def test_the_fleet_page_leads_to_the_dashboard(city: City, page: Page) -> None:
    page.goto(f"{city.url}/fleet")
    page.click("text=Rider services")
    expect(page).to_have_url(f"{city.url}/admin")


def test_confirming_a_booking_by_clicking_shows_it_confirmed(city: City, page: Page, storage: Storage) -> None:
    page.goto(f"{city.url}/admin")
    page.click("text=2 bookings wait for an answer")
    row = page.locator("#booking-book-a-0001")
    row.locator("input[name=note]").fill("Room 2, bring your ID")
    row.locator("[data-test=confirm-book-a-0001]").click()
    expect(page.locator("[role=status]")).to_have_text("Booking book-a-0001 is now confirmed.")
    expect(page.locator("#booking-book-a-0001 td[data-field=status]")).to_have_text("confirmed")
    assert next(b for b in storage.bookings() if b.booking_id == "book-a-0001").status is BookingState.CONFIRMED
    shot(page, "bookings")


def test_a_full_slot_is_explained_when_confirming(city: City, page: Page) -> None:
    page.goto(f"{city.url}/admin/bookings")
    page.click("[data-test=confirm-book-a-0001]")
    page.click("[data-test=confirm-book-b-0001]")
    expect(page.locator("[role=status]")).to_contain_text("slot legal-1-0312 is full")
    expect(page.locator("#booking-book-b-0001 td[data-field=status]")).to_have_text("requested")


def test_crediting_points_shows_the_new_balance(city: City, page: Page) -> None:
    page.goto(f"{city.url}/admin/riders")
    page.fill("input[name=rider]", "R-1")
    page.click("text=Show")
    expect(page.locator("#balance")).to_have_text("0")
    page.fill("#credit input[name=points]", "25")
    page.fill("#credit input[name=reason]", "community report: broken street light")
    page.click("[data-test=credit]")
    expect(page.locator("#balance")).to_have_text("25")
    expect(page.locator("#ledger")).to_contain_text("community report: broken street light")
    shot(page, "rider")


def test_the_editor_explains_broken_content_and_keeps_the_text(city: City, page: Page, storage: Storage) -> None:
    page.goto(f"{city.url}/admin/content")
    broken = '{"catalogue": [{"id": "tea", "name_zh": "茶", "name_en": "Tea", "points": 0}]}'
    page.fill("textarea[name=content]", broken)
    page.click("[data-test=save]")
    expect(page.locator("div.problems")).to_contain_text('catalogue, item 1 (id "tea"), points')
    expect(page.locator("textarea[name=content]")).to_have_value(broken)
    assert storage.content().catalogue[0].id == "water"
    shot(page, "content-problem")


def test_the_editor_saves_good_content(city: City, page: Page, storage: Storage) -> None:
    page.goto(f"{city.url}/admin/content")
    text = page.locator("textarea[name=content]").input_value()
    page.fill("textarea[name=content]", text.replace("Bottled water", "Mineral water"))
    page.click("[data-test=check]")
    expect(page.locator("[role=status]")).to_contain_text("No problems found")
    page.click("[data-test=save]")
    expect(page.locator("[role=status]")).to_contain_text("The content was saved.")
    expect(page.locator("#catalogue")).to_contain_text("Mineral water")
    assert storage.content().catalogue[0].name_en == "Mineral water"
