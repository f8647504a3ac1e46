"""The admin pages' pure parts: rendering over hand-made figures, the content check, CSRF tokens and origins."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.admin import CsrfTokens, check_credit, origin_ok, since_days
from hub.admin_content import check_content, content_json
from hub.admin_html import (
    Dashboard,
    StationFigures,
    render_bookings,
    render_dashboard,
    render_rider,
)
from hub.content import Content
from hub.storage.points_models import (
    Booking,
    BookingState,
    EntryKind,
    EntryStatus,
    FeedbackFigures,
    FeedbackRow,
    LedgerEntry,
    PointsFigures,
)

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>'


def figures(station: str = "st-a", *, text: str = "more water please") -> StationFigures:
    return StationFigures(
        station_id=station,
        name="甲",
        name_en="Station A",
        points=PointsFigures(station, issued=12, spent=5, rejected_spends=1),
        views=[("Legal aid", 3), ("Jobs", 1)],
        feedback=FeedbackFigures(station, count=2, average_rating=4.5, topics={"drinks_snacks": 2}),
        recent=[FeedbackRow("fb-00000001", station, 5, "drinks_snacks", text, None, NOW)],
    )


def dashboard(*rows: StationFigures) -> Dashboard:
    return Dashboard(
        generated_at=NOW,
        days=7,
        since=NOW,
        utc_offset_minutes=480,
        stations=list(rows),
        credits=PointsFigures(None, issued=20, spent=0, rejected_spends=0),
        open_bookings=2,
    )


def booking(status: BookingState = BookingState.REQUESTED) -> Booking:
    return Booking("bk-00000001", "st-a", "R-1", "legal-1", "slot-1", NOW, status, "", NOW, NOW)


def test_the_dashboard_shows_points_views_and_feedback_per_station() -> None:
    html = render_dashboard(dashboard(figures()), who="ops")
    row = html[html.index('id="row-st-a"') :].split("</tr>")[0]
    assert 'data-field="issued">12<' in row
    assert 'data-field="spent">5<' in row
    assert 'data-field="rejected">1<' in row
    assert 'data-field="views">4<' in row
    assert 'data-field="rating">4.5<' in row
    assert "Legal aid" in html
    assert "drinks snacks" in html


def test_the_dashboard_escapes_feedback_text() -> None:
    html = render_dashboard(dashboard(figures(text=HOSTILE)), who="ops")
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


def test_the_dashboard_shows_operator_credits_and_waiting_bookings() -> None:
    html = render_dashboard(dashboard(figures()), who="ops")
    assert "Points credited by operators at the hub: 20" in html
    assert "2 bookings wait for an answer" in html


def test_a_requested_booking_can_be_confirmed_or_declined() -> None:
    html = render_bookings([booking()], status=None, titles={}, csrf="tok", who="ops", utc_offset_minutes=0)
    assert 'data-test="confirm-bk-00000001"' in html
    assert 'data-test="decline-bk-00000001"' in html
    assert 'name="csrf" value="tok"' in html


def test_a_declined_booking_offers_no_buttons() -> None:
    html = render_bookings(
        [booking(BookingState.DECLINED)], status=None, titles={}, csrf="tok", who="ops", utc_offset_minutes=0
    )
    assert "<button" not in html


def test_a_bookings_service_is_shown_by_its_title() -> None:
    html = render_bookings(
        [booking()], status=None, titles={"legal-1": "Legal aid"}, csrf="t", who="ops", utc_offset_minutes=0
    )
    assert '<td data-label="service">Legal aid</td>' in html


def test_the_rider_page_shows_balance_and_signed_ledger() -> None:
    spent = LedgerEntry("e-0000001", "R-1", "st-a", EntryKind.SPENT, 5, EntryStatus.REJECTED, NOW, item_id="water")
    html = render_rider("R-1", balance=7, ledger=[spent], csrf="t", who="ops", utc_offset_minutes=0)
    assert '<strong id="balance">7</strong>' in html
    assert "−5" in html
    assert "rejected" in html


def test_every_form_carries_the_csrf_token() -> None:
    html = render_rider("R-1", balance=0, ledger=[], csrf="tok-123", who="ops", utc_offset_minutes=0)
    assert html.count("<form") - html.count('method="get"') == html.count('value="tok-123"')


def test_broken_json_is_a_problem_with_its_line() -> None:
    found = check_content('{\n  "services": [\n}')
    assert not found.ok
    assert found.problems[0].startswith("line 3, column 1:")


def test_a_missing_field_is_named_with_the_items_number_and_id() -> None:
    found = check_content('{"services": [{"id": "legal-1", "category": "legal_aid", "title_zh": "法律"}]}')
    assert found.problems == ['services, item 1 (id "legal-1"), title_en: is missing']


def test_an_unknown_field_is_called_a_likely_typo() -> None:
    found = check_content('{"service": []}')
    assert found.problems == ["service: is not a field the content knows (mistyped?)"]


def test_a_repeated_id_is_a_problem_in_plain_words() -> None:
    item = '{"id": "water", "name_zh": "水", "name_en": "Water", "points": 5}'
    found = check_content(f'{{"catalogue": [{item}, {item}]}}')
    assert not found.ok
    assert "water" in found.problems[0]
    assert "Value error" not in found.problems[0]


def test_good_content_passes_the_check() -> None:
    found = check_content('{"points_rules": [{"id": "checkin", "points": 2}]}')
    assert found.ok
    assert found.content is not None
    assert found.content.points_rules[0].points == 2


def test_the_editor_text_checks_as_the_content_it_came_from() -> None:
    content = Content.model_validate(
        {"catalogue": [{"id": "water", "name_zh": "矿泉水", "name_en": "Water", "points": 5}]}
    )
    assert check_content(content_json(content)).content == content


def test_a_token_is_valid_only_for_its_operator() -> None:
    tokens = CsrfTokens(b"k" * 32)
    assert tokens.valid("ops", tokens.token("ops"))
    assert not tokens.valid("eve", tokens.token("ops"))
    assert not tokens.valid("ops", None)


def test_tokens_of_another_hub_start_are_refused() -> None:
    assert not CsrfTokens().valid("ops", CsrfTokens().token("ops"))


def test_the_hubs_own_origin_is_accepted() -> None:
    assert origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert origin_ok("https://hub.city.example", "hub.city.example")
    assert origin_ok(None, "hub.city.example")


def test_foreign_and_null_origins_are_refused() -> None:
    assert not origin_ok("https://evil.example", "hub.city.example")
    assert not origin_ok("http://127.0.0.1:9999", "127.0.0.1:8080")
    assert not origin_ok("null", "hub.city.example")


def test_a_credit_needs_a_reason() -> None:
    assert isinstance(check_credit({"rider": "R-1", "points": "5", "reason": "  "}), str)


def test_a_credit_needs_whole_positive_points() -> None:
    assert isinstance(check_credit({"rider": "R-1", "points": "2.5", "reason": "report"}), str)
    assert isinstance(check_credit({"rider": "R-1", "points": "0", "reason": "report"}), str)


def test_a_good_credit_is_read_with_its_reason_tidied() -> None:
    checked = check_credit({"rider": " R-1 ", "points": "10", "reason": "broken\n light"})
    assert not isinstance(checked, str)
    assert (checked.rider_id, checked.points, checked.reason) == ("R-1", 10, "broken light")


def test_one_day_means_since_the_citys_midnight_today() -> None:
    assert since_days(NOW, 1, 480) == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
