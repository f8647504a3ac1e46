"""The battery-safety screens: evacuation at fire, calm words at alarm, and back when the level clears.

The statuses come from the real safety supervisor where the test is about its rules (a fire latches
until staff reset it); the app is fed them as the core client would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kivy.uix.button import Button

from kiosk.api.models import Status
from kiosk.core.clock import FakeClock
from kiosk.core.events import Event, EventRecord
from kiosk.core.hardware import SafetyIoConfig
from kiosk.core.safety_config import SafetyConfig
from kiosk.devices.base import BatteryReading
from kiosk.flows.safety import SafetySupervisor
from kiosk.ui.app import KioskApp
from kiosk.ui.i18n import Language
from kiosk.ui.views import UiScreen
from tests.ui.cases import screen, status
from tests.ui.conftest import SETTINGS
from tests.ui.harness import FakeLink, shown_screen, start_app, stop_app, texts, visible, walk_shown
from tests.ui.loop import pump, resize, screenshot
from tests.ui.safety_cases import safety_part, safety_status

FIRE_ZH = "火警！请立即离开"
FIRE_EN = "Fire — leave the station now"


@pytest.fixture
def app(window: Any) -> Iterator[KioskApp]:
    """A linked app at 800x480 showing idle, fed core's news by the test."""
    made = start_app(window, SETTINGS, lambda listener, post: FakeLink())
    resize(window, (800, 480))
    made.on_link(True, "test")
    made.on_status(status())
    made.on_screen(screen("idle", 1))
    pump(3)
    yield made
    stop_app(window, made)


def showing(app: KioskApp) -> str:
    return str(shown_screen(app).name)


def pressable(app: KioskApp) -> list[str]:
    """Buttons on display that a finger could press."""
    return [b.text for b in walk_shown(app) if isinstance(b, Button) and visible(b) and not b.disabled]


def feed(app: KioskApp, news: Status) -> None:
    app.on_status(news)
    pump(3)


def test_a_fire_takes_over_a_swap_in_both_languages_with_nothing_to_press(app: KioskApp) -> None:
    app.on_screen(screen("swap.open_return_bay", 2))
    pump(3)
    assert showing(app) == "swap"
    feed(app, safety_status("fire", {4: "fire"}))
    assert showing(app) == UiScreen.EVACUATE.value
    ids = shown_screen(app).ids
    assert (ids.title_zh.text, ids.title_en.text) == (FIRE_ZH, FIRE_EN)
    assert ids.title_zh.y > ids.title_en.y  # Chinese first, at the top
    assert "119" in ids.body_zh.text
    assert "119" in ids.body_en.text
    assert ids.title_zh.font_size > ids.title_en.font_size > ids.body_en.font_size
    assert pressable(app) == []  # not even the language switch
    assert app.root.ids.safety_strip.height == 0
    screenshot(app.root, "safety-fire-800x480")
    app.set_language(Language.EN)  # the words do not follow the switch: both are always there
    pump(2)
    assert shown_screen(app).ids.title_zh.text == FIRE_ZH


def test_a_fire_wins_over_staff_maintenance_and_stays_while_core_is_unreachable(app: KioskApp) -> None:
    app.open_maintenance()
    pump(2)
    assert showing(app) == "maintenance"
    feed(app, safety_status("fire", {}))
    assert showing(app) == UiScreen.EVACUATE.value
    app.on_link(False, "core went away")
    pump(2)
    assert showing(app) == UiScreen.EVACUATE.value  # not "out of service", which reads as "come back later"


def test_an_alarmed_bay_gets_a_calm_line_and_the_rest_of_the_station_works(app: KioskApp) -> None:
    feed(app, safety_status("watch", {3: "alarm"}))
    assert showing(app) == "idle"
    strip = app.root.ids.safety_strip
    assert strip.text == "3号格口暂停使用，其他格口照常服务。"
    assert visible(strip)
    assert strip.height > 0
    assert any("请扫码" in t for t in texts(app))
    app.set_language(Language.EN)
    pump(2)
    assert strip.text == "Bay 3 is out of service. The other bays work as usual."
    feed(app, safety_status("watch", {3: "alarm", 11: "alarm"}))
    assert strip.text == "Bays 3, 11 are out of service. The other bays work as usual."
    app.on_screen(screen("swap.take_charged", 5))
    pump(3)
    assert showing(app) == "swap"
    assert visible(strip)
    screenshot(app.root, "safety-bay-alarm-swap-800x480-en")
    feed(app, safety_status("normal", {}))
    assert strip.text == ""
    assert strip.height == 0
    assert not visible(strip)


def test_a_cabinet_in_alarm_pauses_swaps_calmly_and_idle_comes_back_when_it_clears(app: KioskApp) -> None:
    feed(app, safety_status("alarm", {}))
    shown = shown_screen(app)
    assert showing(app) == "out_of_service"
    assert (shown.tone, shown.title) == ("warn", "暂停换电")  # calm: the warning colour, not the fault red
    assert pressable(app) == [app.t("Other language")]
    screenshot(app.root, "safety-cabinet-alarm-800x480-zh")
    feed(app, safety_status("watch", {}))
    assert showing(app) == "idle"


# --- against the supervisor's own rules ---------------------------------------------------------------


def supervisor() -> tuple[SafetySupervisor, list[Event]]:
    events: list[Event] = []

    def record(event: Event) -> EventRecord:
        events.append(event)
        return None  # type: ignore[return-value]  # nothing is handed on (no urgent relay here)

    made = SafetySupervisor(
        SafetyConfig(),
        SafetyIoConfig(),
        clock=FakeClock(),
        cabinet=None,  # type: ignore[arg-type]  # start() is not called: readings are fed directly
        battery_bays=frozenset(range(1, 13)),
        record=record,
    )
    return made, events


def served(sup: SafetySupervisor) -> Status:
    data = status().model_dump()
    data["components"]["safety"] = {"state": "running", "optional": False, **sup.get_status()}
    return Status.model_validate(data)


def pack(bay: int, temp: float) -> dict[int, BatteryReading]:
    return {bay: BatteryReading(bay=bay, present=True, battery_id="SH0000004", temperature_c=temp)}


def test_the_evacuation_screen_stays_while_the_fire_is_latched_and_goes_once_staff_reset_it(app: KioskApp) -> None:
    sup, _ = supervisor()
    clock = sup.clock
    assert isinstance(clock, FakeClock)
    sup.readings(pack(4, 30.0))
    feed(app, served(sup))
    assert showing(app) == "idle"
    sup.readings(pack(4, 80.0))  # past fire_c
    feed(app, served(sup))
    assert showing(app) == UiScreen.EVACUATE.value
    for _ in range(10):  # the pack cools down, minutes pass: the fire latches
        clock.advance(60)
        sup.readings(pack(4, 28.0))
    feed(app, served(sup))
    assert showing(app) == UiScreen.EVACUATE.value
    assert sup.reset(4, by="wang") is None
    feed(app, served(sup))
    assert showing(app) == "idle"
    assert app.root.ids.safety_strip.text == ""


def test_safety_parts_that_are_missing_or_odd_never_alarm_the_screen(app: KioskApp) -> None:
    def odd(part: dict[str, Any]) -> Status:
        return Status.model_validate(
            {**status().model_dump(), "components": {**status().model_dump()["components"], "safety": part}}
        )

    for part in ({}, {"cabinet": "fire"}, {"bays": {"x": {"level": "fire"}}}, {"bays": {"2": "alarm"}}):
        feed(app, odd(part))
        assert showing(app) == "idle", part
    feed(app, odd(safety_part("normal", {2: "watch"})))
    assert showing(app) == "idle"
    assert app.root.ids.safety_strip.text == ""
