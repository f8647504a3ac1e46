"""How the app behaves under a finger and over time (core's news fed directly; the flows use a real core)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kiosk.api.screen import Screen
from kiosk.ui.app import KioskApp
from kiosk.ui.views import UiScreen
from tests.ui.cases import screen, status
from tests.ui.conftest import SETTINGS
from tests.ui.harness import FakeLink, shown_screen, start_app, stop_app, tap, texts
from tests.ui.loop import pump, pump_until, resize

Started = tuple[KioskApp, FakeLink, list[float]]


@pytest.fixture
def started(window: Any) -> Iterator[Callable[[], Started]]:
    """An app with a fake link and a monotonic clock the test moves (``clock[0]``)."""
    made: list[KioskApp] = []

    def make() -> Started:
        link = FakeLink()
        clock = [1000.0]
        app = start_app(window, SETTINGS, lambda listener, post: link, monotonic=lambda: clock[0])
        made.append(app)
        resize(window, (800, 480))
        app.on_link(True, "test")
        app.on_status(status())
        app.on_screen(screen("idle", 1, mono=clock[0]))
        pump(2)
        return app, link, clock

    yield make
    for app in made:
        stop_app(window, app)


def feed(app: KioskApp, news: Screen) -> None:
    """Core says what to show; let the screen switch and its layout settle."""
    app.on_screen(news)
    pump(4)


def showing(app: KioskApp) -> str:
    """The name of the screen on display."""
    return str(shown_screen(app).name)


def test_a_press_shows_on_the_next_frame_well_within_100_ms(started: Callable[[], Started]) -> None:
    app, _, _ = started()
    button = app.root.ids.header.ids.lang_button
    normal = list(button.background_color)
    began = time.monotonic()
    touch = tap(button, release=False)
    drawn_after = time.monotonic() - began
    state, colour = button.state, list(button.background_color)
    touch.touch_up()
    pump()
    assert drawn_after < 0.1
    assert state == "down"
    assert colour != normal


def test_the_language_button_switches_every_text_to_english_and_back(started: Callable[[], Started]) -> None:
    app, _, _ = started()
    assert "请扫码" in texts(app)
    tap(app.root.ids.header.ids.lang_button)
    assert "Scan your code" in texts(app)
    assert "Xuhui Rider Station" in texts(app)
    assert not any("请扫码" in t for t in texts(app))
    tap(app.root.ids.header.ids.lang_button)
    assert "请扫码" in texts(app)


def test_idle_shows_how_many_charged_batteries_wait(started: Callable[[], Started]) -> None:
    app, _, _ = started()
    assert "可换满电电池：5块" in texts(app)
    app.on_status(status(charged=0))
    assert "暂无满电电池" in texts(app)


def test_a_refusal_goes_back_to_idle_after_a_minute_untouched(started: Callable[[], Started]) -> None:
    app, _, clock = started()
    feed(app, screen("code.refused.expired", 2, mono=clock[0]))
    assert showing(app) == UiScreen.REFUSAL
    clock[0] += 59
    pump_until(lambda: "此码已过期" in texts(app), 3, "the refusal still shown")
    clock[0] += 2
    pump_until(lambda: showing(app) == UiScreen.IDLE, 3, "idle after a minute")


def test_a_swap_step_never_times_out_to_idle_and_its_countdown_runs(started: Callable[[], Started]) -> None:
    app, _, clock = started()
    app.on_screen(screen("swap.open_return_bay", 2, mono=clock[0]))
    clock[0] += 61
    pump_until(lambda: "剩余 59 秒" in texts(app), 3, "the countdown at 59 s")
    assert showing(app) == UiScreen.SWAP


def test_ok_goes_back_to_idle_and_a_repeated_screen_after_a_reconnect_does_not_return(
    started: Callable[[], Started],
) -> None:
    app, _, clock = started()
    feed(app, screen("swap.done", 2, mono=clock[0]))
    tap(shown_screen(app).ids.ok)
    assert showing(app) == UiScreen.IDLE
    app.on_screen(screen("swap.done", 2, mono=clock[0]))  # the stream's first message after a reconnect
    pump()
    assert showing(app) == UiScreen.IDLE
    feed(app, screen("swap.busy", 3, mono=clock[0]))
    assert showing(app) == UiScreen.REFUSAL


def test_the_reopen_button_asks_core_to_open_the_bay_again(started: Callable[[], Started]) -> None:
    app, link, clock = started()
    feed(app, screen("swap.no_battery", 2, mono=clock[0]))
    assert "再次打开柜门" in texts(app)
    tap(shown_screen(app).ids.reopen)
    assert link.reopens == 1


def test_core_unreachable_shows_out_of_service_and_that_it_reconnects(started: Callable[[], Started]) -> None:
    app, _, _ = started()
    app.on_link(False, "connection refused")
    pump()
    assert showing(app) == UiScreen.OUT_OF_SERVICE
    assert {"暂停服务", "正在重新连接…"} <= set(texts(app))
    app.on_link(True, "connected")
    pump()
    assert showing(app) == UiScreen.IDLE


def test_a_cabinet_that_cannot_serve_anyone_puts_the_station_out_of_service(started: Callable[[], Started]) -> None:
    app, _, _ = started()
    app.on_status(status(faulted=tuple(range(1, 13))))
    pump()
    assert showing(app) == UiScreen.OUT_OF_SERVICE
    assert "换电柜故障。" in texts(app)


def test_maintenance_opens_only_with_the_pin_and_then_shows_cores_status(started: Callable[[], Started]) -> None:
    app, _, _ = started()
    tap(shown_screen(app).ids.staff)
    pad = shown_screen(app)
    assert pad.name == UiScreen.MAINTENANCE
    for key in (0, 0, 0, 0, 11):  # "1111", OK
        pad.press(key)
    pump()
    assert "密码错误" in texts(app)
    for key in (1, 3, 5, 7, 11):  # "2468", OK
        pad.press(key)
    pump()
    assert any("sh-xuhui-001" in t for t in texts(app))
    tap(pad.ids.back)
    assert showing(app) == UiScreen.IDLE


def test_the_rider_screen_greets_by_name_with_points_in_both_languages(started: Callable[[], Started]) -> None:
    app, _, clock = started()
    feed(app, screen("rider", 2, mono=clock[0]))
    assert {"您好，张师傅", "积分：1280", "换电池"} <= set(texts(app))
    tap(app.root.ids.header.ids.lang_button)
    assert {"Hello, 张师傅", "Points: 1280", "Swap battery"} <= set(texts(app))
