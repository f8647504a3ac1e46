"""Issue 13, bug 4 at the hub: a code issued by the hub says which stations' events its points snapshot holds.

Per station where the rider was seen, the station's high-water seq (its events up to there are in the
balance), read in the same transaction as the balance; complete when every such station fits in the code.
Run against both engines (SQLite and PostgreSQL).
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.codes import issue_code
from hub.content import Content
from hub.storage import Storage
from kiosk.core.events import EventRecord
from kiosk.core.ridercode import MAX_COVERED, PointsCover, parse_code, station_tag
from kiosk.sync.protocol import PointsRule
from tests.hub.support import record

RIDER = "r-1"


@pytest.fixture
def city(storage: Storage) -> Storage:
    """Five stations, a signing key, and a check-in rule (3 points; many a day, so each station earns)."""
    for n in range(5):
        storage.add_station(f"st-{n}", name=f"站{n}", name_en=f"S{n}")
    storage.load_content(Content(points_rules=[PointsRule(id="checkin", points=3, per_day=9)]))
    return storage


def earned(station: str, seq: int, entry_id: str) -> EventRecord:
    payload: dict[str, Any] = {
        "entry_id": entry_id,
        "rider_id": RIDER,
        "rule": "checkin",
        "points": 3,
        "day": "2026-03-10",
    }
    return record(station, seq, type_="points.earned", payload=payload)


def cover_of(storage: Storage, **kw: Any) -> tuple[int | None, PointsCover | None, str]:
    issued = issue_code(storage, RIDER, **kw)
    code = parse_code(issued.code).code
    return code.points, code.covers, issued.code[:4]


def test_a_rider_never_seen_gets_an_empty_complete_cover(city: Storage) -> None:
    assert cover_of(city) == (0, PointsCover((), complete=True), "RK2:")


def test_the_cover_names_the_station_with_its_high_water_seq(city: Storage) -> None:
    city.ingest("st-0", [record("st-0", 1, type_="door.opened", payload={}), earned("st-0", 2, "earn-0001")])
    points, covers, _ = cover_of(city)
    assert points == 3
    assert covers == PointsCover(((station_tag("st-0"), 2),), complete=True)
    assert covers.seq_for("st-0") == 2
    assert covers.seq_for("st-1") == 0  # complete: none of st-1's events are in the balance


def test_a_rider_seen_at_more_stations_than_fit_gets_the_latest_and_an_incomplete_cover(city: Storage) -> None:
    for n in range(MAX_COVERED + 1):
        city.ingest(f"st-{n}", [earned(f"st-{n}", 1, f"earn-{n:04d}")])
    _, covers, _ = cover_of(city)
    assert covers is not None
    assert len(covers.stations) == MAX_COVERED
    assert covers.complete is False


def test_a_code_with_the_apps_own_points_says_nothing_it_cannot_know(city: Storage) -> None:
    assert cover_of(city, points=17) == (17, None, "RK1:")
