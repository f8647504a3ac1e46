"""Bookings at the hub: requested at a station, confirmed or declined by an operator, a slot's capacity kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.content import Content
from hub.storage import Storage
from hub.storage.points_models import BookingState
from kiosk.core.clock import FakeClock
from kiosk.core.events import EventRecord
from kiosk.sync.protocol import BookingSlot, Service
from tests.hub.support import record

SLOT_START = datetime(2026, 3, 12, 6, 0, tzinfo=UTC)


@pytest.fixture
def city(storage: Storage) -> Storage:
    """A station and a bookable legal-aid service with two slots: ``law-1`` takes 2 riders, ``law-2`` one."""
    storage.add_station("st-a", name="甲", name_en="A")
    slots = [
        BookingSlot(id="law-1", starts=SLOT_START, ends=SLOT_START + timedelta(minutes=30)),
        BookingSlot(id="law-2", starts=SLOT_START + timedelta(hours=1), ends=SLOT_START + timedelta(hours=2)),
    ]
    service = Service(id="law", category="legal_aid", title_zh="法律", title_en="Law", bookable=True, slots=slots)
    storage.load_content(Content(services=[service], slot_capacity={"law-1": 2}))
    return storage


def requested(seq: int, booking_id: str, slot_id: str = "law-1", rider: str = "r-1") -> EventRecord:
    payload = {"booking_id": booking_id, "rider_id": rider, "service_id": "law", "slot_id": slot_id}
    return record("st-a", seq, type_="booking.requested", payload=payload)


def test_a_booking_request_is_stored_as_requested_with_its_slot_time(city: Storage) -> None:
    city.ingest("st-a", [requested(1, "book-0001")])
    [booking] = city.bookings()
    assert (booking.booking_id, booking.status, booking.starts) == ("book-0001", BookingState.REQUESTED, SLOT_START)


def test_a_booking_request_sent_twice_is_stored_once(city: Storage) -> None:
    event = requested(1, "book-0001")
    city.ingest("st-a", [event])
    city.ingest("st-a", [event])
    assert len(city.bookings()) == 1


def test_a_request_for_a_slot_the_city_does_not_offer_is_declined_with_a_note(city: Storage) -> None:
    city.ingest("st-a", [requested(1, "book-0001", slot_id="law-9")])
    [booking] = city.bookings()
    assert booking.status is BookingState.DECLINED
    assert "not offered" in booking.note


def test_an_operator_confirms_a_booking_with_a_note_for_the_rider(city: Storage) -> None:
    city.ingest("st-a", [requested(1, "book-0001")])
    booking = city.set_booking_status("book-0001", BookingState.CONFIRMED, "Room 3, bring your ID")
    assert (booking.status, booking.note) == (BookingState.CONFIRMED, "Room 3, bring your ID")
    assert city.bookings(status=BookingState.CONFIRMED)[0].booking_id == "book-0001"


def test_confirming_beyond_the_slot_capacity_is_refused_in_plain_words(city: Storage) -> None:
    city.ingest("st-a", [requested(1, "book-0001", "law-2"), requested(2, "book-0002", "law-2", rider="r-2")])
    city.set_booking_status("book-0001", BookingState.CONFIRMED)
    with pytest.raises(ValueError, match="slot law-2 is full"):
        city.set_booking_status("book-0002", BookingState.CONFIRMED)
    assert city.bookings(status=BookingState.REQUESTED)[0].booking_id == "book-0002"


def test_a_slot_named_in_slot_capacity_takes_that_many(city: Storage) -> None:
    city.ingest("st-a", [requested(1, "book-0001"), requested(2, "book-0002", rider="r-2")])
    city.set_booking_status("book-0001", BookingState.CONFIRMED)
    city.set_booking_status("book-0002", BookingState.CONFIRMED)
    assert city.confirmed_counts(["law-1", "law-2"]) == {"law-1": 2}


def test_an_unknown_booking_is_a_key_error(city: Storage) -> None:
    with pytest.raises(KeyError, match="no booking book-9999"):
        city.set_booking_status("book-9999", BookingState.DECLINED)


def test_the_station_gets_its_recent_bookings_with_the_city_answer(city: Storage) -> None:
    city.ingest("st-a", [requested(1, "book-0001")])
    city.set_booking_status("book-0001", BookingState.DECLINED, "the lawyer is ill")
    [status] = city.bookings_for("st-a")
    assert (status.booking_id, status.status, status.note) == ("book-0001", "declined", "the lawyer is ill")


def test_old_bookings_leave_the_station_bundle(city: Storage, hub_clock: FakeClock) -> None:
    city.ingest("st-a", [requested(1, "book-0001")])
    hub_clock.advance(timedelta(days=31).total_seconds())
    assert city.bookings_for("st-a", days=30) == []


def test_bookings_can_be_listed_by_status_and_station(city: Storage) -> None:
    city.add_station("st-b", name="乙", name_en="B")
    city.ingest("st-a", [requested(1, "book-0001"), requested(2, "book-0002", slot_id="law-9")])
    assert [b.booking_id for b in city.bookings(status=BookingState.REQUESTED, station_id="st-a")] == ["book-0001"]
    assert city.bookings(station_id="st-b") == []
