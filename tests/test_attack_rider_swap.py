"""Attacks on ``POST /api/rider/swap`` and its 409 answer, against a real station with a simulated cabinet.

The 409 "no charged battery" must not become a way round one code, one use (issue 12 item 3): probing it leaks
nothing but the reason, needs the touchscreen's token, and however it is raced or repeated — within the session,
after the session, with the code scanned again — one swap code starts at most one swap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.rider_support import WAIT, RiderStation, city_bundle, rider_config, start_rider_station
from tests.support import wait_until

RIDER = "R-attack"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[RiderStation]:
    config = rider_config(tmp_path)
    for running in start_rider_station(tmp_path, config):
        running.apply(city_bundle("sim-001"))
        yield running


def swappable(station: RiderStation) -> int:
    return int(station.running.tech.status()["components"]["station"]["charged_batteries"])


def no_charged_battery(station: RiderStation) -> list[int]:
    """Make every charged pack too hot to hand out; the bays made so."""
    tech = station.running.tech
    bays = [b["bay"] for b in tech.world()["bays"] if b.get("battery") and b["battery"]["soc_pct"] >= 95.0]
    for bay in bays:
        assert tech.sim("/faults", fault="battery_hot", bay=bay).status_code == 200
    wait_until(lambda: swappable(station) == 0, WAIT, "no battery swappable")
    return bays


def identify_with(station: RiderStation, code: str) -> int:
    """The screen asks who the rider is and the rider scans ``code``; the rider API's answer after."""
    assert station.post("/api/rider/identify", {"purpose": "points"}).status_code == 202
    station.sim.scan(code)
    wait_until(lambda: station.get("/api/rider").status_code == 200 or _refused(station), WAIT, "the scan judged")
    return station.get("/api/rider").status_code


def _refused(station: RiderStation) -> bool:
    return bool(station.events("code.refused"))


def swaps_started(station: RiderStation) -> list[dict[str, object]]:
    return station.events("swap.started")


def test_the_swap_api_needs_the_touchscreens_token(station: RiderStation) -> None:
    station.identify(RIDER)
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        answer = requests.post(f"{station.url}/api/rider/swap", headers=headers, timeout=5)
        assert answer.status_code == 401
    assert station.running.tech.swap() is None


def test_probing_the_409_leaks_only_the_reason_and_burns_nothing(station: RiderStation) -> None:
    no_charged_battery(station)
    station.identify(RIDER)
    answers = [station.post("/api/rider/swap") for _ in range(30)]
    assert {a.status_code for a in answers} == {409}
    assert {tuple(sorted(a.json())) for a in answers} == {("error", "reason")}
    assert {a.json()["reason"] for a in answers} == {"no_charged_battery"}
    assert RIDER not in answers[0].text
    assert station.sim.pulses == []
    assert station.events("swap.refused") == []
    station.sim.tick(3600.0)
    wait_until(lambda: swappable(station) > 0, WAIT, "a battery charged")
    assert station.post("/api/rider/swap").status_code == 202
    wait_until(station.running.tech.swap, WAIT, "the swap under way")
    assert station.post("/api/rider/swap").status_code == 409


def test_two_swaps_raced_on_one_code_start_one(station: RiderStation) -> None:
    station.identify(RIDER)
    barrier = threading.Barrier(8)
    codes: list[int] = []
    lock = threading.Lock()

    def ask() -> None:
        session = requests.Session()
        session.headers.update(station.http.headers)
        barrier.wait(timeout=5)
        answer = session.post(f"{station.url}/api/rider/swap", timeout=10)
        with lock:
            codes.append(answer.status_code)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert sorted(codes) == [202] + [409] * 7
    wait_until(lambda: swaps_started(station), WAIT, "the swap started")
    swap = station.running.tech.swap()
    assert swap is not None
    assert swap["rider_id"] == RIDER
    assert len(swaps_started(station)) == 1


def test_a_code_refused_a_swap_for_want_of_a_battery_still_gives_one_swap_at_most(station: RiderStation) -> None:
    """409, the rider walks off, comes back with the same code once a pack has charged: one swap, then no more."""
    no_charged_battery(station)
    code = station.code(RIDER)
    assert identify_with(station, code) == 200
    assert station.post("/api/rider/swap").status_code == 409
    assert station.post("/api/rider/end").status_code == 204
    station.sim.tick(3600.0)
    wait_until(lambda: swappable(station) > 0, WAIT, "a battery charged")
    again = identify_with(station, code)  # the same code once more (its session was opened with it)
    swap_answer = station.post("/api/rider/swap").status_code if again == 200 else None
    if swap_answer == 202:
        wait_until(station.running.tech.swap, WAIT, "the swap under way")
    started = len(swaps_started(station))
    assert started <= 1
    # Scanned straight at the idle screen as a swap code, after all that: never a second swap.
    station.sim.scan(code)
    wait_until(lambda: len(station.events("code.refused")) >= 1 or len(swaps_started(station)) > 1, WAIT, "judged")
    assert len(swaps_started(station)) == started
