"""The rider's screen with no swappable battery here: no live "Swap battery", words that say so, the nearby
stations that have one; and the swap offered again once core counts a charged battery (core's news and
answers fed through a fake link; tests/ui/test_rider_flows.py has the same with a real core).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kivy.uix.button import Button

from kiosk.api.models import Status
from kiosk.ui.app import KioskApp
from kiosk.ui.calls import Problem
from kiosk.ui.i18n import Language
from kiosk.ui.views import UiScreen
from tests.ui.cases import status
from tests.ui.conftest import SETTINGS
from tests.ui.harness import FakeLink, shown_screen, start_app, stop_app, tap, texts
from tests.ui.loop import pump, resize
from tests.ui.rider_cases import CONTENT, rider_screen
from tests.ui.rider_show import answer_everything, core_says

Started = tuple[KioskApp, FakeLink]
WORDS = {
    "zh_CN": {
        "swap": "换电池",
        "none": "本站暂无可换电池",
        "nearest": "本站暂无可换电池。最近有满电电池的驿站：漕溪北路驿站 · 640 m · 满电5块",
        "later": "本站暂无可换电池，请稍后再来。",
        "nearby": "附近驿站",
    },
    "en": {
        "swap": "Swap battery",
        "none": "No charged battery here now",
        "nearest": (
            "No charged battery here now. The nearest station with one: Caoxi North Rd Station · 640 m · 5 charged"
        ),
        "later": "No charged battery here now. Please come back later.",
        "nearby": "Nearby stations",
    },
}
LANGUAGES = [Language.ZH, Language.EN]
SWAP = "POST /api/rider/swap"


@pytest.fixture
def started(window: Any) -> Iterator[Callable[..., Started]]:
    """An app on the rider's screen in ``language``, core counting ``charged`` swappable batteries here."""
    made: list[KioskApp] = []

    def make(language: Language, charged: int, *, nearby: bool = True) -> Started:
        link = FakeLink()
        answer_everything(link)
        if not nearby:
            link.answers["GET /api/content"] = CONTENT.model_copy(update={"nearby": []})
        app = start_app(window, SETTINGS, lambda listener, post: link)
        made.append(app)
        resize(window, (800, 480))
        app.on_link(True, "test")
        app.on_status(core_counts(charged))
        core_says(app, "idle", {})
        app.set_language(language)
        core_says(app, *rider_screen("rider"))
        pump(2)
        assert shown_screen(app).name == UiScreen.RIDER.value
        return app, link

    yield make
    for app in made:
        stop_app(window, app)


def core_counts(charged: int) -> Status:
    """A status whose bays all look charged but where core counts ``charged`` swappable (its own rule: an
    alarm, heat or a fault it knows of): the screen follows core's count, never its own guess from the bays."""
    made = status(charged=10)
    made.components["station"]["charged_batteries"] = charged
    return made


def first_button(app: KioskApp) -> Any:
    """The button in the swap's place on the rider's screen."""
    return shown_screen(app).ids.action0


def asked(link: FakeLink) -> list[str]:
    """The calls the app made of core, by key."""
    return [call.key for call in link.calls]


def live_texts(app: KioskApp) -> list[str]:
    """The words of every visible button that does something."""
    screen = shown_screen(app)
    return [w.text for w in screen.walk() if isinstance(w, Button) and w.opacity > 0 and not w.disabled]


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_with_no_charged_battery_the_rider_is_pointed_to_the_nearest_station_instead_of_a_swap(
    started: Callable[..., Started], language: Language
) -> None:
    app, link = started(language, charged=0)
    words = WORDS[language.value]
    assert words["swap"] not in live_texts(app)
    assert words["nearest"] in texts(app)
    button = first_button(app)
    assert (button.text, button.tone, button.disabled) == (words["nearby"], "warn", False)
    tap(button)
    assert shown_screen(app).name == UiScreen.NEARBY.value
    assert SWAP not in asked(link)


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_with_no_charged_battery_and_no_nearby_station_with_one_there_is_no_live_button_only_words(
    started: Callable[..., Started], language: Language
) -> None:
    app, link = started(language, charged=0, nearby=False)
    words = WORDS[language.value]
    button = first_button(app)
    assert (button.text, button.tone, button.disabled) == (words["none"], "dim", True)
    assert words["later"] in texts(app)
    assert words["swap"] not in live_texts(app)
    tap(button)
    app.screens[UiScreen.RIDER].choose(0)  # even a press that got through does nothing
    pump(2)
    assert SWAP not in asked(link)
    assert shown_screen(app).name == UiScreen.RIDER.value


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_the_swap_is_offered_again_once_core_counts_a_charged_battery(
    started: Callable[..., Started], language: Language
) -> None:
    app, link = started(language, charged=0)
    words = WORDS[language.value]
    app.on_status(core_counts(1))
    pump(2)
    button = first_button(app)
    assert (button.text, button.tone, button.disabled) == (words["swap"], "good", False)
    assert not any(words["none"] in t for t in texts(app))
    tap(button)
    assert asked(link).count(SWAP) == 1


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_a_swap_core_refuses_for_lack_of_a_charged_battery_is_told_and_no_longer_offered(
    started: Callable[..., Started], language: Language
) -> None:
    app, link = started(language, charged=1)  # the last one went into alarm after core's last status
    words = WORDS[language.value]
    link.answers[SWAP] = Problem.NO_CHARGED_BATTERY
    tap(first_button(app))
    pump(2)
    assert shown_screen(app).notice == words["none"]
    assert first_button(app).text == words["nearby"]
    assert words["swap"] not in live_texts(app)
