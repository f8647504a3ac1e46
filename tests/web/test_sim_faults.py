"""Issue 13, bug 1: the status page's simulator page with a fault on, and clearing that fault from the page.

The page used to answer 500 whenever a fault was on (the world lists faults as ``{"fault", "bay"}``
records), so a fault set from the browser could not be cleared from it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import EXPECT_MS, chromium
from tests.support import wait_until
from tests.web.conftest import PASSWORD, STAFF, WAIT, WebStation, csrf_of, sign_in


def test_the_simulator_page_shows_a_fault_that_is_on(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    session.post(
        f"{web.url}/actions/sim/fault",
        data={"fault": "lock_jammed", "bay": "3", "on": "1", "csrf": csrf_of(session, web.url), "back": "/simulator"},
        timeout=5,
    )
    assert web.tech.world()["faults"] == [{"fault": "lock_jammed", "bay": 3}]
    page = session.get(f"{web.url}/simulator", timeout=5)
    assert page.status_code == 200
    assert "lock_jammed (bay 3)" in page.text
    assert 'data-test="sim-clear-lock_jammed-3"' in page.text


def test_a_fault_of_no_bay_is_shown_without_a_bay(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    web.sim.inject("scanner_unplugged")
    page = session.get(f"{web.url}/simulator", timeout=5)
    assert page.status_code == 200
    assert "scanner_unplugged" in page.text
    assert "scanner_unplugged (bay" not in page.text


@pytest.fixture
def page() -> Iterator[Page]:
    """A fresh headless Chromium tab (laptop-sized: the simulator is a developer's page)."""
    with chromium() as browser_:
        browser: Browser = browser_
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(EXPECT_MS)
        yield context.new_page()
        context.close()


def test_a_fault_set_from_the_browser_is_cleared_from_the_browser(web: WebStation, page: Page) -> None:
    page.goto(f"{web.url}/login")
    page.fill("input[name=username]", STAFF)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    expect(page).to_have_url(f"{web.url}/")
    page.goto(f"{web.url}/simulator")
    page.select_option("select[name=fault]", "lock_jammed")
    page.fill("input[name=bay]", "3")
    page.click("form[action='/actions/sim/fault'] button")
    expect(page.locator(".flash")).to_have_text("Simulator: fault lock_jammed on.")
    expect(page.locator("#world")).to_contain_text("lock_jammed (bay 3)")
    page.click("[data-test=sim-clear-lock_jammed-3]")
    expect(page.locator(".flash")).to_have_text("Simulator: fault lock_jammed off.")
    expect(page.locator("#world")).to_contain_text("faults on: none")
    assert wait_until(lambda: web.tech.world()["faults"] == [], WAIT, "the fault cleared in the simulator")
