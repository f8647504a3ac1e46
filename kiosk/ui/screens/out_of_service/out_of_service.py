"""Out of service: core cannot be reached, or the cabinet cannot serve anyone."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.views import Msg, Tone, UiScreen, View

REACHING = View(
    UiScreen.OUT_OF_SERVICE,
    Tone.BAD,
    Msg(N_("Out of service")),
    Msg(N_("This station cannot serve you right now. Please use a nearby station.")),
    hint=Msg(N_("Reconnecting…")),
    terminal=False,
)
"""Core is unreachable (the UI keeps trying)."""
CABINET = View(
    UiScreen.OUT_OF_SERVICE,
    Tone.BAD,
    Msg(N_("Out of service")),
    Msg(N_("This station cannot serve you right now. Please use a nearby station.")),
    hint=Msg(N_("The battery cabinet is out of order.")),
    terminal=False,
)
"""Core runs but its cabinet cannot serve anyone."""


class OutOfServiceScreen(KioskScreen):
    """Shown until the station can serve riders again (no touch needed)."""

    ui = UiScreen.OUT_OF_SERVICE
    detail = StringProperty("")
