"""Refusals: a refused code or swap in words a tired rider understands, with what to do next."""

from __future__ import annotations

from kivy.properties import ListProperty, StringProperty

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_, Language
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import UiScreen

MAX_NEARBY = 3


class RefusalScreen(KioskScreen):
    """Why the rider cannot go on, and what to do (nearby stations when this one has nothing)."""

    ui = UiScreen.REFUSAL
    nearby = ListProperty(["", "", ""])
    ok_text = StringProperty("")

    def render(self, t: Translate) -> None:
        """Words for the view; core's own message for a reason this UI does not know yet."""
        super().render(t)
        view = self.view
        if not self.body and view.core_text:
            key = "message_en" if self.language == Language.EN.value else "message_zh"
            self.body = view.core_text.get(key, "")
        rows = []
        for station in view.nearby[:MAX_NEARBY]:
            name = station.name_en if self.language == Language.EN.value else station.name
            rows.append(
                t(N_("{name} · {distance} · {count} charged")).format(
                    name=name, distance=station.distance(), count=station.charged
                )
            )
        self.nearby = rows + [""] * (MAX_NEARBY - len(rows))
        self.ok_text = t(N_("OK"))
