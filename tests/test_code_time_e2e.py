"""A station that booted offline after a power cut refuses an expired code (issue 12, item 4), on loopback.

kiosk-core runs with a fake clock: first synchronised, then — after a restart with a new boot id — with its
monotonic clock started again, its wall clock months behind and no NTP, as a Raspberry Pi without a
real-time clock comes back after a power cut with the network down. The rider's codes go through the
simulated scanner's pty; the station is judged by its events.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.flows.timekeeper import PERSIST_EVERY_S
from kiosk.sim.codes import SimCodeIssuer
from kiosk.station.trusted_time import TimeMark
from kiosk.store.timemark import read_time_mark
from tests.support import LastingSimCabinet, RunningStation, sim_config, wait_until

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WAIT = 10.0


@pytest.fixture
def run(tmp_path: Path) -> Iterator[RunningStation]:
    """A station on a simulated cabinet with a fake clock, synchronised at T0."""
    config = sim_config(tmp_path)
    sim = LastingSimCabinet("kerong", config.hardware, tmp_path / "devices", seed=1)
    running = RunningStation(config, sim, tmp_path / "codes", clock=FakeClock(wall=T0, monotonic=5_000.0))
    try:
        yield running
    finally:
        try:
            running.close()
        finally:
            sim.end()


def code_at(run: RunningStation, moment: datetime, rider_id: str, scope: str = "swap") -> str:
    """A code the hub would have signed at ``moment`` (five minutes' life)."""
    return SimCodeIssuer(run.codes_dir, FakeClock(wall=moment)).issue(rider_id, scope, ttl_s=300)


def kept_time(run: RunningStation) -> datetime | None:
    """The trusted time the station has written to its store."""
    text = read_time_mark(run.station.store.store)
    return None if text is None else TimeMark.from_json(text).at


def test_a_code_expired_ten_minutes_ago_is_refused_after_an_offline_reboot(run: RunningStation) -> None:
    clock = run.clock
    assert isinstance(clock, FakeClock)
    old = code_at(run, T0, "R-old")  # expires T0 + 5 min
    clock.advance(15 * 60)
    target = T0 + timedelta(seconds=15 * 60)
    wait_until(lambda: kept_time(run) == target, WAIT + PERSIST_EVERY_S / 60, "the trusted time kept")
    rebooted = FakeClock(wall=datetime(2026, 1, 1, tzinfo=UTC), monotonic=30.0, synced=False)
    run.stop()
    run.start(boot_id="boot-after-power-cut", clock=rebooted)
    run.sim.scan(old)
    refused = wait_until(lambda: run.tech.events("code.refused"), WAIT, "the old code refused")
    assert [e["payload"]["reason"] for e in refused] == ["expired"]
    assert run.tech.events("swap.started") == []
    # A rider's fresh code still opens the door on the same lagging estimate: no lock-out without NTP.
    run.sim.scan(code_at(run, T0 + timedelta(minutes=16), "R-new", scope="entry"))
    granted = wait_until(lambda: run.tech.events("entry.granted"), WAIT, "the fresh code accepted")
    assert granted[0]["payload"]["rider_id"] == "R-new"
    status = run.tech.status()["components"]["time"]
    assert status["source"] == "ntp"
    assert status["trusted_time"] == (T0 + timedelta(seconds=15 * 60 + 30)).isoformat()
