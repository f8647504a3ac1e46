"""Rider: a greeting, the points balance, the rider's bookings and what the rider can do here."""

from __future__ import annotations

from collections.abc import Callable

from kivy.properties import ListProperty, StringProperty

from kiosk.api.rider_models import RiderView, StationContent
from kiosk.core.content import Service
from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.rider_views import booking_line
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import Msg, UiScreen

ACTIONS: tuple[tuple[str, str], ...] = (
    ("swap", N_("Swap battery")),
    ("services", N_("Services")),
    ("points", N_("My points")),
    ("feedback", N_("Feedback")),
)
"""The rider's choices, in screen order."""
BOOKING_ROWS = 3


class RiderScreen(KioskScreen):
    """The rider's own screen after an accepted code."""

    ui = UiScreen.RIDER
    actions = ListProperty(["", "", "", ""])
    done_text = StringProperty("")
    bookings = StringProperty("")
    """The rider's bookings made here, one a line, with their status."""
    on_action: Callable[[str], None] | None = None

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.rider: RiderView | None = None
        self.services: list[Service] = []

    def set_data(self, content: StationContent | None, rider: RiderView | None, t: Translate) -> None:
        """Fresh content (service titles) or rider (balance, bookings)."""
        if content is not None:
            self.services = list(content.services)
        self.rider = rider
        self.render(t)

    def render(self, t: Translate) -> None:
        """Words for the greeting, the bookings and the buttons."""
        super().render(t)
        rider = self.rider
        if rider is not None and rider.balance is not None:
            self.body = Msg(N_("Points: {points}"), {"points": rider.balance}).render(t)
        lines = []
        if rider is not None and rider.bookings:
            lines.append(t(N_("Your bookings:")))
            lines += [booking_line(b, self.services, self.zone, self.english).render(t) for b in rider.bookings]
        self.bookings = "\n".join(lines[: BOOKING_ROWS + 1])
        self.actions = [t(label) for _, label in ACTIONS]
        self.done_text = t(N_("Done"))

    def choose(self, index: int) -> None:
        """The rider pressed action ``index``."""
        if self.on_action is not None:
            self.on_action(ACTIONS[index][0])
