"""The admin pages over real HTTP against the hub on loopback, on SQLite and PostgreSQL.

The city's operator reads points, service demand and feedback per station, answers bookings, credits
points and edits the content. Every form is refused without the page's token or from another site.
"""

from __future__ import annotations

import html
import json

import pytest
import requests

from hub.auth import ApiRole
from hub.server import HubServer
from hub.storage import Storage
from hub.storage.points_models import BookingState, EntryKind
from tests.hub.admin_support import CONTENT, HOSTILE, OPERATOR, SLOT, City, seed, sign_in
from tests.hub.screens_support import STATION, add_busy_station


@pytest.fixture
def city(hub: HubServer, storage: Storage) -> City:
    """The seeded hub (see tests/hub/admin_support.py)."""
    return seed(hub, storage)


def summary_cell(page: str, station: str, field: str) -> str:
    row = page[page.index(f'id="row-{station}"') :].split("</tr>")[0]
    return row.split(f'data-field="{field}">')[1].split("<")[0]


def booking_status(storage: Storage, booking_id: str) -> BookingState:
    return next(b.status for b in storage.bookings() if b.booking_id == booking_id)


@pytest.mark.parametrize("path", ["/admin", "/admin/bookings", "/admin/content", "/admin/riders?rider=R-1"])
def test_every_admin_page_needs_an_operator_login(city: City, path: str) -> None:
    answer = requests.get(f"{city.url}{path}", timeout=30)
    assert answer.status_code == 401
    assert "R-1" not in answer.text


def test_a_wrong_password_is_refused(city: City) -> None:
    session, answer = sign_in(city.url, OPERATOR, "wrong password")
    assert answer.status_code == 401
    assert session.get(f"{city.url}/admin", timeout=30).status_code == 401


def test_an_operator_key_opens_the_dashboard(city: City, storage: Storage) -> None:
    key = storage.add_api_key("city-scripts", ApiRole.OPERATOR, operator=OPERATOR)
    answer = requests.get(f"{city.url}/admin", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 200
    assert "signed in as ops (key city-scripts)" in answer.text


def test_the_dashboard_counts_points_per_station(city: City) -> None:
    page = city.get("/admin").text
    assert [summary_cell(page, "st-a", f) for f in ("issued", "spent", "rejected")] == ["10", "5", "0"]
    assert [summary_cell(page, "st-b", f) for f in ("issued", "spent", "rejected")] == ["10", "5", "1"]


def test_the_dashboard_shows_service_demand_by_title(city: City) -> None:
    page = city.get("/admin").text
    assert summary_cell(page, "st-a", "views") == "4"
    assert "Legal consultation" in page
    assert "Job listings" in page


def test_the_dashboard_shows_feedback_count_and_average(city: City) -> None:
    page = city.get("/admin").text
    assert summary_cell(page, "st-a", "feedback") == "2"
    assert summary_cell(page, "st-a", "rating") == "3.0"
    assert "drinks snacks" in page


def test_a_hostile_feedback_text_is_shown_as_text(city: City) -> None:
    page = city.get("/admin").text
    assert HOSTILE not in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in page


def test_the_dashboard_draws_charts_without_scripts(city: City) -> None:
    page = city.get("/admin?days=30").text
    assert page.count("<svg") >= 4
    assert "<script" not in page.replace("&lt;script", "")


def test_a_form_without_the_token_is_refused(city: City, storage: Storage) -> None:
    answer = city.post("/admin/riders/credit", {"rider": "R-2", "points": "50", "reason": "report"})
    assert answer.status_code == 403
    assert "did not come from the hub's admin pages" in html.unescape(answer.text)
    assert storage.balance("R-2") == 10


def test_a_form_with_another_operators_token_is_refused(city: City, storage: Storage) -> None:
    form = {"rider": "R-2", "points": "50", "reason": "report", "csrf": "0" * 64}
    assert city.post("/admin/riders/credit", form).status_code == 403
    assert storage.balance("R-2") == 10


def test_a_form_from_another_site_is_refused_even_with_the_token(city: City, storage: Storage) -> None:
    form = {"rider": "R-2", "points": "50", "reason": "report", "csrf": city.token()}
    answer = city.post("/admin/riders/credit", form, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert "another web site" in answer.text
    assert storage.balance("R-2") == 10


def test_a_form_from_the_hubs_own_page_is_accepted(city: City, storage: Storage) -> None:
    form = {"rider": "R-2", "points": "50", "reason": "report", "csrf": city.token()}
    answer = city.post("/admin/riders/credit", form, headers={"Origin": city.url})
    assert answer.status_code == 303
    assert storage.balance("R-2") == 60


def test_crediting_points_shows_the_new_balance_and_the_reason(city: City) -> None:
    form = {"rider": "R-1", "points": "25", "reason": "community report: broken street light", "csrf": city.token()}
    page = city.post("/admin/riders/credit", form, follow=True)
    assert page.status_code == 200
    assert '<strong id="balance">25</strong>' in page.text
    assert "Credited 25 points to rider R-1: community report: broken street light (by ops)." in page.text


def test_a_credit_is_recorded_with_the_operator_who_made_it(city: City, storage: Storage) -> None:
    city.post("/admin/riders/credit", {"rider": "R-1", "points": "3", "reason": "goodwill", "csrf": city.token()})
    entry = storage.ledger(rider_id="R-1", limit=1)[0]
    assert (entry.kind, entry.points, entry.station_id) == (EntryKind.CREDITED, 3, None)
    assert "goodwill" in entry.reason


def test_the_same_credit_form_sent_twice_credits_once(city: City, storage: Storage) -> None:
    page = city.get("/admin/riders?rider=R-1").text
    once = page.split('name="once" value="', 1)[1].split('"', 1)[0]
    form = {"rider": "R-1", "points": "7", "reason": "community report", "csrf": city.token(), "once": once}
    assert city.post("/admin/riders/credit", form).status_code == 303
    assert city.post("/admin/riders/credit", form).status_code == 303  # a double click
    assert storage.balance("R-1") == 7
    assert [e.points for e in storage.ledger(rider_id="R-1") if e.kind is EntryKind.CREDITED] == [7]


def test_a_credit_of_no_whole_points_is_refused_in_plain_words(city: City, storage: Storage) -> None:
    form = {"rider": "R-1", "points": "ten", "reason": "report", "csrf": city.token()}
    answer = city.post("/admin/riders/credit", form)
    assert answer.status_code == 422
    assert "Points must be a whole number" in answer.text
    assert storage.balance("R-1") == 0


def test_confirming_a_booking_shows_it_confirmed(city: City, storage: Storage) -> None:
    form = {"status": "confirmed", "note": "Room 2, bring your ID", "csrf": city.token("/admin/bookings")}
    page = city.post("/admin/bookings/book-a-0001", form, follow=True)
    assert "Booking book-a-0001 is now confirmed." in page.text
    assert booking_status(storage, "book-a-0001") is BookingState.CONFIRMED


def test_declining_a_booking_keeps_the_note_for_the_rider(city: City, storage: Storage) -> None:
    form = {"status": "declined", "note": "The lawyer is ill; please book again", "csrf": city.token()}
    city.post("/admin/bookings/book-b-0001", form)
    declined = next(b for b in storage.bookings() if b.booking_id == "book-b-0001")
    assert (declined.status, declined.note) == (BookingState.DECLINED, "The lawyer is ill; please book again")


def test_confirming_a_booking_of_a_full_slot_says_so(city: City, storage: Storage) -> None:
    token = city.token()
    city.post("/admin/bookings/book-a-0001", {"status": "confirmed", "csrf": token})
    answer = city.post("/admin/bookings/book-b-0001", {"status": "confirmed", "csrf": token})
    assert answer.status_code == 409
    assert f"slot {SLOT} is full" in answer.text
    assert booking_status(storage, "book-b-0001") is BookingState.REQUESTED


def test_answering_an_unknown_booking_is_not_found(city: City) -> None:
    answer = city.post("/admin/bookings/nope-0000", {"status": "confirmed", "csrf": city.token()})
    assert answer.status_code == 404
    assert "There is no booking nope-0000" in answer.text


def test_the_bookings_filter_shows_one_status(city: City) -> None:
    city.post("/admin/bookings/book-a-0001", {"status": "declined", "csrf": city.token()})
    page = city.get("/admin/bookings?status=requested").text
    assert 'id="booking-book-b-0001"' in page
    assert 'id="booking-book-a-0001"' not in page


def test_the_content_page_lists_catalogue_rules_and_services(city: City) -> None:
    page = city.get("/admin/content").text
    assert "Bottled water" in page
    assert '<td class="num">10</td>' in page  # the check-in rule's points
    assert "Legal consultation" in page
    assert "1 places" in page


def test_checking_broken_json_says_where_saves_nothing_and_keeps_the_text(city: City, storage: Storage) -> None:
    broken = '{"catalogue": [\n  {"id": "tea",}\n]}'
    answer = city.post("/admin/content", {"content": broken, "action": "save", "csrf": city.token()})
    assert answer.status_code == 422
    assert "line 2, column" in answer.text
    assert "{&quot;id&quot;: &quot;tea&quot;,}" in answer.text
    assert storage.content().catalogue[0].id == "water"


def test_content_that_does_not_fit_is_refused_with_where(city: City, storage: Storage) -> None:
    wrong = json.dumps({**CONTENT, "catalogue": [{"id": "tea", "name_zh": "茶", "name_en": "Tea", "points": 0}]})
    answer = city.post("/admin/content", {"content": wrong, "action": "save", "csrf": city.token()})
    assert answer.status_code == 422
    assert "catalogue, item 1 (id &quot;tea&quot;), points" in answer.text
    assert storage.content().catalogue[0].id == "water"


def test_checking_good_content_saves_nothing(city: City, storage: Storage) -> None:
    good = json.dumps({**CONTENT, "catalogue": []})
    answer = city.post("/admin/content", {"content": good, "action": "check", "csrf": city.token()})
    assert answer.status_code == 200
    assert "No problems found. Nothing was saved yet" in answer.text
    assert storage.content().catalogue[0].id == "water"


def test_saving_good_content_replaces_it_at_once(city: City, storage: Storage) -> None:
    tea = {"id": "tea", "name_zh": "茶", "name_en": "Green tea", "points": 3}
    good = json.dumps({**CONTENT, "catalogue": [tea]}, ensure_ascii=False)
    page = city.post("/admin/content", {"content": good, "action": "save", "csrf": city.token()}, follow=True)
    assert "The content was saved." in page.text
    assert "Green tea" in page.text
    assert [item.id for item in storage.content().catalogue] == ["tea"]


def test_the_fleet_page_links_to_the_admin_pages(city: City) -> None:
    assert 'href="/admin"' in city.get("/fleet").text


def test_the_dashboard_counts_earnings_refused_by_the_cross_station_daily_limit(city: City, storage: Storage) -> None:
    add_busy_station(city.url, storage)  # R-1 checks in at st-c after st-a on the same day
    page = city.get("/admin").text
    assert summary_cell(page, STATION, "over_limit") == "1"
    assert summary_cell(page, STATION, "issued") == "0"
    assert summary_cell(page, "st-a", "over_limit") == "0"
