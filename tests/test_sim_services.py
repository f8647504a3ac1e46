"""The simulated station with its demo city: seeded at start like a hub's bundle, goods bays stocked, swaps unchanged.

A real kiosk-core on a loop thread with a simulated Kerong cabinet whose config has two goods bays
(water, snack) after the battery bays, and ``kiosk sim`` itself as a process.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import SystemClock
from kiosk.core.hardware import BayConfig
from kiosk.devices.sim.cabinet import SimCabinet
from kiosk.sim.city import demo_balances, seed_sim_station
from kiosk.sim.codes import SimCodeIssuer
from tests.support import RunningStation, sim_config, wait_until

WAIT = 10.0
GOODS = {9: "water", 10: "snack"}
BATTERY_BAYS = range(1, 9)


class CityStation(RunningStation):
    """A running simulated station with goods bays 9 and 10, its demo city applied as ``kiosk sim`` does."""

    def __init__(self, tmp_path: Path) -> None:
        base = sim_config(tmp_path, policy={"min_minutes_between_swaps": 0})
        battery_bays = [b for b in base.hardware.bays if b.goods is None]
        goods = [BayConfig(number=n, lock=n - 1, goods=item) for n, item in GOODS.items()]
        config = sim_config(tmp_path, policy={"min_minutes_between_swaps": 0}, hardware={"bays": battery_bays + goods})
        super().__init__(
            config, SimCabinet("kerong", config.hardware, tmp_path / "devices", seed=1), tmp_path / "codes"
        )
        key = SimCodeIssuer(tmp_path / "codes", SystemClock(), demo_balances()).key_entry()
        self.stocked = self.loop.call(seed_sim_station, self.station, [key])

    def content(self) -> dict[str, Any]:
        """``GET /api/content`` as the touchscreen reads it."""
        return dict(self.tech.session.get(f"{self.tech.url}/api/content", timeout=5).json())


@pytest.fixture
def city(tmp_path: Path) -> Iterator[CityStation]:
    station = CityStation(tmp_path)
    yield station
    station.close()


def test_seeding_stocks_every_goods_bay_with_five(city: CityStation) -> None:
    assert city.stocked == GOODS
    goods = city.tech.status()["components"]["rider"]["goods"]
    assert goods == {"9": {"item_id": "water", "count": 5}, "10": {"item_id": "snack", "count": 5}}


def test_the_touchscreen_sees_the_demo_citys_services_and_nearby_stations(city: CityStation) -> None:
    content = city.content()
    categories = {s["category"] for s in content["services"]}
    assert categories == {"legal_aid", "social_insurance", "jobs", "child_care", "health"}
    assert len(content["nearby"]) == 3
    assert content["bundle_at"] is not None


def test_the_catalogue_shows_what_the_goods_bays_hold(city: CityStation) -> None:
    stock = {c["id"]: c["in_stock"] for c in city.content()["catalogue"]}
    assert stock == {"water": 5, "snack": 5, "cable": 0}


def test_simulated_codes_are_still_accepted_after_the_city_replaced_the_key_set(city: CityStation) -> None:
    city.tech.code("R-demo")
    wait_until(lambda: city.tech.screen()["name"] == "swap.open_return_bay", WAIT, "the swap to open a return bay")


def test_a_swap_never_opens_a_goods_bay_even_when_they_are_the_only_empty_bays(city: CityStation) -> None:
    for bay in (7, 8):  # the empty battery bays
        city.loop.call(city.station.controller.set_out_of_service, bay, "test: only goods bays are empty")
    city.tech.code("R-demo")
    screen = wait_until(lambda: (s := city.tech.screen())["name"].startswith("swap.") and s, WAIT, "the swap's answer")
    assert screen["name"] == "swap.refused"
    assert {b["bay"]: b["door"] for b in city.tech.world()["bays"]} == dict.fromkeys([*BATTERY_BAYS, *GOODS], "closed")
    assert city.sim.pulses == []


def test_kiosk_sim_applies_the_demo_city_and_says_how_to_try_the_services(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "kiosk.cli.main", "sim", "--no-ui", "--port", "0", "--data-dir", str(tmp_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        assert process.stdout is not None
        lines: list[str] = []
        try:
            while not any(line.startswith("Rider services:") for line in lines):
                line = process.stdout.readline()
                assert line, f"kiosk sim ended early: {lines}"
                lines.append(line)
        finally:
            process.terminate()
            process.wait(timeout=20)
    text = "".join(lines)
    assert "Demo city applied (no hub)" in text
    assert "Services, My points or Feedback" in text
    assert "/devices" in text
