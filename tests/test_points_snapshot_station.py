"""Issue 13, bug 4 at a running station: after a spend, and with check-in and feedback credits, a later code of the
same rider (carrying the city's unchanged snapshot, as the simulator's do) shows this station's moves.

It used to show 42 again after a spend (42 -> 37 here 44 -> 39, with the check-in), nothing pending.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.sim.codes import SimCodeIssuer
from tests.rider_support import (
    WAIT,
    WATER_BAY,
    RiderStation,
    balance,
    city_bundle,
    rider_config,
    start_rider_station,
)
from tests.support import wait_until

RIDER = "R1001"
STATION = "sim-001"


# --- at a running station ----------------------------------------------------------------------------------


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[RiderStation]:
    """The simulator's situation: the city says R1001 has 42 (none of this station's moves), water costs 5."""
    for station in start_rider_station(tmp_path, rider_config(tmp_path)):
        # The bundle's balance is an hour old, so every code the rider shows is the newer snapshot.
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        station.apply(city_bundle(STATION, balances=[balance(RIDER, 42, station_seq=0, as_of=an_hour_ago)]))
        station.restock(WATER_BAY, 3)
        yield station


def _new_code(desk: RiderStation, later_s: float) -> dict[str, object]:
    """The rider ends the session and shows a fresh code carrying the city's 42 again, issued ``later_s`` on.

    The code is issued a few seconds ahead of the station's clock (as a phone's may be): what matters is that
    it was issued after the station's moves, which a test cannot wait seconds for.
    """
    assert desk.post("/api/rider/end").status_code == 204
    assert desk.post("/api/rider/identify", {"purpose": "points"}).status_code == 202
    clock = FakeClock(wall=datetime.now(UTC) + timedelta(seconds=later_s))
    desk.sim.scan(SimCodeIssuer(desk.codes_dir, clock, {RIDER: 42}).issue(RIDER))
    wait_until(lambda: desk.get("/api/rider").status_code == 200, WAIT, "the rider identified again")
    return desk.rider()


def test_after_a_spend_the_next_code_shows_the_spend(desk: RiderStation) -> None:
    desk.identify(RIDER, points=42)
    assert (desk.rider()["balance"], desk.rider()["pending"]) == (44, 2)  # the day's check-in: +2
    assert desk.post("/api/rider/redeem", {"item_id": "water"}).json()["balance"] == 39
    after = _new_code(desk, 5)
    assert (after["balance"], after["pending"]) == (39, -3)


def test_check_in_and_feedback_credits_stay_visible_with_later_codes(desk: RiderStation) -> None:
    desk.identify(RIDER, points=42)
    assert desk.post("/api/feedback", {"rating": 5, "topic": "safety", "signed": True}).json()["points_earned"] == 1
    assert desk.rider()["balance"] == 45  # 42 + 2 (check-in) + 1 (feedback)
    first = _new_code(desk, 5)
    assert (first["balance"], first["pending"]) == (45, 3)
    second = _new_code(desk, 10)
    assert (second["balance"], second["pending"]) == (45, 3)
