"""Evacuation: the cabinet is in a fire alarm. Red, large, Chinese first and English under it, nothing to press.

It takes over whatever was shown (see :mod:`kiosk.ui.safety_views`) and stays until core's safety
supervisor says the fire is over (staff reset it); the words do not follow the language switch, since
whoever stands in front of the screen must understand it at once.
"""

from __future__ import annotations

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.views import UiScreen

FIRE_RED = (0.72, 0.05, 0.05, 1)
"""The screen's background: a deep red white text reads well on."""


class EvacuateScreen(KioskScreen):
    """Shown while the cabinet is in a fire alarm (no touch does anything)."""

    ui = UiScreen.EVACUATE
