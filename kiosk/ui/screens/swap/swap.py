"""Swap: step by step, the bay number huge, the bay lit on the cabinet diagram, a countdown for each wait."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import SwapStep, UiScreen, View, countdown

STEP_NAMES = {
    SwapStep.RETURN: N_("1 Return your battery"),
    SwapStep.COLLECT: N_("2 Take a charged one"),
    SwapStep.DONE: N_("3 Done"),
}


class SwapScreen(KioskScreen):
    """One swap, from the open return bay to its ending."""

    ui = UiScreen.SWAP
    bay_text = StringProperty("")
    bay_label = StringProperty("")
    countdown_text = StringProperty("")
    step = NumericProperty(0)
    step_names = ListProperty(["", "", ""])
    can_reopen = BooleanProperty(False)
    terminal = BooleanProperty(False)
    bays = ListProperty([])
    faulted = ListProperty([])
    columns = NumericProperty(4)
    ok_text = StringProperty("")
    reopen_text = StringProperty("")

    def show(self, view: View, shown_at: float, t: Translate) -> None:
        """Show one step or the ending."""
        self.step = int(view.step) if view.step is not None else 0
        self.can_reopen = view.can_reopen
        self.terminal = view.terminal
        self.bay_text = str(view.bay) if view.bay is not None else ""
        super().show(view, shown_at, t)

    def render(self, t: Translate) -> None:
        """Words for the view, the steps and the buttons."""
        super().render(t)
        self.bay_label = t(N_("Bay")) if self.bay_text else ""
        self.step_names = [t(STEP_NAMES[s]) if self.step else "" for s in SwapStep]
        self.ok_text = t(N_("OK")) if self.terminal else ""
        self.reopen_text = t(N_("Open the door again")) if self.can_reopen else ""
        self.countdown_text = ""

    def tick(self, now: float, t: Translate) -> None:
        """The countdown of the wait the rider is in."""
        left = countdown(self.view.seconds, self.shown_at, now)
        self.countdown_text = "" if left is None else t(N_("{seconds} s left")).format(seconds=left)

    def set_cabinet(self, bays: list[int], faulted: set[int], columns: int) -> None:
        """The cabinet's bays as the status lists them."""
        self.bays = bays
        self.faulted = sorted(faulted)
        self.columns = columns
