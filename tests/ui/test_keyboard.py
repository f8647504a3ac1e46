"""The feedback screen's on-screen keyboard: 15 mm keys on every display in both languages, over pages;
typing by taps, deleting, the 140-character limit, and the words staying in sight above the keys.

Screenshots of every page at every size go to ``test-artifacts/ui/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.core.rider_events import FEEDBACK_TEXT_MAX
from kiosk.ui.app import KioskApp
from kiosk.ui.i18n import Language
from kiosk.ui.keyboard import KEYS, fitting, page_label, paginate
from kiosk.ui.settings import SIZES
from kiosk.ui.views import UiScreen
from tests.ui.conftest import SETTINGS
from tests.ui.harness import FakeLink, escaping, overflowing, shown_screen, small_buttons, start_app, stop_app, tap
from tests.ui.keys import tap_key, type_by_taps
from tests.ui.loop import pump, resize, screenshot
from tests.ui.rider_show import show_rider_case

Started = tuple[KioskApp, FakeLink]
LONGEST = ("more water please and a bench in the shade 42 " * 4)[:FEEDBACK_TEXT_MAX]


@pytest.fixture(scope="module")
def started(window: Any) -> Iterator[Started]:
    """One app for the module, fed core's news and answers through a fake link."""
    link = FakeLink()
    made = start_app(window, SETTINGS, lambda listener, post: link)
    yield made, link
    stop_app(window, made)


def typing(started: Started, language: Language, size: tuple[int, int] = (800, 480), words: str = "") -> Any:
    """The feedback screen on its keyboard page at ``size`` in ``language``, ``words`` already typed."""
    app, link = started
    resize(app.root.get_root_window(), size)
    show_rider_case(app, link, "feedback.send")
    screen = shown_screen(app)
    screen.words = ""
    screen.open_keyboard()
    screen.type_text(words)
    app.set_language(language)
    pump(3)
    assert screen.ui is UiScreen.FEEDBACK
    assert screen.keyboard is not None
    return screen


def window_rect(widget: Any) -> tuple[float, float, float, float]:
    """Where ``widget`` is drawn in the window: x0, y0, x1, y1."""
    x, y = widget.to_window(*widget.pos)
    return x, y, x + widget.width, y + widget.height


# --- pure: how many keys fit, the pages, the page key's words -----------------------------------------------------


def test_fitting_counts_the_whole_keys_that_fit_with_gaps_between_them() -> None:
    assert fitting(776, 79, 8) == 9
    assert fitting(79 * 3 + 8 * 2, 79, 8) == 3
    assert fitting(79 * 3 + 8 * 2 - 1, 79, 8) == 2


def test_fitting_keeps_one_key_in_a_box_too_small_for_it() -> None:
    assert fitting(30, 79, 8) == 1


def test_fitting_refuses_a_key_without_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        fitting(800, 0, 8)


def test_paginate_spreads_the_keys_in_order_over_full_pages() -> None:
    assert paginate("abcdefg", 3) == ["abc", "def", "g"]
    assert "".join(paginate(KEYS, 18)) == KEYS


def test_paginate_refuses_pages_without_room() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        paginate(KEYS, 0)


def test_page_label_names_the_runs_of_letters_and_digits_on_a_page() -> None:
    assert page_label("abcdefghijklmnopqr") == "a–r"
    assert page_label("stuvwxyz0123456789") == "s–z 0–9"
    assert page_label("z0123456789") == "z 0–9"


# --- every key big enough, on every page, at every size, in both languages --------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_key_on_every_page_is_at_least_15_mm_inside_the_window_in_both_languages(
    started: Started, size: tuple[int, int]
) -> None:
    app = started[0]
    problems: list[str] = []
    for language in Language:
        screen = typing(started, language, size, "more water please")
        keyboard, controls = screen.keyboard, screen.controls
        typed: list[str] = []
        for page in range(keyboard.page_count):
            screenshot(app.root, f"feedback.keyboard-{page + 1}-{size[0]}x{size[1]}-{language.value}")
            keys = [*keyboard.key_buttons(), *controls.children]
            where = f"{language.value} page {page + 1}"
            for key in keys:
                x0, y0, x1, y1 = window_rect(key)
                if min(key.size) < app.touch - 0.5:
                    problems.append(f"{where}: {key.text!r} is {key.width:.0f}x{key.height:.0f} < {app.touch}")
                if x0 < -0.5 or y0 < -0.5 or x1 > size[0] + 0.5 or y1 > size[1] + 0.5:
                    problems.append(f"{where}: {key.text!r} is off the window")
            problems += [f"{where}: {p}" for p in overflowing(app) + escaping(app) + small_buttons(app)]
            typed += [key.text for key in keyboard.key_buttons()]
            if keyboard.page_count > 1:
                tap(controls.page_key)
                pump(2)
        assert sorted(typed) == sorted(KEYS), f"{language.value}: every character has exactly one key"
    assert problems == []


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_longest_text_the_city_takes_stays_in_sight_above_the_keys(started: Started, size: tuple[int, int]) -> None:
    app = started[0]
    for language in Language:
        screen = typing(started, language, size, LONGEST)
        screenshot(app.root, f"feedback.keyboard-full-{size[0]}x{size[1]}-{language.value}")
        body = screen.ids.body
        assert body.text == LONGEST
        assert body.texture_size[1] > 0
        assert body.y >= screen.keyboard.top
        assert overflowing(app) == [], f"{language.value}: the words fit their box"


# --- typing by taps -------------------------------------------------------------------------------------------------


def test_tapped_keys_type_letters_space_and_digits_across_pages(started: Started) -> None:
    screen = typing(started, Language.EN)
    type_by_taps(screen, "ok 42")
    assert screen.words == "ok 42"
    assert screen.ids.body.text == "ok 42"


def test_the_delete_key_removes_the_last_character(started: Started) -> None:
    screen = typing(started, Language.EN, words="water")
    tap_key(screen, "\b")
    assert screen.words == "wate"


def test_the_page_key_says_what_the_next_page_holds_and_comes_back_to_the_first(started: Started) -> None:
    screen = typing(started, Language.EN)
    keyboard, page_key = screen.keyboard, screen.controls.page_key
    assert keyboard.page_count == 2
    assert (page_key.text, keyboard.key_buttons()[0].text) == ("s–z 0–9", "a")
    tap(page_key)
    pump(2)
    assert (page_key.text, keyboard.key_buttons()[0].text) == ("a–r", "s")
    tap(page_key)
    pump(2)
    assert keyboard.key_buttons()[0].text == "a"


def test_typing_stops_at_the_longest_text_the_city_takes_and_says_so(started: Started) -> None:
    screen = typing(started, Language.EN, words="x" * (FEEDBACK_TEXT_MAX - 1))
    type_by_taps(screen, "ab")
    assert screen.words == "x" * (FEEDBACK_TEXT_MAX - 1) + "a"
    assert screen.title == f"That is as much as fits: {FEEDBACK_TEXT_MAX} characters"


def test_deleting_below_the_limit_asks_for_words_again(started: Started) -> None:
    screen = typing(started, Language.EN, words="x" * FEEDBACK_TEXT_MAX)
    tap_key(screen, "\b")
    assert screen.title == "Type a few words (letters and digits)"


def test_space_and_delete_are_named_in_the_language_shown(started: Started) -> None:
    screen = typing(started, Language.ZH)
    assert (screen.controls.space_key.text, screen.controls.delete_key.text) == ("空格", "删除")
    started[0].set_language(Language.EN)
    pump(2)
    assert (screen.controls.space_key.text, screen.controls.delete_key.text) == ("Space", "Delete")


def test_finishing_typing_takes_the_keys_away_and_keeps_the_words(started: Started) -> None:
    screen = typing(started, Language.EN)
    type_by_taps(screen, "hi")
    tap(screen.ids.back)
    assert (screen.keyboard, screen.controls) == (None, None)
    assert "“hi”" in screen.body
