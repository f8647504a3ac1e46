"""Feedback at the hub: stored once from the station's events, listed newest first, counted per station."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.storage import Storage
from kiosk.core.events import EventRecord
from tests.hub.support import T0, record


@pytest.fixture
def city(storage: Storage) -> Storage:
    """Two stations."""
    storage.add_station("st-a", name="甲", name_en="A")
    storage.add_station("st-b", name="乙", name_en="B")
    return storage


def given(station: str, seq: int, rating: int, topic: str = "cleanliness", **extra: Any) -> EventRecord:
    payload = {"feedback_id": f"fb-{station}-{seq:04d}", "rating": rating, "topic": topic, **extra}
    return record(station, seq, type_="feedback.given", payload=payload)


def test_feedback_is_stored_with_its_text_and_rider(city: Storage) -> None:
    city.ingest("st-a", [given("st-a", 1, 4, text="more shade please", rider_id="r-1")])
    [row] = city.recent_feedback()
    assert (row.station_id, row.rating, row.topic, row.text, row.rider_id) == (
        "st-a",
        4,
        "cleanliness",
        "more shade please",
        "r-1",
    )


def test_anonymous_feedback_has_no_rider(city: Storage) -> None:
    city.ingest("st-a", [given("st-a", 1, 5)])
    assert city.recent_feedback()[0].rider_id is None


def test_feedback_sent_twice_is_stored_once(city: Storage) -> None:
    batch = [given("st-a", 1, 5)]
    city.ingest("st-a", batch)
    city.ingest("st-a", batch)
    assert len(city.recent_feedback()) == 1


def test_recent_feedback_is_newest_first_and_filtered_by_station(city: Storage) -> None:
    city.ingest("st-a", [given("st-a", 1, 3), given("st-a", 2, 4)])
    city.ingest("st-b", [given("st-b", 1, 5)])
    assert [r.feedback_id for r in city.recent_feedback(station_id="st-a")] == ["fb-st-a-0002", "fb-st-a-0001"]


def test_feedback_figures_give_count_average_and_topics_per_station(city: Storage) -> None:
    city.ingest("st-a", [given("st-a", 1, 3), given("st-a", 2, 4, topic="charging"), given("st-a", 3, 4)])
    city.ingest("st-b", [given("st-b", 1, 5, topic="safety")])
    figures = {f.station_id: f for f in city.feedback_by_station(T0)}
    assert (figures["st-a"].count, figures["st-a"].average_rating) == (3, 3.67)
    assert figures["st-a"].topics == {"cleanliness": 2, "charging": 1}
    assert figures["st-b"].topics == {"safety": 1}


def test_feedback_figures_leave_out_what_came_before_the_date(city: Storage) -> None:
    city.ingest("st-a", [given("st-a", 1, 3)])
    assert city.feedback_by_station(T0 + timedelta(days=1)) == []


def test_feedback_with_a_rating_out_of_range_is_kept_as_an_event_only(city: Storage) -> None:
    bad = given("st-a", 1, 9)
    assert city.ingest("st-a", [bad]).accepted == [bad.id]
    assert city.recent_feedback() == []
    assert city.event_count("st-a") == 1
