"""The status page's safety banner and the bays' charts, in headless Chromium.

Against a real station with a simulated cabinet: a pack warms past each limit and the banner follows
without a reload (watch, alarm, fire), a fire stays until staff clear it, and the banner is gone at
normal. The chart's drawing is checked on a status the test writes, so its points can be counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kiosk.api.web import render
from kiosk.api.web import safety as safety_html
from tests.browser import EXPECT_MS, LAPTOP_SIZE, MIN_TARGET_PX, PHONE_SIZE, chromium, layout_problems
from tests.support import wait_until
from tests.web.conftest import PASSWORD, STAFF, WAIT, WebStation

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
BAY = 2
BANNER = "#safety-banner"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def signed_in(browser: Browser, url: str) -> Page:
    context = browser.new_context(viewport=PHONE_SIZE)
    context.set_default_timeout(EXPECT_MS)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", STAFF)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    expect(page).to_have_url(f"{url}/")
    return page


def safety(web: WebStation) -> dict[str, Any]:
    part: dict[str, Any] = web.tech.status()["components"]["safety"]
    return part


def fits(page: Page) -> list[str]:
    """Layout problems at a phone's size (44 px buttons) and a laptop's."""
    problems = [f"phone: {p}" for p in layout_problems(page, min_target_px=MIN_TARGET_PX)]
    page.set_viewport_size(LAPTOP_SIZE)
    problems += [f"laptop: {p}" for p in layout_problems(page)]
    page.set_viewport_size(PHONE_SIZE)
    return problems


def test_the_banner_follows_the_level_on_every_page_and_goes_once_staff_clear_the_fire(
    web: WebStation, browser: Browser
) -> None:
    page = signed_in(browser, web.url)
    page.goto(f"{web.url}/devices")
    expect(page.locator("#live-state")).to_have_text("live updates: on")
    banner = page.locator(BANNER)
    expect(banner).to_have_count(1)
    assert banner.get_attribute("data-level") is None
    assert banner.inner_text() == ""
    page.evaluate("window.notReloaded = true")

    web.sim.set_temperature(BAY, 47.0)  # too hot to charge
    expect(banner).to_have_attribute("data-level", "watch")
    expect(banner).to_contain_text(f"Bay {BAY}: watch (too hot to charge) since")
    expect(banner).to_contain_text(f"charger off in bay {BAY}")
    expect(banner).to_contain_text("clears by itself")
    assert page.evaluate("window.notReloaded") is True  # it came in live
    assert fits(page) == [], "\n".join(fits(page))

    web.sim.set_temperature(BAY, 62.0)
    expect(banner).to_have_attribute("data-level", "alarm")
    expect(banner).to_contain_text(f"Bay {BAY}: alarm")
    expect(banner).to_contain_text("Clear fault")
    expect(page.locator(f"#chart-bay-{BAY}")).to_have_attribute("open", "")
    assert fits(page) == [], "\n".join(fits(page))

    web.sim.set_temperature(BAY, 80.0)
    expect(banner).to_have_attribute("data-level", "fire")
    expect(banner).to_contain_text("FIRE ALARM")
    expect(banner).to_contain_text("Cabinet: fire (bay fire)")
    expect(banner).to_contain_text("new swaps refused")
    expect(banner).to_contain_text("mains cut")
    assert fits(page) == [], "\n".join(fits(page))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "safety-fire-phone.png"), full_page=True)
    for path in ("/", "/sync", "/events"):  # every page carries it
        page.goto(f"{web.url}{path}")
        expect(page.locator(BANNER)).to_have_attribute("data-level", "fire")
    page.goto(f"{web.url}/")
    assert fits(page) == [], "\n".join(fits(page))

    web.sim.set_temperature(BAY, 25.0)
    wait_until(lambda: web.tech.bay(BAY)["battery"]["temperature_c"] == 25.0, WAIT, "the pack to cool down")
    wait_until(lambda: safety(web)["bays"][str(BAY)]["active"] == [], WAIT, "the readings to call for nothing")
    assert safety(web)["cabinet"]["level"] == "fire"  # latched: the pack that burned is suspect
    page.goto(f"{web.url}/devices")
    page.click(f"[data-test=clear-{BAY}]")
    expect(page.locator(".flash")).to_contain_text(f"Bay {BAY}'s fault cleared")
    expect(page.locator(BANNER)).not_to_have_attribute("data-level", re.compile(".+"))
    assert page.locator(BANNER).inner_text() == ""
    assert safety(web)["level"] == "normal"
    page.context.close()


def test_a_cabinet_fire_from_smoke_is_cleared_from_the_banner_once_the_smoke_is_gone(
    web: WebStation, browser: Browser
) -> None:
    page = signed_in(browser, web.url)
    web.sim.inject("smoke")
    banner = page.locator(BANNER)
    expect(banner).to_have_attribute("data-level", "fire")
    expect(banner).to_contain_text("Cabinet: fire (smoke)")
    expect(banner).to_contain_text("cabinet extinguisher released")
    page.click("[data-test=safety-reset-cabinet]")  # refused: the detector still sees smoke
    expect(page.locator(".flash")).to_contain_text("still reads smoke")
    expect(banner).to_have_attribute("data-level", "fire")
    web.sim.inject("smoke", on=False)
    wait_until(lambda: "smoke" not in safety(web)["cabinet"]["active"], WAIT, "the detector to see no smoke")
    page.click("[data-test=safety-reset-cabinet]")
    expect(page.locator(".flash")).to_contain_text("safety alarm is cleared")
    expect(banner).not_to_have_attribute("data-level", re.compile(".+"))
    actions = [a for a in web.staff_actions() if a["action"] == "clear_safety_alarm"]
    assert [a.get("ok", True) for a in actions] == [False, True]
    page.context.close()


def test_the_devices_page_charts_each_bays_readings(web: WebStation, browser: Browser) -> None:
    wait_until(lambda: safety(web)["bays"]["1"]["history"], WAIT, "a reading of bay 1 in the history")
    page = signed_in(browser, web.url)
    page.goto(f"{web.url}/devices")
    figure = page.locator("[data-test=chart-1-temperature]")
    figure.locator("xpath=ancestor::details").evaluate("d => d.open = true")
    expect(figure.locator("svg")).to_be_visible()
    line = figure.locator("polyline")
    drawn = len((line.get_attribute("points") or "").split())
    assert drawn == int(line.get_attribute("data-points") or 0) >= 1
    expect(page.locator("[data-test=chart-1-voltage] polyline")).to_have_count(1)
    assert fits(page) == [], "\n".join(fits(page))
    page.context.close()


# --- the chart, drawn from a status the test writes --------------------------------------------------------


def status_with(history: list[list[Any]], level: str = "alarm") -> dict[str, Any]:
    bay = {"level": level, "reasons": ["alarm_temperature"], "since": "2025-06-01T08:00:00+00:00", "history": history}
    return {
        "station_id": "sh-test",
        "timezone": "Asia/Shanghai",
        "components": {
            "safety": {
                "level": level,
                "cabinet": {"level": "watch", "reasons": ["bay_alarm"], "since": "2025-06-01T08:00:00+00:00"},
                "bays": {"3": bay, "4": {"level": "normal", "reasons": [], "history": []}},
                "outputs": {"charging_off": [3], "fan": True},
                "swaps_allowed": True,
                "now_mono": 1000.0,
                "history_window_s": 300.0,
                "limits": {"alarm_c": 60.0},
            }
        },
    }


def shown(browser: Browser, status: dict[str, Any]) -> Page:
    view = render.View(user="alice", csrf="t", path="/devices", now_mono=1000.0)
    body = safety_html.bay_charts(status, view)
    html = render.layout("Devices", status, view, body, safety_html.banner(status, view))
    context = browser.new_context(viewport=PHONE_SIZE)
    page = context.new_page()
    page.set_content(html.replace('<script src="/static/live.js" defer></script>', ""))
    page.add_style_tag(content=resources.files("kiosk.api.web").joinpath("static", "style.css").read_text())
    return page


def test_the_chart_has_a_point_per_reading_in_its_window_and_its_text_is_escaped(browser: Browser) -> None:
    history = [[1000.0 - 5 * i, 69.5 - i * 0.5, 52.0, 5.0 if i % 2 else None] for i in range(59, -1, -1)]
    page = shown(browser, status_with(history))
    temperature = page.locator("[data-test=chart-3-temperature] polyline")
    assert temperature.get_attribute("data-points") == "60"
    assert len((temperature.get_attribute("points") or "").split()) == 60
    current = page.locator("[data-test=chart-3-current] polyline")
    assert current.get_attribute("data-points") == "30"  # readings without a current are left out, not zero
    expect(page.locator("[data-test=chart-3-temperature] line.limit")).to_have_count(1)  # the alarm limit
    expect(page.locator("[data-test=chart-3-temperature] figcaption")).to_have_text("Temperature: now 69.5 °C")
    expect(page.locator("#chart-bay-4")).to_have_count(0)  # an empty bay has nothing to draw
    expect(page.locator(BANNER)).to_contain_text("charger off in bay 3; cabinet fan on.")
    assert layout_problems(page, min_target_px=MIN_TARGET_PX) == []
    page.context.close()
    odd = status_with([[1000.0, 30.0, None, None]])
    odd["components"]["safety"]["bays"]["3"]["reasons"] = ["<script>alert(1)</script>"]
    page = shown(browser, odd)
    assert page.locator("script").count() == 0
    expect(page.locator(BANNER)).to_contain_text("<script>alert(1)</script>")
    assert page.locator("[data-test=chart-3-temperature] polyline").get_attribute("data-points") == "1"
    page.context.close()
