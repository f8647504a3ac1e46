"""The local API's rider endpoints over real HTTP with the UI token: paths, models and status codes as listed in
``kiosk/api/rider_models.py``, errors as ``{"error": "plain words"}``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from kiosk.api.rider_models import FeedbackAnswer, IdentifyAnswer, RiderView, StationContent
from kiosk.core.content import Announcement
from tests.rider_support import WATER_BAY, RiderStation, balance, city_bundle, rider_config, start_rider_station
from tests.support import wait_until

RIDER = "R3003"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[RiderStation]:
    """A station with the test city and 3 bottles of water in bay 9."""
    now = datetime.now(UTC)
    notices = [
        Announcement(id="now", text_zh="今天", text_en="Today", starts=now - timedelta(days=1)),
        Announcement(id="later", text_zh="以后", text_en="Later", starts=now + timedelta(days=3)),
    ]
    for station in start_rider_station(tmp_path, rider_config(tmp_path)):
        station.apply(city_bundle("sim-001", announcements=notices, balances=[balance(RIDER, 50)]))
        station.restock(WATER_BAY, 3)
        yield station


# --- content and service views ------------------------------------------------------------------------


def test_content_shows_the_city_with_this_stations_stock(desk: RiderStation) -> None:
    answer = desk.get("/api/content")
    assert answer.status_code == 200
    content = StationContent.model_validate(answer.json())
    assert [s.id for s in content.services] == ["legal-aid", "jobs"]
    assert {o.id: o.in_stock for o in content.catalogue} == {"water": 3, "snack": 0, "cable": 0}
    assert [r.id for r in content.points_rules] == ["checkin", "feedback"]
    assert "cleanliness" in content.feedback_topics
    assert content.bundle_at is not None


def test_content_lists_only_current_announcements(desk: RiderStation) -> None:
    assert [a["id"] for a in desk.get("/api/content").json()["announcements"]] == ["now"]


def test_the_rider_endpoints_need_the_ui_token(desk: RiderStation) -> None:
    answer = requests.get(f"{desk.url}/api/content", timeout=5)
    assert answer.status_code == 401
    assert "error" in answer.json()


def test_a_service_view_is_recorded_with_its_language(desk: RiderStation) -> None:
    assert desk.post("/api/services/legal-aid/viewed", {"language": "en"}).status_code == 202
    [viewed] = desk.events("service.viewed")
    assert viewed["payload"] == {"service_id": "legal-aid", "category": "legal_aid", "language": "en"}


def test_a_service_view_without_a_body_is_in_chinese(desk: RiderStation) -> None:
    assert desk.post("/api/services/jobs/viewed").status_code == 202
    assert desk.events("service.viewed")[0]["payload"]["language"] == "zh"


def test_viewing_an_unknown_service_is_404(desk: RiderStation) -> None:
    answer = desk.post("/api/services/astrology/viewed", {"language": "en"})
    assert answer.status_code == 404
    assert "astrology" in answer.json()["error"]


def test_a_service_view_in_an_unknown_language_is_422(desk: RiderStation) -> None:
    answer = desk.post("/api/services/jobs/viewed", {"language": "fr"})
    assert answer.status_code == 422
    assert "language" in answer.json()["error"]


# --- identifying the rider --------------------------------------------------------------------------------


def test_identify_waits_for_a_scan_and_shows_it(desk: RiderStation) -> None:
    answer = desk.post("/api/rider/identify", {"purpose": "booking"})
    assert answer.status_code == 202
    assert IdentifyAnswer.model_validate(answer.json()).waiting_s > 0
    screen = desk.running.tech.screen()
    assert (screen["name"], screen["params"]["purpose"]) == ("rider.identify", "booking")


def test_a_scan_identifies_the_rider_and_shows_their_screen(desk: RiderStation) -> None:
    desk.identify(RIDER, purpose="booking")
    view = RiderView.model_validate(desk.get("/api/rider").json())
    assert (view.rider_id, view.purpose, view.balance, view.checked_in_today) == (RIDER, "booking", 52, True)
    assert view.expires_in_s > 0
    assert desk.running.tech.screen()["name"] == "rider"
    accepted = desk.events("code.accepted")
    assert [e["payload"]["rider_id"] for e in accepted] == [RIDER]


def test_an_identification_scan_uses_up_the_code(desk: RiderStation) -> None:
    desk.post("/api/rider/identify", {"purpose": "rider"})
    code = desk.code(RIDER)
    desk.sim.scan(code)
    wait_until(lambda: desk.get("/api/rider").status_code == 200, 10, "identified")
    desk.post("/api/rider/end")
    desk.post("/api/rider/identify", {"purpose": "rider"})
    desk.sim.scan(code)
    wait_until(lambda: desk.running.tech.screen()["name"] == "code.refused", 10, "the used code refused")
    assert desk.running.tech.screen()["params"]["reason"] == "nonce_used"


def test_identify_for_an_unknown_purpose_is_422(desk: RiderStation) -> None:
    answer = desk.post("/api/rider/identify", {"purpose": "lottery"})
    assert answer.status_code == 422
    assert "purpose" in answer.json()["error"]


def test_nobody_identified_is_404(desk: RiderStation) -> None:
    answer = desk.get("/api/rider")
    assert answer.status_code == 404
    assert answer.json()["error"]


def test_ending_the_session_forgets_the_rider_and_shows_idle(desk: RiderStation) -> None:
    desk.identify(RIDER)
    answer = desk.post("/api/rider/end")
    assert (answer.status_code, answer.content) == (204, b"")
    assert desk.get("/api/rider").status_code == 404
    assert desk.running.tech.screen()["name"] == "idle"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/rider/swap", None),
        ("/api/rider/redeem", {"item_id": "water"}),
        ("/api/rider/bookings", {"service_id": "legal-aid", "slot_id": "slot-1"}),
        ("/api/feedback", {"rating": 4, "topic": "cleanliness", "signed": True}),
    ],
)
def test_rider_actions_without_an_identified_rider_are_409(desk: RiderStation, path: str, body: object) -> None:
    answer = desk.post(path, body)
    assert answer.status_code == 409
    assert "scan" in answer.json()["error"]


# --- swap, redeem ----------------------------------------------------------------------------------------------


def test_a_swap_for_the_identified_rider_is_accepted(desk: RiderStation) -> None:
    desk.identify(RIDER)
    answer = desk.post("/api/rider/swap")
    assert (answer.status_code, answer.json()) == (202, {"requested": True})


def test_redeem_opens_the_bay_and_says_so(desk: RiderStation) -> None:
    desk.identify(RIDER)
    answer = desk.post("/api/rider/redeem", {"item_id": "water"})
    assert answer.status_code == 200
    assert answer.json() | {"message_zh": "", "message_en": ""} == {
        "ok": True,
        "bay": WATER_BAY,
        "confirmed": False,
        "balance": 47,
        "reason": None,
        "message_zh": "",
        "message_en": "",
    }
    screen = desk.running.tech.screen()
    assert (screen["name"], screen["params"]["bay"]) == ("points.take_item", WATER_BAY)


def test_a_refused_redeem_is_200_with_the_reason_in_both_languages(desk: RiderStation) -> None:
    desk.identify(RIDER)
    answer = desk.post("/api/rider/redeem", {"item_id": "snack"})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["ok"], body["reason"], body["bay"]) == (False, "out_of_stock", None)
    assert body["message_zh"]
    assert body["message_en"]


def test_redeem_without_an_item_is_422(desk: RiderStation) -> None:
    desk.identify(RIDER)
    answer = desk.post("/api/rider/redeem", {})
    assert answer.status_code == 422
    assert "item_id" in answer.json()["error"]


def test_a_body_that_is_not_json_is_422(desk: RiderStation) -> None:
    answer = desk.http.post(f"{desk.url}/api/rider/redeem", data=b"{not json", timeout=5)
    assert (answer.status_code, answer.json()) == (422, {"error": "the body is not valid JSON"})


# --- bookings -------------------------------------------------------------------------------------------


def test_a_booking_is_201_requested_and_recorded(desk: RiderStation) -> None:
    desk.identify(RIDER)
    answer = desk.post("/api/rider/bookings", {"service_id": "legal-aid", "slot_id": "slot-1"})
    assert answer.status_code == 201
    booking = answer.json()
    assert booking["status"] == "requested"
    [event] = desk.events("booking.requested")
    assert event["payload"]["booking_id"] == booking["booking_id"]
    assert [b["status"] for b in desk.rider()["bookings"]] == ["requested"]


def test_booking_an_unknown_slot_is_404(desk: RiderStation) -> None:
    desk.identify(RIDER)
    answer = desk.post("/api/rider/bookings", {"service_id": "legal-aid", "slot_id": "slot-99"})
    assert answer.status_code == 404
    assert "slot-99" in answer.json()["error"]


def test_booking_a_service_that_takes_no_bookings_is_409(desk: RiderStation) -> None:
    desk.identify(RIDER)
    answer = desk.post("/api/rider/bookings", {"service_id": "jobs", "slot_id": "slot-1"})
    assert answer.status_code == 409
    assert "no bookings" in answer.json()["error"]


# --- feedback ----------------------------------------------------------------------------------------------------


def test_anonymous_feedback_is_201_and_carries_no_rider(desk: RiderStation) -> None:
    answer = desk.post("/api/feedback", {"rating": 5, "topic": "charging", "text": "快一点"})
    assert answer.status_code == 201
    assert FeedbackAnswer.model_validate(answer.json()).signed is False
    [event] = desk.events("feedback.given")
    assert (event["payload"]["rider_id"], event["payload"]["text"]) == (None, "快一点")


def test_signed_feedback_earns_the_feedback_rule_once_a_day(desk: RiderStation) -> None:
    desk.identify(RIDER)
    first = desk.post("/api/feedback", {"rating": 4, "topic": "safety", "signed": True}).json()
    second = desk.post("/api/feedback", {"rating": 2, "topic": "other", "signed": True}).json()
    assert (first["signed"], first["points_earned"], second["points_earned"]) == (True, 1, 0)
    rules = [e["payload"]["rule"] for e in desk.events("points.earned")]
    assert rules == ["checkin", "feedback"]


def test_feedback_with_a_rating_out_of_range_is_422(desk: RiderStation) -> None:
    answer = desk.post("/api/feedback", {"rating": 9, "topic": "safety"})
    assert answer.status_code == 422
    assert "rating" in answer.json()["error"]
