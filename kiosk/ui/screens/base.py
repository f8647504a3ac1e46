"""What every screen shares: it shows a :class:`~kiosk.ui.views.View` in the app's current language."""

from __future__ import annotations

from typing import Any, Protocol

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.views import UiScreen, View


class Translate(Protocol):
    """The app's translation function."""

    def __call__(self, msgid: str) -> str:
        """``msgid`` in the language shown now."""
        ...


class KioskScreen(Screen):  # type: ignore[misc]
    """A screen of the registry: ``show`` sets what it says, ``render`` puts it in words, ``tick`` counts down."""

    ui: UiScreen = UiScreen.IDLE
    tone = StringProperty("info")
    title = StringProperty("")
    body = StringProperty("")
    hint = StringProperty("")
    language = StringProperty("zh_CN")
    """The language shown (the app sets it before every render)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(name=self.ui.value, **kwargs)
        self.view: View = View(self.ui)
        self.shown_at = 0.0

    def show(self, view: View, shown_at: float, t: Translate) -> None:
        """Show ``view`` (its wait started at ``shown_at``, monotonic seconds)."""
        self.view, self.shown_at = view, shown_at
        self.tone = view.tone.value
        self.render(t)

    def render(self, t: Translate) -> None:
        """Put the view in words (again after a language switch)."""
        view = self.view
        self.title = view.title.render(t) if view.title.msgid else ""
        self.body = view.body.render(t) if view.body.msgid else ""
        self.hint = view.hint.render(t) if view.hint is not None else ""

    def tick(self, now: float, t: Translate) -> None:
        """Once a second while shown (countdowns); nothing by default."""
