"""Rider: a greeting, the points balance and what the rider can do here."""

from __future__ import annotations

from collections.abc import Callable

from kivy.properties import ListProperty, StringProperty

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import UiScreen

ACTIONS: tuple[tuple[str, str], ...] = (
    ("swap", N_("Swap battery")),
    ("services", N_("Services")),
    ("points", N_("My points")),
    ("feedback", N_("Feedback")),
)
"""The rider's choices, in screen order (services, points and feedback screens come with later issues)."""


class RiderScreen(KioskScreen):
    """The rider's own screen after an accepted code."""

    ui = UiScreen.RIDER
    actions = ListProperty(["", "", "", ""])
    done_text = StringProperty("")
    on_action: Callable[[str], None] | None = None

    def render(self, t: Translate) -> None:
        """Words for the greeting and the buttons."""
        super().render(t)
        self.actions = [t(label) for _, label in ACTIONS]
        self.done_text = t(N_("Done"))

    def choose(self, index: int) -> None:
        """The rider pressed action ``index``."""
        if self.on_action is not None:
            self.on_action(ACTIONS[index][0])
