"""Maintenance: behind the staff PIN, a summary of core's status."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.i18n import N_
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import UiScreen, bay_numbers, faulted_bays

MAX_PIN = 12
MAX_LINES = 6
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "OK")


def summary_lines(status: Mapping[str, Any] | None, linked: bool, t: Translate) -> list[str]:
    """Core's status in a few lines for staff (component states, bays, sync, warnings)."""
    if not linked or status is None:
        return [t(N_("kiosk-core cannot be reached."))]
    lines = [
        t(N_("Station {station} · version {version} · up {hours} h")).format(
            station=status.get("station_id", "?"),
            version=status.get("version", "?"),
            hours=round(float(status.get("uptime_s") or 0) / 3600, 1),
        )
    ]
    components = status.get("components") or {}
    states = ", ".join(f"{name} {part.get('state', '?')}" for name, part in sorted(components.items()))
    lines.append(t(N_("Components: {states}")).format(states=states))
    bays, bad = bay_numbers(status), faulted_bays(status)
    lines.append(t(N_("Bays: {count}, out of order: {faulted}")).format(count=len(bays), faulted=len(bad)))
    sync = status.get("sync") or {}
    lines.append(t(N_("Events waiting for the hub: {backlog}")).format(backlog=sync.get("backlog", 0)))
    warnings = [str(w) for w in status.get("warnings") or []]
    if not warnings:
        lines.append(t(N_("No warnings")))
    lines += warnings[: MAX_LINES - len(lines)]
    return lines


def _untranslated(msgid: str) -> str:
    return msgid


class MaintenanceScreen(KioskScreen):
    """The staff PIN pad, then the status summary."""

    ui = UiScreen.MAINTENANCE
    unlocked = BooleanProperty(False)
    entered = StringProperty("")
    message = StringProperty("")
    lines = ListProperty([""] * MAX_LINES)
    keys = ListProperty(list(KEYS))
    back_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pin: str | None = None
        self._t: Translate = _untranslated
        self._status: Mapping[str, Any] | None = None
        self._linked = False
        self._message = N_("Enter the PIN")

    def lock(self, pin: str | None) -> None:
        """Ask for ``pin`` again (every time the screen opens)."""
        self.pin, self.unlocked, self.entered = pin, False, ""
        self._message = N_("Enter the PIN")
        self.message = self._t(self._message)

    def render(self, t: Translate) -> None:
        """Words for the pad and the summary."""
        super().render(t)
        self._t = t
        self.title = t(N_("Staff only")) if not self.unlocked else t(N_("Station status"))
        self.keys = [t(N_("Clear")) if k == "C" else t(N_("OK")) if k == "OK" else k for k in KEYS]
        self.back_text = t(N_("Back"))
        self.message = t(self._message)
        self._summarise()

    def press(self, index: int) -> None:
        """A key of the pad."""
        key = KEYS[index]
        if key == "C":
            self.entered = ""
        elif key == "OK":
            self._check()
        elif len(self.entered) < MAX_PIN:
            self.entered += key

    def _check(self) -> None:
        if self.pin is not None and hmac.compare_digest(self.entered.encode(), self.pin.encode()):
            self.unlocked = True
            self.render(self._t)
        else:
            self._message = N_("Wrong PIN")
            self.message = self._t(self._message)
        self.entered = ""

    def set_status(self, status: Mapping[str, Any] | None, linked: bool) -> None:
        """Core's latest status."""
        self._status, self._linked = status, linked
        self._summarise()

    def _summarise(self) -> None:
        if not self.unlocked:
            self.lines = [""] * MAX_LINES
            return
        lines = summary_lines(self._status, self._linked, self._t)[:MAX_LINES]
        self.lines = lines + [""] * (MAX_LINES - len(lines))
