"""Every screen at every supported size, in Chinese and English: it fits, it is big enough, it says the right thing.

Screenshots of each go to ``test-artifacts/ui/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.ui.app import KioskApp
from kiosk.ui.i18n import Language
from kiosk.ui.settings import SIZES
from tests.ui.cases import CASES, screen, status
from tests.ui.conftest import SETTINGS
from tests.ui.harness import (
    FakeLink,
    escaping,
    lone_last_lines,
    overflowing,
    shown_screen,
    small_buttons,
    start_app,
    stop_app,
    texts,
)
from tests.ui.loop import pump, resize, screenshot
from tests.ui.safety_cases import SAFETY_CASES, safety_status

EXTRA = ["out_of_service.unreachable", "out_of_service.cabinet", "maintenance.pin", "maintenance.status", *SAFETY_CASES]
ALL = [*CASES, *EXTRA]


@pytest.fixture(scope="module")
def app(window: Any) -> Iterator[KioskApp]:
    """One app for the module, fed core's news directly (the flow tests use a real core)."""
    made = start_app(window, SETTINGS, lambda listener, post: FakeLink())
    yield made
    stop_app(window, made)


def show(app: KioskApp, case: str, language: Language) -> None:
    """Put ``case`` on the screen in ``language``."""
    number = (app.core_screen.number + 1) if app.core_screen else 1
    app.maintenance = False
    app.on_link(True, "test")
    healthy = status()
    app.on_status(healthy)  # no safety alarm left over from the case before
    if case in SAFETY_CASES:
        cabinet, bays, under = SAFETY_CASES[case]
        app.on_status(safety_status(cabinet, bays))
        app.on_screen(screen(under, number))
    elif case == "out_of_service.unreachable":
        app.on_screen(screen("idle", number))
        app.on_link(False, "test")
    elif case == "out_of_service.cabinet":
        app.on_screen(screen("idle", number))
        app.on_status(status(faulted=tuple(range(1, 13))))
    elif case.startswith("maintenance"):
        app.on_status(healthy)
        app.on_screen(screen("idle", number))
        app.open_maintenance()
        if case == "maintenance.status":
            pad = shown_screen(app)
            for key in (1, 3, 5, 7):  # "2468" on the pad: keys are 1..9 at indexes 0..8
                pad.press(key)
            pad.press(11)
    else:
        app.on_status(healthy)
        app.on_screen(screen(case, number))
    app.set_language(language)
    pump(4)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("case", ALL)
def test_every_screen_fits_stays_in_its_place_and_has_big_buttons_in_both_languages(
    app: KioskApp, window: Any, size: tuple[int, int], case: str
) -> None:
    resize(window, size)
    problems = []
    for language in Language:
        show(app, case, language)
        screenshot(app.root, f"{case}-{size[0]}x{size[1]}-{language.value}")
        problems += [f"{language.value}: {p}" for p in overflowing(app) + escaping(app) + small_buttons(app)]
        problems += [f"{language.value}: {p}" for p in lone_last_lines(app)]
        assert texts(app), "nothing is written on the screen"
    assert problems == []
