"""Putting the app on each rider services screen (fed through a FakeLink), for the render and behaviour tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.api.rider_models import BookingAnswer, FeedbackAnswer, RedeemAnswer
from kiosk.api.screen import Screen
from kiosk.ui.app import KioskApp
from kiosk.ui.calls import Answer
from kiosk.ui.i18n import Language
from kiosk.ui.views import UiScreen
from tests.ui.cases import status
from tests.ui.harness import FakeLink, escaping, lone_last_lines, overflowing, small_buttons, texts
from tests.ui.loop import pump, resize, screenshot
from tests.ui.rider_cases import CATALOGUE, CONTENT, RIDER, SERVICES, rider_screen


def answer_everything(link: FakeLink) -> None:
    """Core's answers to every call, as a healthy core with the city's content would give them."""
    link.answers.update(
        {
            "GET /api/content": CONTENT,
            "GET /api/rider": RIDER,
            "POST /api/rider/bookings": BookingAnswer(booking_id="b-00000003"),
            "POST /api/feedback": FeedbackAnswer(feedback_id="f-00000001", signed=True, points_earned=5),
            "POST /api/rider/redeem": RedeemAnswer(ok=True, bay=13, balance=110),
        }
    )


def core_says(app: KioskApp, name: str, params: dict[str, Any]) -> None:
    """Core shows a new screen."""
    number = (app.core_screen.number + 1) if app.core_screen else 1
    app.on_screen(Screen(number=number, name=name, params=params, mono=app.monotonic()))
    pump(3)


def on(app: KioskApp, screen: UiScreen) -> Any:
    """The registry's screen (to drive its pages as a finger would)."""
    return app.screens[screen]


def _services(app: KioskApp) -> None:
    app.services.open_local(UiScreen.SERVICES)


def _list(app: KioskApp) -> None:
    _services(app)
    on(app, UiScreen.SERVICES).open_category("legal_aid")


def _details(app: KioskApp) -> None:
    _list(app)
    on(app, UiScreen.SERVICES).open_service(SERVICES[0])


def _answer(app: KioskApp) -> None:
    _services(app)
    on(app, UiScreen.SERVICES).booked(Answer(value=BookingAnswer(booking_id="b-1")), app.t)


def _feedback(steps: Callable[[Any], None]) -> Callable[[KioskApp], None]:
    def go(app: KioskApp) -> None:
        app.services.open_local(UiScreen.FEEDBACK)
        steps(on(app, UiScreen.FEEDBACK))

    return go


def _send(screen: Any) -> None:
    screen.rate(4)
    screen.choose_topic("drinks_snacks")
    screen.type_text("more water please")


def _words(screen: Any) -> None:
    _send(screen)
    screen.open_keyboard()


def _thanks(screen: Any) -> None:
    _send(screen)
    screen.sent(Answer(value=FeedbackAnswer(feedback_id="f-1", signed=True, points_earned=5)), screen.translate)


def _spend_confirm(app: KioskApp) -> None:
    core_says(app, *rider_screen("points"))
    on(app, UiScreen.POINTS).choose(CATALOGUE[0])  # "Spend 10 points for Water?"


def _slot_confirm(app: KioskApp) -> None:
    _details(app)
    on(app, UiScreen.SERVICES).choose_slot(SERVICES[0].slots[0])  # "Ask for Free legal consultation at ...?"


def _no_charged_battery(nearby: bool) -> Callable[[KioskApp], None]:
    def go(app: KioskApp) -> None:
        if not nearby:
            app.services.content = CONTENT.model_copy(update={"nearby": []})
            app.services.push_data()
        none_here = status(charged=0)
        none_here.components["station"]["charged_batteries"] = 0  # core's own count
        app.on_status(none_here)
        core_says(app, *rider_screen("rider"))

    return go


def _refused(app: KioskApp) -> None:
    core_says(app, *rider_screen("points"))
    on(app, UiScreen.POINTS).redeemed(Answer(value=RedeemAnswer(ok=False, reason="not_enough_points")), app.t)


RIDER_CASES: dict[str, Callable[[KioskApp], None]] = {
    "idle.nearby": lambda app: None,
    "idle.no_battery_here": lambda app: app.on_status(status(charged=0)),
    "rider.identify": lambda app: core_says(app, "rider.identify", {"purpose": "points", "seconds": 30}),
    "points.take_item": lambda app: core_says(
        app, "points.take_item", {"bay": 13, "item_id": "water", "name_zh": "矿泉水", "name_en": "Water", "seconds": 60}
    ),
    "rider.bookings": lambda app: core_says(app, *rider_screen("rider")),
    "rider.no_charged_battery.nearby": _no_charged_battery(nearby=True),
    "rider.no_charged_battery.none_nearby": _no_charged_battery(nearby=False),
    "services.categories": _services,
    "services.list": _list,
    "services.details": _details,
    "services.confirm": _slot_confirm,
    "services.answer": _answer,
    "points.balance": lambda app: core_says(app, *rider_screen("points")),
    "points.confirm": _spend_confirm,
    "points.refused": _refused,
    "feedback.rating": _feedback(lambda screen: None),
    "feedback.topic": _feedback(lambda screen: screen.rate(4)),
    "feedback.send": _feedback(_send),
    "feedback.words": _feedback(_words),
    "feedback.thanks": _feedback(_thanks),
    "nearby": lambda app: app.services.open_local(UiScreen.NEARBY),
}
"""Every rider services screen (and page) a rider can meet."""

SAYS: dict[str, dict[Language, tuple[str, ...]]] = {
    "points.confirm": {
        Language.ZH: ("用10积分兑换矿泉水？", "确认", "取消"),
        Language.EN: ("Spend 10 points for Water?",),
    },
    "services.confirm": {
        Language.ZH: ("申请", "城市会确认", "确认", "取消"),
        Language.EN: ("Ask for", "Confirm", "Cancel"),
    },
    "rider.no_charged_battery.nearby": {
        Language.ZH: ("本站暂无可换电池。最近有满电电池的驿站：", "附近驿站"),
        Language.EN: ("No charged battery here now. The nearest station with one:", "Nearby stations"),
    },
    "rider.no_charged_battery.none_nearby": {
        Language.ZH: ("本站暂无可换电池，请稍后再来。",),
        Language.EN: ("No charged battery here now. Please come back later.",),
    },
}
"""Words a case must show (beyond fitting): the confirmations' question and buttons, the no-battery words."""


def show_rider_case(app: KioskApp, link: FakeLink, case: str) -> None:
    """Put ``case`` on the screen (in the app's language at the time)."""
    answer_everything(link)
    app.maintenance = False
    app.on_link(True, "test")
    app.on_status(status())
    core_says(app, "idle", {})
    RIDER_CASES[case](app)
    pump(2)


def render_problems(app: KioskApp, link: FakeLink, window: Any, size: tuple[int, int], case: str) -> list[str]:
    """Show rider ``case`` at ``size`` in each language (screenshots kept): what overflows, escapes, is too
    small, or leaves a lone Chinese character on a line."""
    resize(window, size)
    problems: list[str] = []
    for language in Language:
        show_rider_case(app, link, case)
        app.set_language(language)
        pump(3)
        screenshot(app.root, f"{case}-{size[0]}x{size[1]}-{language.value}")
        problems += [f"{language.value}: {p}" for p in overflowing(app) + escaping(app) + small_buttons(app)]
        problems += [f"{language.value}: {p}" for p in lone_last_lines(app)]
        shown = texts(app)
        assert shown, "nothing is written on the screen"
        missing = [w for w in SAYS.get(case, {}).get(language, ()) if not any(w in text for text in shown)]
        problems += [f"{language.value}: {w!r} is not shown (only {shown})" for w in missing]
    return problems
