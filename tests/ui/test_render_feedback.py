"""The feedback, nearby and idle screens at every supported display size, in Chinese and English: they fit,
stay in their place, their buttons are 15 mm or more, they say something (services, points and the rider's
screens are in test_render_services.py, so each file stays quick).

Screenshots of each go to ``test-artifacts/ui/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.ui.app import KioskApp
from kiosk.ui.settings import SIZES
from tests.ui.conftest import SETTINGS
from tests.ui.harness import FakeLink, start_app, stop_app
from tests.ui.rider_show import RIDER_CASES, render_problems

Started = tuple[KioskApp, FakeLink]
FAMILIES = ("services", "points", "rider")
CASES = [case for case in RIDER_CASES if case.partition(".")[0] not in FAMILIES]


@pytest.fixture(scope="module")
def started(window: Any) -> Iterator[Started]:
    """One app for the module, fed core's news and answers through a fake link."""
    link = FakeLink()
    made = start_app(window, SETTINGS, lambda listener, post: link)
    yield made, link
    stop_app(window, made)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("case", CASES)
def test_every_feedback_nearby_and_idle_screen_fits_stays_in_its_place_and_has_big_buttons_in_both_languages(
    started: Started, window: Any, size: tuple[int, int], case: str
) -> None:
    app, link = started
    assert render_problems(app, link, window, size, case) == []
