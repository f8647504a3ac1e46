"""Nearby stations: where a rider finds charged batteries now, as a list and a simple map drawing."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.api.rider_models import RiderView, StationContent
from kiosk.core.content import Location, NearbyStation
from kiosk.ui import (
    pictures,  # noqa: F401 - registers the map widget
    widgets,  # noqa: F401 - registers the widgets the layout uses
)
from kiosk.ui.i18n import N_
from kiosk.ui.rider_views import map_points, nearby_line, nearby_top
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import Msg, UiScreen

ROWS = 5


class NearbyScreen(KioskScreen):
    """The nearest stations with charged batteries (the list), and where they are (the map, when places are known)."""

    ui = UiScreen.NEARBY
    rows = ListProperty([""] * ROWS)
    map_points = ListProperty([])
    map_labels = ListProperty([])
    has_map = BooleanProperty(False)
    back_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stations: list[NearbyStation] = []
        self.here: Location | None = None

    def set_data(self, content: StationContent | None, rider: RiderView | None, t: Translate) -> None:
        """Fresh nearby stations from the city's last bundle."""
        if content is not None:
            self.stations, self.here = list(content.nearby), content.location
        self.render(t)

    def render(self, t: Translate) -> None:
        """The list, the map and their labels in the language shown."""
        super().render(t)
        self.title = t(N_("Nearby stations"))
        self.back_text = t(N_("Back"))
        top = nearby_top(self.stations, ROWS)
        lines = [nearby_line(s, self.english).render(t) for s in top]
        if top:
            self.body = ""
        elif self.stations:
            self.body = t(N_("No nearby station has a charged battery right now."))
        else:
            self.body = t(N_("The station has no list of nearby stations yet."))
        self.rows = lines + [""] * (ROWS - len(lines))
        points = map_points(self.here, top)
        labels = []
        for point in points:
            if point.station is None:
                labels.append(t(N_("You are here")))
            else:
                name = point.station.name_en if self.english else point.station.name
                labels.append(
                    Msg(N_("{name}: {count}"), {"name": name, "count": point.station.charged_batteries}).render(t)
                )
        self.has_map = len(points) > 1
        self.map_points = points if self.has_map else []
        self.map_labels = labels if self.has_map else []

    def back(self) -> None:
        """Leave the nearby stations."""
        if self.host is not None:
            self.host.close_local()
