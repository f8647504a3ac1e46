"""The take-back screen for a pack the registry refused, under Xvfb: it says why, in Chinese first and in English,
fits at every supported size, and its text is the catalog's (the screen's string table in both languages)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.api.screen import Screen
from kiosk.ui.app import KioskApp
from kiosk.ui.i18n import Language, Translator
from kiosk.ui.settings import SIZES
from kiosk.ui.views import SWAP_ENDINGS, TAKE_BACK_REASONS, view_of
from tests.ui.cases import status
from tests.ui.conftest import SETTINGS
from tests.ui.harness import FakeLink, escaping, lone_last_lines, overflowing, small_buttons, start_app, stop_app, texts
from tests.ui.loop import pump, resize, screenshot

REASONS = ("unknown", "retired", "low_soh")
ZH_WORDS = {"unknown": "未在本市登记", "retired": "已退役", "low_soh": "健康度过低"}
"""What the Chinese text must say for each reason."""


def take_back(reason: str, number: int = 1) -> Screen:
    params = {"bay": 7, "reason": reason, "battery_id": "SH8999999", "seconds": 120}
    return Screen(number=number, name="swap.take_back", params=params, mono=0.0)


@pytest.mark.parametrize("reason", REASONS)
def test_each_refusal_has_its_own_words_in_both_catalogs(reason: str) -> None:
    view = view_of(take_back(reason))
    assert view.body.msgid == TAKE_BACK_REASONS[reason]
    translator = Translator()
    zh = translator.gettext(view.body.msgid, Language.ZH)
    assert ZH_WORDS[reason] in zh
    assert translator.gettext(view.body.msgid, Language.EN) == view.body.msgid


def test_a_swap_ended_for_a_refused_pack_has_words_in_both_languages() -> None:
    _tone, title, body = SWAP_ENDINGS["refused_battery"]
    translator = Translator()
    assert translator.gettext(body, Language.ZH) != body
    assert "退役" in translator.gettext(body, Language.ZH)
    assert translator.gettext(title, Language.ZH) == "电池未被接收"


@pytest.fixture(scope="module")
def app(window: Any) -> Iterator[KioskApp]:
    made = start_app(window, SETTINGS, lambda listener, post: FakeLink())
    yield made
    stop_app(window, made)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("reason", REASONS)
def test_the_take_back_screen_says_why_and_fits_in_both_languages(
    app: KioskApp, window: Any, size: tuple[int, int], reason: str
) -> None:
    resize(window, size)
    translator = Translator()
    problems: list[str] = []
    for language in Language:
        number = (app.core_screen.number + 1) if app.core_screen else 1
        app.maintenance = False
        app.on_link(True, "test")
        app.on_status(status())
        app.on_screen(take_back(reason, number))
        app.set_language(language)
        pump(4)
        screenshot(app.root, f"swap.take_back.{reason}-{size[0]}x{size[1]}-{language.value}")
        shown = " ".join(texts(app))
        assert translator.gettext(TAKE_BACK_REASONS[reason], language) in shown.replace("\n", "")
        assert "7" in shown  # the bay to open
        problems += [f"{language.value}: {p}" for p in overflowing(app) + escaping(app) + small_buttons(app)]
        problems += [f"{language.value}: {p}" for p in lone_last_lines(app)]
    assert problems == []
