"""What every screen shares: it shows a :class:`~kiosk.ui.views.View` in the app's current language."""

from __future__ import annotations

from typing import Any, Protocol
from zoneinfo import ZoneInfo

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.api.rider_models import FeedbackRequest, RiderView, StationContent
from kiosk.core.content import BookingSlot, Service
from kiosk.ui.views import Msg, UiScreen, View


class Translate(Protocol):
    """The app's translation function."""

    def __call__(self, msgid: str) -> str:
        """``msgid`` in the language shown now."""
        ...


class Host(Protocol):
    """What the rider services' screens ask of the app (it runs every call off the main thread)."""

    def open_local(self, screen: UiScreen) -> None:
        """Show one of the UI's own screens (services, points, feedback, nearby)."""

    def close_local(self) -> None:
        """Back: leave the UI's own screen."""

    def ask_points(self) -> None:
        """The rider wants their points: identify them first unless they already are."""

    def redeem(self, item_id: str) -> None:
        """Spend points on a catalogue item."""

    def viewed(self, service: Service) -> None:
        """The rider opened a service's details."""

    def book(self, service: Service, slot: BookingSlot) -> None:
        """Ask for a slot (identifying the rider first unless they already are)."""

    def send_feedback(self, request: FeedbackRequest) -> None:
        """Send feedback (signed: identify the rider first unless they already are)."""


class RiderData(Protocol):
    """A screen that shows the city's content or the identified rider."""

    def set_data(self, content: StationContent | None, rider: RiderView | None, t: Translate) -> None:
        """Fresh content or rider."""


class KioskScreen(Screen):  # type: ignore[misc]
    """A screen of the registry: ``show`` sets what it says, ``render`` puts it in words, ``tick`` counts down."""

    ui: UiScreen = UiScreen.IDLE
    tone = StringProperty("info")
    title = StringProperty("")
    body = StringProperty("")
    hint = StringProperty("")
    language = StringProperty("zh_CN")
    """The language shown (the app sets it before every render)."""
    notice = StringProperty("")
    """A short line about something that went wrong just now (a call core could not do)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(name=self.ui.value, **kwargs)
        self.view: View = View(self.ui)
        self.shown_at = 0.0
        self.notice_msg: Msg | None = None
        self.host: Host | None = None
        self.translate: Translate = lambda msgid: msgid
        """The translation the last render used (for re-rendering after the rider's own taps)."""
        self.zone = ZoneInfo("Asia/Shanghai")
        """The station's time zone (the app sets it from its settings)."""

    @property
    def english(self) -> bool:
        """Whether English is shown (content has a Chinese and an English text to choose from)."""
        return bool(self.language == "en")

    def tell(self, msg: Msg | None, t: Translate) -> None:
        """Show (or with None clear) the notice line, in the language shown and again after a switch."""
        self.notice_msg = msg
        self.notice = msg.render(t) if msg is not None else ""

    def show(self, view: View, shown_at: float, t: Translate) -> None:
        """Show ``view`` (its wait started at ``shown_at``, monotonic seconds)."""
        self.view, self.shown_at = view, shown_at
        self.tone = view.tone.value
        self.notice_msg = None
        self.render(t)

    def render(self, t: Translate) -> None:
        """Put the view in words (again after a language switch)."""
        self.translate = t
        view = self.view
        self.title = view.title.render(t) if view.title.msgid else ""
        self.body = view.body.render(t) if view.body.msgid else ""
        self.hint = view.hint.render(t) if view.hint is not None else ""
        self.notice = self.notice_msg.render(t) if self.notice_msg is not None else ""

    def tick(self, now: float, t: Translate) -> None:
        """Once a second while shown (countdowns); nothing by default."""
