"""kiosk-hub points, bookings, feedback and content show, run in-process against both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.cli import main
from hub.content import Content, read_content_file
from hub.storage import Storage, open_storage
from kiosk.sync.protocol import BookingSlot, Service
from tests.hub.support import record

SLOT = datetime(2026, 3, 12, 6, 0, tzinfo=UTC)


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    code = main([*args[:2], "--db", db, *args[2:]])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def city(db_target: str) -> str:
    """A station st-a with a requested booking (slot of one place) and two pieces of feedback."""
    store: Storage = open_storage(db_target)
    store.add_station("st-a", name="甲", name_en="A")
    slot = BookingSlot(id="law-1", starts=SLOT, ends=SLOT + timedelta(minutes=30))
    service = Service(id="law", category="legal_aid", title_zh="法", title_en="Law", bookable=True, slots=[slot])
    store.load_content(Content(services=[service]))
    booking = {"booking_id": "book-0001", "rider_id": "r-1", "service_id": "law", "slot_id": "law-1"}
    other = {**booking, "booking_id": "book-0002", "rider_id": "r-2"}
    store.ingest(
        "st-a",
        [
            record("st-a", 1, type_="booking.requested", payload=booking),
            record("st-a", 2, type_="booking.requested", payload=other),
            record(
                "st-a", 3, type_="feedback.given", payload={"feedback_id": "fb-00001", "rating": 5, "topic": "safety"}
            ),
            record(
                "st-a",
                4,
                type_="feedback.given",
                payload={
                    "feedback_id": "fb-00002",
                    "rating": 2,
                    "topic": "charging",
                    "text": "slow",
                    "rider_id": "r-1",
                },
            ),
        ],
    )
    store.close()
    return db_target


def test_points_credit_then_balance(capsys: pytest.CaptureFixture[str], city: str) -> None:
    code, out, _ = run(capsys, city, "points", "credit", "r-1", "15", "--reason", "community report")
    assert code == 0
    assert "balance now 15" in out
    assert run(capsys, city, "points", "balance", "r-1")[1].strip() == "rider r-1: 15 points"


def test_points_credit_of_zero_is_bad_input(capsys: pytest.CaptureFixture[str], city: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(capsys, city, "points", "credit", "r-1", "0", "--reason", "x")
    assert exit_.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_points_credit_without_a_reason_in_words_is_bad_input(capsys: pytest.CaptureFixture[str], city: str) -> None:
    code, _, err = run(capsys, city, "points", "credit", "r-1", "5", "--reason", " ")
    assert code == 2
    assert "say why" in err


def test_points_ledger_lists_a_rider_entries(capsys: pytest.CaptureFixture[str], city: str) -> None:
    run(capsys, city, "points", "credit", "r-1", "15", "--reason", "community report", "--by", "ops")
    run(capsys, city, "points", "credit", "r-2", "3", "--reason", "goodwill")
    code, out, _ = run(capsys, city, "points", "ledger", "--rider", "r-1")
    assert code == 0
    [line] = out.splitlines()
    assert "+15" in line
    assert "community report (by ops)" in line


def test_bookings_list_by_status(capsys: pytest.CaptureFixture[str], city: str) -> None:
    code, out, _ = run(capsys, city, "bookings", "list", "--status", "requested")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["book-0002", "book-0001"]


def test_bookings_confirm_with_a_note(capsys: pytest.CaptureFixture[str], city: str) -> None:
    code, out, _ = run(capsys, city, "bookings", "confirm", "book-0001", "--note", "Room 3")
    assert code == 0
    assert "booking book-0001 confirmed" in out
    assert "Room 3" in run(capsys, city, "bookings", "list", "--status", "confirmed")[1]


def test_bookings_confirm_beyond_the_slot_capacity_is_bad_input(capsys: pytest.CaptureFixture[str], city: str) -> None:
    run(capsys, city, "bookings", "confirm", "book-0001")
    code, _, err = run(capsys, city, "bookings", "confirm", "book-0002")
    assert code == 2
    assert "slot law-1 is full" in err


def test_bookings_decline_an_unknown_booking_is_bad_input(capsys: pytest.CaptureFixture[str], city: str) -> None:
    code, _, err = run(capsys, city, "bookings", "decline", "book-9999")
    assert code == 2
    assert err.strip() == "kiosk-hub: there is no booking book-9999"


def test_bookings_list_refuses_an_unknown_status(capsys: pytest.CaptureFixture[str], city: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(capsys, city, "bookings", "list", "--status", "maybe")
    assert exit_.value.code == 2


def test_feedback_list_shows_newest_first(capsys: pytest.CaptureFixture[str], city: str) -> None:
    code, out, _ = run(capsys, city, "feedback", "list", "--station", "st-a")
    assert code == 0
    first, second = out.splitlines()
    assert (first.split()[3], first.split()[-1], first.split()[5]) == ("2/5", "slow", "r-1")
    assert "anonymous" in second


def test_content_show_prints_what_content_load_read(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "catalogue": [{"id": "water", "name_zh": "水", "name_en": "Water", "points": 5}],
                "points_rules": [{"id": "checkin", "points": 2}],
            }
        )
    )
    code, out, _ = run(capsys, db_target, "content", "load", str(path))
    assert (code, "1 catalogue items, 1 points rules" in out) == (0, True)
    _code, shown, _ = run(capsys, db_target, "content", "show")
    assert Content.model_validate_json(shown) == read_content_file(path)


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ({"catalogue": [{"id": "water", "name_zh": "水", "name_en": "Water"}]}, "catalogue.0.points: is missing"),
        (
            {"points_rules": [{"id": "checkin", "points": 1}, {"id": "checkin", "points": 2}]},
            "points rule id must be used once, but checkin appear",
        ),
        (
            {
                "services": [
                    {
                        "id": "law",
                        "category": "legal_aid",
                        "title_zh": "法",
                        "title_en": "Law",
                        "slots": [{"id": "s1", "starts": "2026-03-12T06:00:00Z", "ends": "2026-03-12T07:00:00Z"}],
                    }
                ]
            },
            "service law has slots but is not bookable",
        ),
        ({"slot_capacity": {"s9": 2}}, "slot_capacity names slots no service has: s9"),
    ],
)
def test_content_load_explains_a_mistake(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path, content: dict[str, object], complaint: str
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(content))
    code, _, err = run(capsys, db_target, "content", "load", str(path))
    assert code == 1
    assert complaint in err
