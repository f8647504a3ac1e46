"""Rider: a greeting, the points balance, the rider's bookings and what the rider can do here.

"Swap battery" is offered only while core counts a swappable battery here; otherwise its place says so and,
when a nearby station has one, opens the nearby stations instead.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.api.rider_models import RiderView, StationContent
from kiosk.core.content import NearbyStation, Service
from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.rider_views import NO_SWAP_HERE, SwapOffer, booking_line, no_swap_text, swap_offer
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import Msg, UiScreen

ACTIONS: tuple[tuple[str, str], ...] = (
    ("swap", N_("Swap battery")),  # or, with no charged battery here, what SWAP_PLACE says
    ("services", N_("Services")),
    ("points", N_("My points")),
    ("feedback", N_("Feedback")),
)
"""The rider's choices, in screen order."""
SWAP_PLACE: dict[SwapOffer, tuple[str, str]] = {
    SwapOffer.SWAP: ("swap", N_("Swap battery")),
    SwapOffer.NEARBY: ("nearby", N_("Nearby stations")),
    SwapOffer.NONE: ("", NO_SWAP_HERE),
}
"""The first button by what the station can offer: its action ('' = none: the button is not live) and words."""
BOOKING_ROWS = 3


class RiderScreen(KioskScreen):
    """The rider's own screen after an accepted code."""

    ui = UiScreen.RIDER
    actions = ListProperty(["", "", "", ""])
    done_text = StringProperty("")
    bookings = StringProperty("")
    """The rider's bookings made here, one a line, with their status."""
    swap_tone = StringProperty("good")
    swap_live = BooleanProperty(True)
    """Whether the first button does something ("Swap battery", or the nearby stations when none is here)."""
    no_swap = StringProperty("")
    """Why no swap is offered, and the nearest station with a charged battery ('' while one is)."""
    on_action: Callable[[str], None] | None = None

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.rider: RiderView | None = None
        self.services: list[Service] = []
        self.stations: list[NearbyStation] = []
        self.charged: int | None = None
        """Swappable batteries here as core counts them (None: not known yet, a swap is offered)."""

    @property
    def offer(self) -> SwapOffer:
        """What the first button offers now."""
        return swap_offer(self.charged, self.stations)

    def set_charged(self, charged: int | None, t: Translate) -> None:
        """Core's count of swappable batteries here changed (its status, or its refusal of a swap)."""
        self.charged = charged
        self.render(t)

    def set_data(self, content: StationContent | None, rider: RiderView | None, t: Translate) -> None:
        """Fresh content (service titles) or rider (balance, bookings)."""
        if content is not None:
            self.services = list(content.services)
            self.stations = list(content.nearby)
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
        offer = self.offer
        first = SWAP_PLACE[offer]
        self.actions = [t(label) for _, label in (first, *ACTIONS[1:])]
        self.swap_live = bool(first[0])
        self.swap_tone = {SwapOffer.SWAP: "good", SwapOffer.NEARBY: "warn"}.get(offer, "dim")
        why = no_swap_text(offer, self.stations, self.english)
        self.no_swap = why.render(t) if why is not None else ""
        self.done_text = t(N_("Done"))

    def choose(self, index: int) -> None:
        """The rider pressed action ``index``."""
        action = SWAP_PLACE[self.offer][0] if index == 0 else ACTIONS[index][0]
        if self.on_action is not None and action:
            self.on_action(action)
