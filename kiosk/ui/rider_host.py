"""The rider services as the app runs them: the UI's own screens, the identified rider, the calls to core.

:class:`RiderServices` is the screens' :class:`~kiosk.ui.screens.base.Host`. It keeps what core said about
the city (content) and the rider, which of the UI's own screens the rider opened (over which of core's
screens), and what the rider was doing when asked to scan (sent once core says who they are). Every call
goes through the link (off the main thread); the answers come back here on the main thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeVar

from kiosk.api.rider_models import (
    BookingAnswer,
    FeedbackAnswer,
    FeedbackRequest,
    IdentifyAnswer,
    Purpose,
    RedeemAnswer,
    RiderView,
    StationContent,
)
from kiosk.api.screen import Screen
from kiosk.core.content import BookingSlot, Service
from kiosk.ui import calls
from kiosk.ui.calls import Answer, Call, Done, Problem
from kiosk.ui.i18n import Language
from kiosk.ui.rider_views import problem_text
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.feedback.feedback import FeedbackScreen
from kiosk.ui.screens.points.points import PointsScreen
from kiosk.ui.screens.rider.rider import RiderScreen
from kiosk.ui.screens.services.services import ServicesScreen
from kiosk.ui.views import RIDER_SCREENS, Msg, UiScreen, View

T = TypeVar("T")

IDLE = View(UiScreen.IDLE, terminal=False)
DESK_SCREENS = ("rider", "points.")
"""Core's screens while a rider is identified (``rider``, ``rider.identify``, ``points.take_item``)."""
LOCAL_SCREENS = frozenset({UiScreen.SERVICES, UiScreen.POINTS, UiScreen.FEEDBACK, UiScreen.NEARBY})
"""The screens the rider opens on the UI itself (core's screen stays what it was underneath)."""


@dataclass(frozen=True)
class Intent:
    """What the rider was doing when asked to scan: sent once core says who they are."""

    purpose: Purpose
    booking: tuple[Service, BookingSlot] | None = None
    feedback: FeedbackRequest | None = None


class Caller(Protocol):
    """The link's one method the rider services use."""

    def call(self, call: Call[T], done: Done[T] | None = None) -> None:
        """Run one call to core's API off the main thread; ``done`` gets the answer on the main thread."""


class AppPort(Protocol):
    """What the rider services need of the app."""

    link: Caller | None
    screens: dict[UiScreen, KioskScreen]
    core_screen: Screen | None
    core_view: View
    dismissed: int | None
    current: View
    lang: str

    def monotonic(self) -> float:
        """The shared monotonic clock."""

    def t(self, msgid: str, lang: str | None = None) -> str:
        """``msgid`` in the language shown."""

    def refresh(self) -> None:
        """Show what should be shown now."""

    def finish(self) -> None:
        """The rider is done: back to idle."""


class RiderServices:
    """The rider services' state and calls (the screens' host)."""

    def __init__(self, app: AppPort) -> None:
        self.app = app
        self.content: StationContent | None = None
        self.content_asked = -1e18
        self.rider: RiderView | None = None
        """The identified rider as core last described them (None: nobody, or not read yet)."""
        self.local: View | None = None
        """The UI's own screen the rider opened, shown over core's screen number ``local_over``."""
        self.local_over = 0
        self.local_shown_at = 0.0
        self.intent: Intent | None = None
        self.back_to_idle = False
        """The rider scanned only to book or to sign feedback, from idle: leaving that service ends the visit
        (Back takes them where they came from, not to a rider's screen they never asked for)."""

    def local_view(self) -> tuple[View, float] | None:
        """The UI's own screen to show now, and since when (None: show core's)."""
        if self.local is not None and self.local_over == self._core_number():
            return self.local, self.local_shown_at
        return None

    def core_changed(self) -> None:
        """Core showed a new screen: it replaces the UI's own; an identified rider is read (and served)."""
        self.local = None
        view = self.app.core_view
        if view.screen in RIDER_SCREENS:
            self.ask_rider()
            self._carry_out_intent(view.purpose)
        elif view.screen is not UiScreen.IDENTIFY:
            self.intent, self.rider, self.back_to_idle = None, None, False

    def leave(self) -> None:
        """The rider is done: core forgets them (if it knew them), and so does the UI."""
        screen = self.app.core_screen
        if screen is not None and self.app.dismissed != screen.number and screen.name.startswith(DESK_SCREENS):
            self._call(calls.end_rider())
        self.local, self.intent, self.rider, self.back_to_idle = None, None, None, False

    def action(self, action: str) -> None:
        """A rider screen action: a swap for the identified rider, or one of the rider services."""
        if action == "swap":
            self._call(calls.swap(), self._swap_asked)
        elif action in ("services", "points", "feedback", "nearby"):
            self.open_local(UiScreen(action))

    def open_local(self, screen: UiScreen) -> None:
        """Show one of the UI's own screens over core's."""
        self.local = View(screen, terminal=False)
        self.local_over = self._core_number()
        self.local_shown_at = self.app.monotonic()
        if self.app.current.screen is screen:
            self.app.current = IDLE  # so that refresh enters it afresh (a new visit starts at its first page)
        self.ask_content()
        if screen is UiScreen.POINTS:
            self.ask_rider()
        self.app.refresh()

    def close_local(self) -> None:
        """Back from a rider service: where the rider came from — idle if they scanned only for this
        service, else the rider's own screen if they are known here, else idle."""
        if self.back_to_idle:
            self.app.finish()
            return
        if self.local is not None and self.local.screen is not UiScreen.RIDER:
            self.local = None
        elif self.rider_here() and self.app.core_view.screen is not UiScreen.RIDER:
            self.local = replace(self.app.core_view, screen=UiScreen.RIDER)
            self.local_over = self._core_number()
            self.local_shown_at = self.app.monotonic()
        else:
            self.app.finish()
            return
        self.app.refresh()

    def rider_here(self) -> bool:
        """Whether a rider is identified now (core shows their screen and it was not dismissed)."""
        screen = self.app.core_screen
        return screen is not None and screen.name == "rider" and self.app.dismissed != screen.number

    def ask_points(self) -> None:
        """ "My points": at once for a known rider, else after a scan."""
        if self.rider_here():
            self.open_local(UiScreen.POINTS)
        else:
            self._identify(Intent("points"))

    def ask_content(self) -> None:
        """Ask core for the city's content (what it answers goes to every screen)."""
        self.content_asked = self.app.monotonic()
        self._call(calls.content(), self._content_came)

    def ask_rider(self) -> None:
        """Ask core about the identified rider (balance, corrections, bookings)."""
        self._call(calls.rider(), self._rider_came)

    def redeem(self, item_id: str) -> None:
        """Spend points: core opens the item's bay (``points.take_item``) or says why not."""
        self._call(calls.redeem(item_id), self._redeemed)

    def viewed(self, service: Service) -> None:
        """Record that the rider read a service (the city's demand figure)."""
        language: Literal["zh", "en"] = "en" if self.app.lang == Language.EN.value else "zh"
        self._call(calls.service_viewed(service.id, language))

    def book(self, service: Service, slot: BookingSlot) -> None:
        """Ask for ``slot``: at once for a known rider, else after a scan."""
        if self.rider_here():
            self._call(calls.book(service.id, slot.id), self._booked)
        else:
            self._identify(Intent("booking", booking=(service, slot)))

    def send_feedback(self, request: FeedbackRequest) -> None:
        """Send feedback; signed feedback from a rider not known yet waits for their scan."""
        if request.signed and not self.rider_here():
            self._identify(Intent("feedback", feedback=request))
        else:
            self._call(calls.feedback(request), self._feedback_sent)

    def _identify(self, intent: Intent) -> None:
        self.intent = intent
        self.back_to_idle = intent.purpose in ("booking", "feedback")
        self._call(calls.identify(intent.purpose), self._identify_asked)

    def _carry_out_intent(self, purpose: str) -> None:
        intent, self.intent = self.intent, None
        if intent is None or intent.purpose != purpose:
            return
        if intent.booking is not None:
            service, slot = intent.booking
            self._call(calls.book(service.id, slot.id), self._booked)
        elif intent.feedback is not None:
            self._call(calls.feedback(intent.feedback), self._feedback_sent)

    def _call(self, call: Call[T], done: Done[T] | None = None) -> None:
        if self.app.link is not None:
            self.app.link.call(call, done)

    # --- answers (on the main thread) ---------------------------------------------------------------------

    def _content_came(self, answer: Answer[StationContent]) -> None:
        if answer.value is not None:
            self.content = answer.value
            self.push_data()

    def _rider_came(self, answer: Answer[RiderView]) -> None:
        if answer.value is not None:
            self.rider = answer.value
            self.push_data()
        elif answer.problem is Problem.NOBODY and self.rider_here():
            self.app.finish()  # the session ran out in core: so it does here

    def _identify_asked(self, answer: Answer[IdentifyAnswer]) -> None:
        if answer.problem is None:
            return
        intent, self.intent = self.intent, None
        feedback = self.app.screens.get(UiScreen.FEEDBACK)
        if intent is not None and intent.feedback is not None and isinstance(feedback, FeedbackScreen):
            feedback.sent(Answer(problem=answer.problem), self.app.t)  # back to "send", saying why
        else:
            self._told_if_failed(answer)

    def _redeemed(self, answer: Answer[RedeemAnswer]) -> None:
        screen = self.app.screens.get(UiScreen.POINTS)
        if isinstance(screen, PointsScreen):
            screen.redeemed(answer, self.app.t)
        if answer.value is not None:
            self.ask_rider()

    def _booked(self, answer: Answer[BookingAnswer]) -> None:
        services = self.app.screens.get(UiScreen.SERVICES)
        if isinstance(services, ServicesScreen):
            services.booked(answer, self.app.t)
        if answer.value is not None:
            self.ask_rider()
        if self.app.current.screen is not UiScreen.SERVICES:
            self.open_local(UiScreen.SERVICES)
            if isinstance(services, ServicesScreen):
                services.booked(answer, self.app.t)

    def _feedback_sent(self, answer: Answer[FeedbackAnswer]) -> None:
        screen = self.app.screens.get(UiScreen.FEEDBACK)
        if isinstance(screen, FeedbackScreen):
            screen.sent(answer, self.app.t)
        if answer.value is not None and answer.value.points_earned and self.rider_here():
            self.ask_rider()

    def _swap_asked(self, answer: Answer[None]) -> None:
        if answer.problem is Problem.NO_CHARGED_BATTERY:  # core's word now: stop offering it until its status says
            rider = self.app.screens.get(UiScreen.RIDER)
            if isinstance(rider, RiderScreen):
                rider.set_charged(0, self.app.t)
        self._told_if_failed(answer)

    def _told_if_failed(self, answer: Answer[Any]) -> None:
        if answer.problem is not None and self.app.screens:
            self.app.screens[self.app.current.screen].tell(Msg(problem_text(answer.problem)), self.app.t)

    def push_data(self, only: KioskScreen | None = None) -> None:
        """Give the screens (or ``only`` one) the content and rider as known now."""
        for screen in [only] if only is not None else list(self.app.screens.values()):
            set_data = getattr(screen, "set_data", None)
            if set_data is not None:
                set_data(self.content, self.rider, self.app.t)

    def _core_number(self) -> int:
        return self.app.core_screen.number if self.app.core_screen is not None else 0
