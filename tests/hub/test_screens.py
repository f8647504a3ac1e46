"""Every hub page at a phone's size (390×844) and a laptop's (1280×800), in headless Chromium.

A city operator on a phone reads the dashboard and the fleet without scrolling sideways and hits every
button with a finger; the charts' titles, legends and dates do not overlap or get cut off. The operator
finds swaps and each station's health from /admin. Screenshots go to ``test-artifacts/hub/screens/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from hub.server import HubServer
from hub.storage import Storage
from tests.browser import EXPECT_MS, LAPTOP_SIZE, MIN_TARGET_PX, PHONE_SIZE, chromium, layout_problems
from tests.hub.admin_support import City, seed, signed_in_context
from tests.hub.screens_support import STATION, WARNING, add_busy_station

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hub" / "screens"
PAGES = {
    "dashboard": "/admin",
    "dashboard-30-days": "/admin?days=30",
    "bookings": "/admin/bookings",
    "content": "/admin/content",
    "riders": "/admin/riders",
    "rider": "/admin/riders?rider=R-1",
    "fleet": "/fleet",
}
SIZES: dict[str, ViewportSize] = {"phone": PHONE_SIZE, "laptop": LAPTOP_SIZE}
CHART_PROBLEMS_JS = """
(svg) => {
  const frame = svg.getBoundingClientRect();
  const texts = Array.from(svg.querySelectorAll('text'));
  const boxes = texts.map((t) => [t.textContent, t.getBoundingClientRect()]);
  const problems = [];
  for (const [text, b] of boxes) {
    const inside = b.left >= frame.left - 0.5 && b.right <= frame.right + 0.5
      && b.top >= frame.top - 0.5 && b.bottom <= frame.bottom + 0.5;
    if (!inside) {
      problems.push(`"${text}" is cut off by the chart's edge`);
    }
  }
  const [title, titleBox] = boxes[0];
  for (const [text, b] of boxes.slice(1)) {
    const apart = b.right <= titleBox.left || b.left >= titleBox.right
      || b.bottom <= titleBox.top || b.top >= titleBox.bottom;
    if (!apart) problems.push(`"${text}" overlaps the title "${title}"`);
  }
  return problems;
}
"""


@pytest.fixture
def db_target(tmp_path: Path) -> str:
    """SQLite only: the pages are the same on both engines (tests/hub/test_admin_pages.py runs both)."""
    return str(tmp_path / "hub.db")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def city(hub: HubServer, storage: Storage) -> City:
    """The seeded hub and st-c (tests/hub/screens_support.py)."""
    seeded = seed(hub, storage)
    add_busy_station(hub.url, storage)
    return seeded


def open_page(browser: Browser, size: ViewportSize, url: str) -> Page:
    context = signed_in_context(browser, size, url)
    context.set_default_timeout(EXPECT_MS)
    return context.new_page()


@pytest.mark.parametrize("size", SIZES)
def test_every_hub_page_fits_the_window(city: City, browser: Browser, size: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, SIZES[size], city.url)
    found: dict[str, list[str]] = {}
    for name, path in PAGES.items():
        answer = page.goto(f"{city.url}{path}")
        assert answer is not None, path
        assert answer.ok, f"{path}: {answer.status}"
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
        if problems := layout_problems(page, min_target_px=MIN_TARGET_PX if size == "phone" else 0):
            found[path] = problems[:8]
    page.context.close()
    assert found == {}


@pytest.mark.parametrize("path", ["/admin?days=30", "/fleet"])
def test_no_chart_text_is_cut_off_or_over_the_title(city: City, browser: Browser, path: str) -> None:
    page = open_page(browser, LAPTOP_SIZE, city.url)
    page.goto(f"{city.url}{path}")
    charts = page.locator("svg.chart")
    assert charts.count() >= 3
    problems = {
        charts.nth(i).get_attribute("aria-label"): charts.nth(i).evaluate(CHART_PROBLEMS_JS)
        for i in range(charts.count())
    }
    page.context.close()
    assert {label: p for label, p in problems.items() if p} == {}


def test_the_fleet_charts_y_axis_has_round_ticks_between_zero_and_the_top(city: City, browser: Browser) -> None:
    page = open_page(browser, LAPTOP_SIZE, city.url)
    page.goto(f"{city.url}/fleet")
    chart = page.locator(f"section#{STATION} svg.chart")
    ticks = chart.locator("text[text-anchor=end]").evaluate_all("els => els.map((e) => e.textContent)")
    page.context.close()
    assert ticks[:3] == ["0", "1", "2"]  # st-c's two swaps today: 0, 1, 2 rather than only 0 and 2


def test_the_dashboard_counts_earnings_refused_by_the_daily_limit(city: City, browser: Browser) -> None:
    page = open_page(browser, PHONE_SIZE, city.url)
    page.goto(f"{city.url}/admin")
    over = page.locator(f"#row-{STATION} td[data-field=over_limit]")
    expect(over).to_have_text("1")
    expect(over).to_have_attribute("data-label", "earnings refused (daily limit)")
    expect(page.locator("#row-st-a td[data-field=over_limit]")).to_have_text("0")
    page.context.close()


def test_the_dashboard_shows_swaps_and_health_and_leads_to_the_fleet(city: City, browser: Browser) -> None:
    page = open_page(browser, PHONE_SIZE, city.url)
    page.goto(f"{city.url}/admin")
    row = page.locator(f"#health-{STATION}")
    expect(row.locator("td[data-field=swaps]")).to_have_text("2")
    expect(row.locator("td[data-field=charged]")).to_have_text("2")
    expect(row.locator("td[data-field=warnings]")).to_contain_text(WARNING)
    row.locator(f"a[href='/fleet#{STATION}']").click()
    expect(page).to_have_url(f"{city.url}/fleet#{STATION}")
    expect(page.locator("nav a[href='/admin']")).to_have_text("Dashboard")
    page.context.close()
