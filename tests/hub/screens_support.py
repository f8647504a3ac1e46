"""A third station for the hub's screen tests: its rider's check-in is refused by the cross-station daily
limit, it completed two swaps today, and its last heartbeat carries a warning.

R-1 already checked in at st-a on 2026-03-10 (tests/hub/admin_support.py), and the city's ``checkin`` rule
counts once a day across all stations: the hub refuses st-c's check-in for R-1.
"""

from __future__ import annotations

import requests

from hub.storage import Storage
from kiosk.core.rider_events import PointsEarned
from tests.hub.conftest import HUB_NOW
from tests.hub.support import heartbeat, post_events, record

STATION = "st-c"
WARNING = "lock board 1 not answering"


def add_busy_station(url: str, storage: Storage) -> None:
    """Register st-c and send its events and a heartbeat (see the module docstring)."""
    token = storage.add_station(STATION, name="南站", name_en="South")
    today = HUB_NOW.replace(hour=8)
    again = PointsEarned(entry_id="earn-c-0001", rider_id="R-1", rule="checkin", points=10, day="2026-03-10")
    events = [
        record(STATION, 1, type_=again.TYPE, payload=again.payload(), wall=today),
        record(STATION, 2, type_="swap.completed", payload={"swap": 1}, wall=today),
        record(STATION, 3, type_="swap.completed", payload={"swap": 2}, wall=today),
    ]
    answer = post_events(url, token, STATION, events)
    assert answer.ok, answer.text
    beat = requests.post(
        f"{url}/v1/stations/{STATION}/heartbeat",
        json=heartbeat(STATION, charged=2, warnings=[WARNING]),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert beat.ok, beat.text
