"""The entry door end to end: a rider's code at the scanner, the strike relay on the simulator's pins, the record.

The entry door is on the same ``MockFactory`` for every cabinet kind, so one kind (Kerong) is enough.
The rider acts through ``/api/sim``; the station is judged by its events and its screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.ridercode import parse_code
from kiosk.devices.sim.cabinet import SimCabinet
from kiosk.devices.sim.gpio import sim_pin
from tests.support import LastingSimCabinet, RunningStation, Technician, sim_config, wait_until

WAIT = 10.0
ALARM_S = 0.5
"""How long the entry door may stand open in these tests (s)."""
STRIKE_S = 0.3
"""How long the strike is released per entry (s)."""


class Strike:
    """Every level the entry door's strike relay pin takes, as the simulated circuit sees it."""

    def __init__(self, sim: SimCabinet) -> None:
        door = sim.hardware_config().entry_door
        assert door.lock_pin is not None
        self.active_high = door.relay_active_high
        self._levels: list[bool] = []
        self._lock = threading.Lock()
        sim_pin(sim.pin_factory, door.lock_pin).watch(self._seen)

    def _seen(self, level: bool) -> None:
        with self._lock:
            self._levels.append(level)

    @property
    def releases(self) -> int:
        """How many times the relay was energised (the strike released)."""
        with self._lock:
            return sum(1 for level in self._levels if level == self.active_high)

    @property
    def ends(self) -> int:
        """How many times the relay dropped back (the strike locked)."""
        with self._lock:
            return sum(1 for level in self._levels if level != self.active_high)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[RunningStation]:
    """A station whose entry door alarms after ALARM_S, while bay doors keep a long limit."""
    config = sim_config(tmp_path, policy={"door_open_alarm_s": 90.0, "code_clock_skew_s": 0})
    entry = config.hardware.entry_door.model_copy(update={"open_alarm_s": ALARM_S, "pulse_s": STRIKE_S})
    config = config.model_copy(update={"hardware": config.hardware.model_copy(update={"entry_door": entry})})
    sim = LastingSimCabinet("kerong", config.hardware, tmp_path / "devices", seed=1)
    running = RunningStation(config, sim, tmp_path / "codes")
    try:
        yield running
    finally:
        try:
            running.close()
        finally:
            sim.end()


def screen_named(tech: Technician, name: str) -> dict[str, Any]:
    """Wait for the touchscreen to show ``name``; its parameters."""
    screen = wait_until(lambda: (s := tech.screen())["name"] == name and s, WAIT, f"screen {name}")
    return dict(screen["params"])


def test_an_entry_code_records_the_entry_and_pulses_the_strike(run: RunningStation) -> None:
    strike = Strike(run.sim)
    run.tech.code("R-visit", scope="entry")
    granted = wait_until(lambda: run.tech.events("entry.granted"), WAIT, "entry.granted")
    assert granted[0]["payload"]["rider_id"] == "R-visit"
    wait_until(lambda: strike.releases == 1, WAIT, "the strike released")
    wait_until(lambda: strike.ends == 1, WAIT, "the strike locked again after its pulse")
    assert screen_named(run.tech, "entry.welcome") == {}
    assert run.sim.pulses == []  # no bay opened


def test_the_rider_can_push_the_door_open_while_the_strike_is_released(run: RunningStation) -> None:
    run.tech.code("R-push", scope="entry")
    wait_until(lambda: run.tech.world()["entry_door"]["strike"] == "released", WAIT, "strike released")
    assert run.tech.sim("/entry/open").status_code == 200
    assert run.tech.world()["entry_door"]["door"] == "open"


def test_an_entry_door_held_open_too_long_raises_one_alarm(run: RunningStation) -> None:
    tech = run.tech
    tech.code("R-hold", scope="entry")
    wait_until(lambda: tech.world()["entry_door"]["strike"] == "released", WAIT, "strike released")
    tech.sim("/entry/open")
    alarms = wait_until(lambda: tech.events("door.alarm"), WAIT, "door.alarm")
    raised = time.monotonic()
    assert alarms[0]["payload"]["door"] == "entry"
    assert alarms[0]["payload"]["open_for_s"] >= ALARM_S
    # Nothing is observable when no second alarm comes, so let several alarm periods pass (bounded).
    wait_until(lambda: time.monotonic() - raised > 4 * ALARM_S, WAIT, "four alarm periods")
    assert len(tech.events("door.alarm")) == 1


def test_a_replayed_entry_code_is_refused_and_recorded(run: RunningStation) -> None:
    tech = run.tech
    text = tech.code("R-twice", scope="entry")
    wait_until(lambda: tech.events("entry.granted"), WAIT, "the first entry")
    tech.sim("/scan", text=text)
    refused = wait_until(lambda: tech.events("entry.refused"), WAIT, "entry.refused")
    assert refused[0]["payload"]["reason"] == "nonce_used"
    assert screen_named(tech, "entry.refused") == {"reason": "nonce_used"}
    assert len(tech.events("entry.granted")) == 1


def test_an_expired_entry_code_is_refused_at_the_entry(run: RunningStation) -> None:
    tech = run.tech
    strike = Strike(run.sim)
    text = tech.code("R-stale", scope="entry", ttl_s=1, scan=False)  # codes carry whole seconds
    expires = parse_code(text).code.expires_at
    wait_until(lambda: datetime.now(UTC) >= expires, 2 * WAIT, "the code's expiry")
    tech.sim("/scan", text=text)
    refused = wait_until(lambda: tech.events("entry.refused"), WAIT, "entry.refused")
    assert refused[0]["payload"]["reason"] == "expired"
    assert screen_named(tech, "entry.refused") == {"reason": "expired"}
    assert strike.releases == 0
