"""The rider services' pure parts: what core's answers mean, words per reason, the map, pages, core's screens."""

from __future__ import annotations

import typing
from zoneinfo import ZoneInfo

import pytest

from kiosk.api.rider_models import RedeemAnswer, RedeemRefusal, RiderView, StationContent
from kiosk.api.screen import Screen
from kiosk.core.rider_events import FEEDBACK_TOPICS
from kiosk.ui import calls
from kiosk.ui.calls import Problem, answer_of
from kiosk.ui.i18n import Translator
from kiosk.ui.rider_views import (
    COULD_NOT,
    FEEDBACK_TOPIC_LABELS,
    NO_SWAP_HERE,
    REDEEM_REFUSALS,
    SESSION_OVER,
    SwapOffer,
    balance_lines,
    categories,
    map_points,
    nearby_top,
    no_swap_text,
    page_of,
    problem_text,
    redeem_text,
    swap_offer,
)
from kiosk.ui.views import UiScreen, view_of
from tests.ui.rider_cases import HERE, NEARBY, RIDER, SERVICES

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_every_feedback_topic_has_its_own_label() -> None:
    assert set(FEEDBACK_TOPIC_LABELS) == set(FEEDBACK_TOPICS)
    assert len(set(FEEDBACK_TOPIC_LABELS.values())) == len(FEEDBACK_TOPICS)


def test_every_redeem_refusal_reason_has_its_own_words() -> None:
    assert set(REDEEM_REFUSALS) == set(typing.get_args(RedeemRefusal))


def test_an_unknown_refusal_uses_cores_words_in_the_language_shown_and_else_a_plain_sentence() -> None:
    answer = RedeemAnswer(ok=False, message_zh="新原因", message_en="A new reason")
    assert redeem_text(answer, english=True).render(str) == "A new reason"
    assert redeem_text(answer, english=False).render(str) == "新原因"
    assert redeem_text(RedeemAnswer(ok=False), english=True).msgid == COULD_NOT


def test_core_answers_are_read_into_values_or_plain_problems() -> None:
    content = StationContent(services=SERVICES).model_dump_json()
    assert answer_of(calls.content(), 200, content).value == StationContent(services=SERVICES)
    assert answer_of(calls.rider(), 404, '{"detail": "nobody"}').problem is Problem.NOBODY
    assert answer_of(calls.redeem("water"), 409, "{}").problem is Problem.NOBODY
    assert answer_of(calls.book("legal-consult", "slot-9"), 422, "{}").problem is Problem.REFUSED
    assert answer_of(calls.content(), 503, "").problem is Problem.UNREACHABLE
    assert answer_of(calls.content(), 200, "not json").problem is Problem.BAD_ANSWER
    assert answer_of(calls.end_rider(), 204, "").ok


def test_a_swap_core_cannot_finish_is_told_as_such_and_not_as_a_session_that_ran_out() -> None:
    refused = '{"error": "no charged battery here now", "reason": "no_charged_battery"}'
    assert answer_of(calls.swap(), 409, refused).problem is Problem.NO_CHARGED_BATTERY
    full = '{"error": "no free bay", "reason": "no_empty_bay"}'
    assert answer_of(calls.swap(), 409, full).problem is Problem.NO_EMPTY_BAY
    assert answer_of(calls.swap(), 409, '{"error": "nobody is identified"}').problem is Problem.NOBODY
    assert answer_of(calls.swap(), 409, '{"reason": "made_up"}').problem is Problem.NOBODY
    assert problem_text(Problem.NO_CHARGED_BATTERY) == NO_SWAP_HERE


def test_a_swap_is_offered_only_while_core_counts_a_swappable_battery_here() -> None:
    assert swap_offer(3, NEARBY) is SwapOffer.SWAP
    assert swap_offer(None, []) is SwapOffer.SWAP  # not known yet: core judges the request itself
    assert swap_offer(0, NEARBY) is SwapOffer.NEARBY
    assert swap_offer(0, [NEARBY[2]]) is SwapOffer.NONE  # a nearby station with none is no help
    assert swap_offer(0, []) is SwapOffer.NONE


def test_with_no_charged_battery_the_rider_is_pointed_to_the_nearest_station_with_one() -> None:
    zh = Translator().gettext
    assert no_swap_text(SwapOffer.SWAP, NEARBY, english=False) is None
    nearest = no_swap_text(SwapOffer.NEARBY, NEARBY, english=False)
    assert nearest is not None
    assert nearest.render(zh) == "本站暂无可换电池。最近有满电电池的驿站：漕溪北路驿站 · 640 m · 满电5块"
    none = no_swap_text(SwapOffer.NONE, [], english=True)
    assert none is not None
    assert none.render(lambda msgid: msgid) == "No charged battery here now. Please come back later."


def test_a_session_that_ran_out_is_told_differently_from_a_failure() -> None:
    assert problem_text(Problem.NOBODY) == SESSION_OVER
    assert problem_text(Problem.UNREACHABLE) == COULD_NOT


def test_the_map_puts_this_station_in_the_middle_and_the_farthest_inside_the_margin() -> None:
    points = map_points(HERE, NEARBY, margin=0.1)
    assert (points[0].x, points[0].y, points[0].station) == (0.5, 0.5, None)
    placed = points[1:]
    assert [p.station.station_id for p in placed if p.station] == ["sh-xuhui-002", "sh-xuhui-007", "sh-xuhui-009"]
    assert all(0.1 - 1e-9 <= p.x <= 0.9 + 1e-9 and 0.1 - 1e-9 <= p.y <= 0.9 + 1e-9 for p in placed)
    assert max(max(abs(p.x - 0.5), abs(p.y - 0.5)) for p in placed) == pytest.approx(0.4)


def test_the_map_keeps_north_up_and_east_right() -> None:
    caoxi = map_points(HERE, NEARBY[:1])[1]  # north-east of here, mostly north
    assert caoxi.y > 0.5
    assert caoxi.x > 0.5
    assert caoxi.y - 0.5 > caoxi.x - 0.5


def test_without_this_stations_place_there_is_no_map() -> None:
    assert map_points(None, NEARBY) == []


def test_nearby_stations_with_charged_batteries_come_first_nearest_first() -> None:
    assert [s.station_id for s in nearby_top(NEARBY, 3)] == ["sh-xuhui-002", "sh-xuhui-007", "sh-xuhui-011"]


def test_pages_wrap_round_and_say_whether_there_is_more() -> None:
    assert page_of([1, 2, 3, 4, 5], 0, 2) == ([1, 2], True)
    assert page_of([1, 2, 3, 4, 5], 2, 2) == ([5], True)
    assert page_of([1, 2, 3, 4, 5], 3, 2) == ([1, 2], True)
    assert page_of([1, 2], 0, 4) == ([1, 2], False)


def test_service_categories_come_in_screen_order_then_unknown_ones() -> None:
    extra = SERVICES[0].model_copy(update={"id": "x", "category": "culture"})
    assert categories([*SERVICES, extra]) == [
        "legal_aid",
        "social_insurance",
        "jobs",
        "child_care",
        "health",
        "culture",
    ]


def test_the_balance_says_what_waits_for_the_city_and_when_it_was_current() -> None:
    zh = Translator().gettext
    assert [m.render(zh) for m in balance_lines(RIDER, SHANGHAI)] == [
        "您有120积分",
        "有15积分等待城市确认",
        "更新于 2026-11-20 10:30",
    ]
    unknown = RiderView(rider_id="R-1", balance=None, offline_cap_left=0, expires_in_s=60)
    assert [m.msgid for m in balance_lines(unknown, SHANGHAI)] == ["Your points are not known here yet."]


@pytest.mark.parametrize(
    ("purpose", "screen"),
    [
        ("rider", UiScreen.RIDER),
        ("points", UiScreen.POINTS),
        ("booking", UiScreen.SERVICES),
        ("feedback", UiScreen.FEEDBACK),
    ],
)
def test_an_identified_rider_lands_on_the_screen_of_the_purpose_they_scanned_for(
    purpose: str, screen: UiScreen
) -> None:
    view = view_of(Screen(number=1, name="rider", params={"rider_id": "R-1", "purpose": purpose}, mono=0.0))
    assert (view.screen, view.purpose) == (screen, purpose)


def test_the_wait_for_a_scan_counts_down_to_cores_deadline() -> None:
    view = view_of(Screen(number=1, name="rider.identify", params={"purpose": "points", "deadline": 150.0}, mono=30.0))
    assert (view.screen, view.seconds, view.terminal) == (UiScreen.IDENTIFY, 120.0, False)


def test_taking_an_item_shows_its_bay() -> None:
    view = view_of(Screen(number=1, name="points.take_item", params={"bay": 9, "item_id": "water"}, mono=0.0))
    assert (view.screen, view.bay) == (UiScreen.SWAP, 9)
