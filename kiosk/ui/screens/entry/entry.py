"""Entry: welcome when the door opens, or why it stays closed."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import UiScreen


class EntryScreen(KioskScreen):
    """The entry door's answer to a scanned code."""

    ui = UiScreen.ENTRY
    ok_text = StringProperty("")

    def render(self, t: Translate) -> None:
        """Words for the view and the button."""
        super().render(t)
        self.ok_text = t(N_("OK"))
