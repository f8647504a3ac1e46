"""The rider services under a finger, core's news and answers fed through a fake link (the flows use a real core).

Each behaviour is checked in both languages where words are what it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kiosk.api.rider_models import FeedbackAnswer, RedeemAnswer
from kiosk.ui.app import KioskApp
from kiosk.ui.calls import Problem
from kiosk.ui.i18n import Language
from kiosk.ui.views import UiScreen
from tests.ui.cases import status
from tests.ui.conftest import SETTINGS
from tests.ui.harness import FakeLink, shown_screen, start_app, stop_app, tap, texts
from tests.ui.keys import type_by_taps
from tests.ui.loop import pump, pump_until, resize
from tests.ui.rider_cases import RIDER, SERVICES, rider_screen
from tests.ui.rider_show import answer_everything, core_says

Started = tuple[KioskApp, FakeLink, list[float]]
WORDS = {
    "zh_CN": {
        "balance": "您有120积分",
        "pending": "有15积分等待城市确认",
        "correction": "已在其他驿站用过",
        "requested": "已提交申请，等待城市确认",
        "thanks_points": "谢谢！获得积分：5",
        "could_not": "驿站暂时无法完成此操作，请再试一次。",
        "not_enough": "您的积分还不够兑换这件物品。",
        "scan_points": "请扫骑手App中的驿站码，查看您的积分。",
    },
    "en": {
        "balance": "You have 120 points",
        "pending": "Waiting for the city to confirm 15 points",
        "correction": "already used at another station",
        "requested": "Requested — the city will confirm",
        "thanks_points": "Thank you! Points earned: 5",
        "could_not": "The station could not do that right now. Please try again.",
        "not_enough": "You do not have enough points for this item yet.",
        "scan_points": "Scan the code in your rider app to see your points.",
    },
}
LANGUAGES = [Language.ZH, Language.EN]


@pytest.fixture
def started(window: Any) -> Iterator[Callable[[Language], Started]]:
    """An app in ``language`` with a fake link answering like a healthy core, and a clock the test moves."""
    made: list[KioskApp] = []

    def make(language: Language = Language.ZH) -> Started:
        link = FakeLink()
        answer_everything(link)
        clock = [1000.0]
        app = start_app(window, SETTINGS, lambda listener, post: link, monotonic=lambda: clock[0])
        made.append(app)
        resize(window, (800, 480))
        app.on_link(True, "test")
        app.on_status(status())
        core_says(app, "idle", {})
        app.set_language(language)
        pump(2)
        return app, link, clock

    yield make
    for app in made:
        stop_app(window, app)


def has(app: KioskApp, words: str) -> bool:
    """Some visible text contains ``words``."""
    return any(words in text for text in texts(app))


def showing(app: KioskApp) -> str:
    """The name of the screen on display."""
    return str(shown_screen(app).name)


def button(app: KioskApp, words: str) -> Any:
    """The visible button of the shown screen whose text contains ``words``."""
    from kivy.uix.button import Button

    found = [w for w in shown_screen(app).walk() if isinstance(w, Button) and words in w.text and w.opacity > 0]
    assert found, f"no button {words!r} among {texts(app)}"
    return found[0]


# --- idle ---------------------------------------------------------------------------------------------------


def test_idle_lists_the_three_nearest_stations_with_charged_batteries_first(
    started: Callable[[Language], Started],
) -> None:
    app, _, _ = started(Language.ZH)
    idle = shown_screen(app)
    assert list(idle.nearby_rows) == [
        "漕溪北路驿站 · 640 m · 满电5块",
        "徐家汇地铁站驿站 · 1.8 km · 满电2块",
        "田林驿站 · 3.1 km · 满电7块",
    ]
    assert not idle.prominent


def test_nearby_stations_become_prominent_when_this_station_has_no_charged_battery(
    started: Callable[[Language], Started],
) -> None:
    app, _, _ = started(Language.ZH)
    app.on_status(status(charged=0))
    pump(2)
    idle = shown_screen(app)
    assert idle.prominent
    assert idle.ids.nearby1.font_size > idle.ids.subtitle.font_size * 0.9
    assert idle.ids.nearby_button.tone == "warn"


# --- points ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_my_points_asks_for_a_scan_then_shows_balance_pending_and_the_correction_once(
    started: Callable[[Language], Started], language: Language
) -> None:
    app, link, _ = started(language)
    words = WORDS[language.value]
    tap(shown_screen(app).ids.points_button)
    assert link.calls[-1].key == "POST /api/rider/identify"
    assert link.calls[-1].json_body() == {"purpose": "points"}
    core_says(app, "rider.identify", {"purpose": "points", "deadline": app.monotonic() + 120})
    assert showing(app) == UiScreen.IDENTIFY
    assert has(app, words["scan_points"])
    core_says(app, *rider_screen("points"))
    pump_until(lambda: has(app, words["balance"]), 3, "the balance")
    assert showing(app) == UiScreen.POINTS
    assert has(app, words["pending"])
    assert has(app, words["correction"])


def test_an_item_out_of_stock_is_greyed_and_cannot_be_pressed(started: Callable[[Language], Started]) -> None:
    app, _, _ = started(Language.EN)
    core_says(app, *rider_screen("points"))
    pump(2)
    snack = button(app, "Energy bar")
    assert "out of stock" in snack.text
    assert snack.disabled
    assert snack.tone == "dim"


def test_redeeming_an_item_posts_it_and_waits_for_core_to_open_the_bay(
    started: Callable[[Language], Started],
) -> None:
    app, link, _ = started(Language.EN)
    core_says(app, *rider_screen("points"))
    pump(2)
    tap(button(app, "Water"))
    assert has(app, "Spend 10 points for Water?")
    assert not [c for c in link.calls if c.key == "POST /api/rider/redeem"]  # one tap never spends
    tap(button(app, "Confirm"))
    assert [c.json_body() for c in link.calls if c.key == "POST /api/rider/redeem"] == [{"item_id": "water"}]
    pump_until(lambda: has(app, "Opening bay 13"), 3, "the answer")
    core_says(app, "points.take_item", {"bay": 13, "item_id": "water", "name_zh": "矿泉水", "name_en": "Water"})
    assert showing(app) == UiScreen.SWAP
    assert has(app, "Take your item from bay 13")


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_a_refused_spend_says_why_in_the_riders_words(
    started: Callable[[Language], Started], language: Language
) -> None:
    app, link, _ = started(language)
    link.answers["POST /api/rider/redeem"] = RedeemAnswer(ok=False, reason="not_enough_points", message_en="core")
    core_says(app, *rider_screen("points"))
    pump(2)
    tap(shown_screen(app).ids.choices.buttons()[0])
    tap(shown_screen(app).ids.choices.buttons()[0])  # Confirm
    pump_until(lambda: has(app, WORDS[language.value]["not_enough"]), 3, "the refusal")


def test_a_refusal_this_ui_does_not_know_shows_cores_own_words(started: Callable[[Language], Started]) -> None:
    app, link, _ = started(Language.EN)
    link.answers["POST /api/rider/redeem"] = RedeemAnswer(ok=False, message_zh="新原因", message_en="A new reason")
    core_says(app, *rider_screen("points"))
    pump(2)
    tap(shown_screen(app).ids.choices.buttons()[0])
    tap(shown_screen(app).ids.choices.buttons()[0])  # Confirm
    pump_until(lambda: has(app, "A new reason"), 3, "core's words")


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_core_not_answering_is_said_in_plain_words_and_the_screen_stays(
    started: Callable[[Language], Started], language: Language
) -> None:
    app, link, _ = started(language)
    link.answers["POST /api/rider/redeem"] = Problem.UNREACHABLE
    core_says(app, *rider_screen("points"))
    pump(2)
    tap(shown_screen(app).ids.choices.buttons()[0])
    tap(shown_screen(app).ids.choices.buttons()[0])  # Confirm
    pump_until(lambda: has(app, WORDS[language.value]["could_not"]), 3, "the plain error")
    assert showing(app) == UiScreen.POINTS
    assert not shown_screen(app).ids.choices.buttons()[0].disabled


# --- services and booking ---------------------------------------------------------------------------------------


def test_opening_a_service_records_the_view_in_the_language_read(started: Callable[[Language], Started]) -> None:
    app, link, _ = started(Language.EN)
    tap(shown_screen(app).ids.services_button)
    tap(button(app, "Legal aid"))
    tap(button(app, "Free legal consultation"))
    assert link.calls[-1].key == "POST /api/services/legal-consult/viewed"
    assert link.calls[-1].json_body() == {"language": "en"}
    assert has(app, "a lawyer answers you in person")


def test_a_services_qr_code_is_drawn_and_not_blank(started: Callable[[Language], Started]) -> None:
    app, _, _ = started(Language.ZH)
    app.services.open_local(UiScreen.SERVICES)
    screen = shown_screen(app)
    screen.open_category("legal_aid")
    screen.open_service(SERVICES[0])
    pump(3)
    qr = screen.ids.qr
    assert qr.data == "https://city.example/legal/consult"
    assert min(qr.size) > 100
    pixels = qr.export_as_image().texture.pixels
    grey = [pixels[i] for i in range(0, len(pixels), 4)]
    dark = sum(1 for g in grey if g < 60) / len(grey)
    light = sum(1 for g in grey if g > 200) / len(grey)
    assert dark > 0.15
    assert light > 0.15


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_booking_a_time_asks_for_a_scan_then_sends_it_and_says_the_city_will_confirm(
    started: Callable[[Language], Started], language: Language
) -> None:
    app, link, _ = started(language)
    app.services.open_local(UiScreen.SERVICES)
    screen = shown_screen(app)
    screen.open_category("legal_aid")
    screen.open_service(SERVICES[0])
    pump(2)
    tap(screen.ids.choices.buttons()[1])
    assert not [c for c in link.calls if c.json_body() == {"purpose": "booking"}]  # one tap never books
    tap(screen.ids.choices.buttons()[0])  # Confirm
    assert link.calls[-1].json_body() == {"purpose": "booking"}
    core_says(app, "rider.identify", {"purpose": "booking", "deadline": app.monotonic() + 120})
    core_says(app, *rider_screen("booking"))
    pump_until(lambda: has(app, WORDS[language.value]["requested"]), 3, "the booking's answer")
    assert showing(app) == UiScreen.SERVICES
    booked = [c for c in link.calls if c.key == "POST /api/rider/bookings"]
    assert [c.json_body() for c in booked] == [{"service_id": "legal-consult", "slot_id": "slot-2"}]


def test_the_riders_screen_lists_bookings_with_their_status_and_note(started: Callable[[Language], Started]) -> None:
    app, _, _ = started(Language.EN)
    core_says(app, *rider_screen("rider"))
    pump_until(lambda: has(app, "confirmed (Room 3)"), 3, "the bookings")
    assert has(app, "Free legal consultation, 2026-11-25 15:00: requested, waiting for the city")


# --- feedback -----------------------------------------------------------------------------------------------------


def test_anonymous_feedback_sends_rating_topic_and_words_typed_by_taps(started: Callable[[Language], Started]) -> None:
    app, link, _ = started(Language.EN)
    link.answers["POST /api/feedback"] = FeedbackAnswer(feedback_id="f-1", signed=False)
    tap(shown_screen(app).ids.feedback_button)
    tap(button(app, "★★★★"))
    tap(button(app, "Drinks and snacks"))
    tap(button(app, "Add words"))
    type_by_taps(shown_screen(app), "ok 42\b")  # \b: the delete key
    tap(shown_screen(app).ids.back)
    tap(button(app, "Send anonymously"))
    sent = [c.json_body() for c in link.calls if c.key == "POST /api/feedback"]
    assert sent == [{"rating": 4, "topic": "drinks_snacks", "text": "ok 4", "signed": False}]
    pump_until(lambda: has(app, "Thank you! The city reads every suggestion."), 3, "the thanks")


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_signed_feedback_waits_for_the_scan_and_thanks_with_the_points_earned(
    started: Callable[[Language], Started], language: Language
) -> None:
    app, link, _ = started(language)
    app.services.open_local(UiScreen.FEEDBACK)
    screen = shown_screen(app)
    screen.rate(5)
    screen.choose_topic("safety")
    pump()
    tap(screen.ids.choices.buttons()[2])  # sign with my code
    assert link.calls[-1].json_body() == {"purpose": "feedback"}
    assert not [c for c in link.calls if c.key == "POST /api/feedback"]
    core_says(app, "rider.identify", {"purpose": "feedback", "deadline": app.monotonic() + 120})
    core_says(app, *rider_screen("feedback"))
    pump_until(lambda: has(app, WORDS[language.value]["thanks_points"]), 3, "the thanks")
    sent = [c.json_body() for c in link.calls if c.key == "POST /api/feedback"]
    assert sent == [{"rating": 5, "topic": "safety", "text": "", "signed": True}]


# --- the rider's session ---------------------------------------------------------------------------------------------


def test_the_riders_swap_button_asks_core_for_a_swap(started: Callable[[Language], Started]) -> None:
    app, link, _ = started(Language.ZH)
    core_says(app, *rider_screen("rider"))
    tap(shown_screen(app).ids.action0)
    assert link.calls[-1].key == "POST /api/rider/swap"


def test_done_ends_the_riders_visit_and_goes_back_to_idle(started: Callable[[Language], Started]) -> None:
    app, link, _ = started(Language.ZH)
    core_says(app, *rider_screen("rider"))
    tap(shown_screen(app).ids.done)
    assert link.calls[-1].key == "POST /api/rider/end"
    assert showing(app) == UiScreen.IDLE


def test_nobody_touching_a_rider_services_screen_ends_the_visit(started: Callable[[Language], Started]) -> None:
    app, link, clock = started(Language.ZH)
    core_says(app, *rider_screen("points"))
    clock[0] += SETTINGS.inactivity_s + 1
    pump_until(lambda: showing(app) == UiScreen.IDLE, 3, "idle after inactivity")
    assert link.calls[-1].key == "POST /api/rider/end"


def test_back_from_points_goes_to_the_riders_own_screen(started: Callable[[Language], Started]) -> None:
    app, _, _ = started(Language.EN)
    core_says(app, *rider_screen("points"))
    tap(shown_screen(app).ids.back)
    assert showing(app) == UiScreen.RIDER
    tap(shown_screen(app).ids.action1)
    assert showing(app) == UiScreen.SERVICES


# --- nearby ---------------------------------------------------------------------------------------------------------


def test_the_nearby_map_puts_this_station_in_the_middle_and_labels_the_others(
    started: Callable[[Language], Started],
) -> None:
    app, _, _ = started(Language.EN)
    tap(shown_screen(app).ids.nearby_button)
    screen = shown_screen(app)
    assert screen.has_map
    assert screen.map_labels[0] == "You are here"
    assert "Caoxi North Rd Station: 5" in screen.map_labels
    assert len(screen.map_points) == 3  # Tianlin has no coordinates: in the list only; Longhua has none charged
    assert has(app, "Tianlin Station · 3.1 km · 7 charged")
    assert not has(app, "Longhua")
    assert screen.ids.map.label_font >= max(12, app.unit * 0.7)  # no smaller than the app's least text


def test_an_item_the_rider_cannot_afford_is_grey_and_says_how_many_points_are_missing(
    started: Callable[[Language], Started],
) -> None:
    app, link, _ = started(Language.EN)
    link.answers["GET /api/rider"] = RIDER.model_copy(update={"balance": 7})
    core_says(app, *rider_screen("points"))
    pump(2)
    water = button(app, "Water")
    assert "you need 3 more" in water.text
    assert water.disabled
    assert water.tone == "dim"


def test_cancel_on_the_spend_question_spends_nothing(started: Callable[[Language], Started]) -> None:
    app, link, _ = started(Language.EN)
    core_says(app, *rider_screen("points"))
    pump(2)
    tap(button(app, "Water"))
    tap(button(app, "Cancel"))
    assert not [c for c in link.calls if c.key == "POST /api/rider/redeem"]
    assert button(app, "Water").text.startswith("Water")


def test_back_after_feedback_signed_from_idle_returns_to_idle(started: Callable[[Language], Started]) -> None:
    app, _, _ = started(Language.EN)
    app.services.open_local(UiScreen.FEEDBACK)
    screen = shown_screen(app)
    screen.rate(5)
    screen.choose_topic("safety")
    pump()
    tap(screen.ids.choices.buttons()[2])  # sign with my code
    core_says(app, "rider.identify", {"purpose": "feedback", "deadline": app.monotonic() + 120})
    core_says(app, *rider_screen("feedback"))
    pump_until(lambda: has(app, "Thank you! Points earned: 5"), 3, "the thanks")
    tap(shown_screen(app).ids.back)
    assert showing(app) == UiScreen.IDLE


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_my_points_when_core_cannot_listen_for_a_scan_says_so_on_idle_for_a_while(
    started: Callable[[Language], Started], language: Language
) -> None:
    app, link, clock = started(language)
    link.answers["POST /api/rider/identify"] = Problem.UNREACHABLE
    tap(shown_screen(app).ids.points_button)
    pump_until(lambda: shown_screen(app).ids.subtitle.text == WORDS[language.value]["could_not"], 3, "the notice")
    pump_until(lambda: shown_screen(app).notice_since is not None, 3, "the notice's time taken at a tick")
    clock[0] += 11
    pump_until(lambda: shown_screen(app).ids.subtitle.text != WORDS[language.value]["could_not"], 3, "it gone")


def test_signed_feedback_that_cannot_be_asked_for_goes_back_to_sending_and_says_why(
    started: Callable[[Language], Started],
) -> None:
    app, link, _ = started(Language.EN)
    link.answers["POST /api/rider/identify"] = Problem.UNREACHABLE
    app.services.open_local(UiScreen.FEEDBACK)
    screen = shown_screen(app)
    screen.rate(2)
    screen.choose_topic("cleanliness")
    pump()
    tap(button(app, "Sign with my code"))
    pump_until(lambda: has(app, WORDS["en"]["could_not"]), 3, "the notice")
    assert has(app, "Send anonymously")
