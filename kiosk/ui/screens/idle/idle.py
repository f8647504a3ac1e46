"""Idle: "scan your code", where the scanner is, charged batteries now (the header has name, time, language)."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import UiScreen

SCANNER_AT = {
    "below": N_("The scanner is below this screen"),
    "left": N_("The scanner is to the left of this screen"),
    "right": N_("The scanner is to the right of this screen"),
}


def charged_text(count: int | None, t: Translate) -> str:
    """How many charged batteries wait here, in words ('' while unknown)."""
    if count is None:
        return ""
    if count == 0:
        return t(N_("No charged battery right now"))
    return t(N_("{count} charged batteries ready")).format(count=count)


class IdleScreen(KioskScreen):
    """What the station shows between riders."""

    ui = UiScreen.IDLE
    scanner_direction = StringProperty("below")
    scanner_text = StringProperty("")
    charged = StringProperty("")
    charged_ok = BooleanProperty(False)
    staff = BooleanProperty(False)
    """Whether the staff button shows (only with a maintenance PIN configured)."""

    def update(self, charged_count: int | None, direction: str, staff: bool, t: Translate) -> None:
        """Refresh what depends on the station's status and settings."""
        self.scanner_direction = direction
        self.scanner_text = t(SCANNER_AT.get(direction, SCANNER_AT["below"]))
        self.charged = charged_text(charged_count, t)
        self.charged_ok = bool(charged_count)
        self.staff = staff
