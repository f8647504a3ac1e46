"""Scan your code now: core waits for the rider's code to know who they are (points, a booking, signed feedback)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.rider_views import IDENTIFY_PURPOSE
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import UiScreen, countdown


class IdentifyScreen(KioskScreen):
    """What the scan is for, where the scanner is, and how long the station waits."""

    ui = UiScreen.IDENTIFY
    countdown_text = StringProperty("")
    cancel_text = StringProperty("")
    scanner_direction = StringProperty("below")

    def render(self, t: Translate) -> None:
        """The words for the purpose the scan was asked for."""
        super().render(t)
        self.body = t(IDENTIFY_PURPOSE.get(self.view.purpose, IDENTIFY_PURPOSE["rider"]))
        self.cancel_text = t(N_("Cancel"))

    def tick(self, now: float, t: Translate) -> None:
        """The countdown of the wait for the scan."""
        left = countdown(self.view.seconds, self.shown_at, now)
        self.countdown_text = "" if left is None else t(N_("{seconds} s left")).format(seconds=left)
