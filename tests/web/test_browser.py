"""The status page in headless Chromium (Debian's /usr/bin/chromium driven by Playwright), against a real station.

What staff do with a phone or laptop: sign in, watch a bay change without reloading, take a bay out of
service and see the next swap avoid it. What an attacker tries: act without the CSRF token, guess
passwords, read pages without signing in. Screenshots go to ``test-artifacts/web/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser import EXPECT_MS, chromium
from tests.support import wait_until
from tests.web.conftest import PASSWORD, STAFF, WAIT, WebStation

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
PHONE: ViewportSize = {"width": 412, "height": 860}
LAPTOP: ViewportSize = {"width": 1200, "height": 760}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (Debian's build; Playwright never downloads one)."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies) with a phone-sized window."""
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(EXPECT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Page, name: str, *, full: bool = False) -> None:
    """Keep a screenshot as ``test-artifacts/web/status-<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"status-{name}.png"), full_page=full)


def log_in(page: Page, url: str, password: str = PASSWORD) -> None:
    """Fill and send the sign-in form."""
    page.goto(f"{url}/login")
    page.fill("input[name=username]", STAFF)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")


def door_cell(page: Page, bay: int) -> str:
    return f"#bay-{bay} td[data-field=door]"


def test_staff_sign_in_and_see_the_overview(web: WebStation, page: Page) -> None:
    log_in(page, web.url)
    expect(page).to_have_url(f"{web.url}/")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("#facts")).to_contain_text("sim-001")
    expect(page.locator("#live-state")).to_have_text("live updates: on")
    shot(page, "overview")


def test_a_bay_opened_by_a_swap_shows_open_without_reloading(web: WebStation, page: Page) -> None:
    log_in(page, web.url)
    page.set_viewport_size(LAPTOP)
    page.goto(f"{web.url}/devices")
    expect(page.locator(door_cell(page, 7))).to_have_text("closed")
    expect(page.locator("#live-state")).to_have_text("live updates: on")
    page.evaluate("window.notReloaded = true")
    web.tech.code("R-live")  # the rider scans: the station opens empty bay 7 for the flat battery
    expect(page.locator(door_cell(page, 7))).to_have_text("open")
    assert page.evaluate("window.notReloaded") is True
    shot(page, "devices", full=True)


def test_a_bay_taken_out_of_service_is_avoided_by_the_next_swap(web: WebStation, page: Page) -> None:
    log_in(page, web.url)
    page.goto(f"{web.url}/devices")
    page.fill("#bay-7 input[name=reason]", "hinge broken")
    page.click("[data-test=oos-7]")
    expect(page.locator("#bay-7 td[data-field=service]")).to_contain_text("hinge broken")
    web.tech.code("R-avoid")
    screen = wait_until(
        lambda: (s := web.tech.screen())["name"] == "swap.open_return_bay" and s, WAIT, "the return bay to open"
    )
    assert screen["params"]["bay"] == 8  # 7 would be first choice (empty, never used) were it in service
    assert {b["bay"]: b["door"] for b in web.tech.world()["bays"]}[7] == "closed"


def test_staff_restock_a_goods_bay_and_see_its_stock_change(web: WebStation, page: Page) -> None:
    log_in(page, web.url)
    page.set_viewport_size(LAPTOP)
    page.goto(f"{web.url}/devices")
    expect(page.locator("#goods-9 td[data-field=item]")).to_have_text("water")
    expect(page.locator("#goods-9 td[data-field=count]")).to_have_text("0")
    page.fill("#goods-9 input[name=count]", "6")
    page.click("[data-test=restock-9]")
    expect(page.locator(".flash")).to_have_text("Bay 9 restocked: it holds 6 now.")
    expect(page.locator("#goods-9 td[data-field=count]")).to_have_text("6")
    expect(page.locator("#bay-9 td[data-field=goods]")).to_contain_text("water (6 left)")
    assert web.tech.status()["components"]["rider"]["goods"]["9"]["count"] == 6
    shot(page, "goods", full=True)


def test_an_action_without_the_csrf_token_is_refused(web: WebStation, page: Page) -> None:
    log_in(page, web.url)
    expect(page).to_have_url(f"{web.url}/")
    answer = page.request.post(f"{web.url}/actions/bays/2/open", form={"back": "/"})
    assert answer.status == 403
    assert "did not come from the status page" in answer.text()
    assert {b["bay"]: b["door"] for b in web.tech.world()["bays"]}[2] == "closed"
    assert all(a["action"] != "open_bay" for a in web.staff_actions())


def test_wrong_passwords_get_the_name_rate_limited(web: WebStation, page: Page) -> None:
    for _ in range(3):  # the fixture allows 3 failures per name in the window
        log_in(page, web.url, "wrong password!")
        expect(page.locator("[role=alert]")).to_have_text("That name or password is not right.")
    log_in(page, web.url)
    expect(page.locator("[role=alert]")).to_contain_text("Too many wrong passwords")
    expect(page).to_have_url(f"{web.url}/login")
    shot(page, "rate-limited")


@pytest.mark.parametrize("path", ["/", "/devices", "/sync", "/events", "/simulator"])
def test_no_page_is_readable_without_signing_in(web: WebStation, page: Page, path: str) -> None:
    page.goto(f"{web.url}{path}")
    expect(page).to_have_url(f"{web.url}/login")
    content = page.content()
    assert "SH2127128" not in content  # bay 1's battery id
    assert "Simulated Rider Station" not in content


def test_the_api_is_not_readable_without_signing_in(web: WebStation, page: Page) -> None:
    answer = page.goto(f"{web.url}/api/status")
    assert answer is not None
    assert answer.status == 401
