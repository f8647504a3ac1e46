"""Idle: "scan your code", where the scanner is, charged batteries now, nearby stations, the rider services.

The header has the station's name, the time and the language button.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.api.rider_models import RiderView, StationContent
from kiosk.core.content import NearbyStation
from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.rider_views import nearby_line, nearby_top
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import UiScreen

SCANNER_AT = {
    "below": N_("The scanner is below this screen"),
    "left": N_("The scanner is to the left of this screen"),
    "right": N_("The scanner is to the right of this screen"),
}
BUTTONS: tuple[tuple[UiScreen, str], ...] = (
    (UiScreen.SERVICES, N_("Services")),
    (UiScreen.POINTS, N_("My points")),
    (UiScreen.FEEDBACK, N_("Feedback")),
    (UiScreen.NEARBY, N_("Nearby stations")),
)
"""The rider services anyone can open from idle, in screen order."""
NEARBY_ROWS = 3
NOTICE_S = 10.0
"""How long idle says that something the rider asked for did not work (then it is the usual idle again)."""


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
    nearby_title = StringProperty("")
    nearby_rows = ListProperty([""] * NEARBY_ROWS)
    prominent = BooleanProperty(False)
    """No charged battery here: the nearby stations become the main thing after "scan your code"."""
    buttons = ListProperty([""] * len(BUTTONS))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stations: list[NearbyStation] = []
        self.charged_count: int | None = None
        self.notice_since: float | None = None

    def update(self, charged_count: int | None, direction: str, staff: bool, t: Translate) -> None:
        """Refresh what depends on the station's status and settings."""
        self.scanner_direction = direction
        self.scanner_text = t(SCANNER_AT.get(direction, SCANNER_AT["below"]))
        self.charged_count = charged_count
        self.charged = charged_text(charged_count, t)
        self.charged_ok = bool(charged_count)
        self.staff = staff
        self._nearby(t)

    def set_data(self, content: StationContent | None, rider: RiderView | None, t: Translate) -> None:
        """Fresh nearby stations from the city's last bundle."""
        if content is not None:
            self.stations = list(content.nearby)
        self._nearby(t)

    def render(self, t: Translate) -> None:
        """The buttons' and the nearby stations' words."""
        super().render(t)
        self.buttons = [t(label) for _, label in BUTTONS]
        self._nearby(t)

    def _nearby(self, t: Translate) -> None:
        top = nearby_top(self.stations, NEARBY_ROWS)
        rows = [nearby_line(s, self.english).render(t) for s in top]
        self.nearby_rows = rows + [""] * (NEARBY_ROWS - len(rows))
        self.nearby_title = t(N_("Nearby stations with charged batteries:")) if top else ""
        self.prominent = self.charged_count == 0 and bool(top)

    def tick(self, now: float, t: Translate) -> None:
        """Let a notice go after a while (idle is what everyone walking by reads)."""
        if not self.notice:
            self.notice_since = None
        elif self.notice_since is None:
            self.notice_since = now
        elif now - self.notice_since >= NOTICE_S:
            self.tell(None, t)

    def choose(self, index: int) -> None:
        """A rider service button: points need the rider's code first, the others open at once."""
        if self.host is None:
            return
        screen = BUTTONS[index][0]
        if screen is UiScreen.POINTS:
            self.host.ask_points()
        else:
            self.host.open_local(screen)
