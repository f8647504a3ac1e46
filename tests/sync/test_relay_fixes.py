"""Relay behaviours found missing by the end-to-end tests, each pinned by a test against the real hub."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from pydantic import JsonValue

from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.clock import FakeClock, SystemClock
from kiosk.core.config import SyncConfig
from kiosk.core.events import StationStopped
from kiosk.store import Store
from kiosk.sync.protocol import Heartbeat
from kiosk.sync.relay import SyncRelay, compact_status
from tests.support import LastingSimCabinet, LoopThread, RunningStation, sim_config, wait_until
from tests.sync.proxy import FaultProxy
from tests.sync.support import (
    STATION,
    Driver,
    assert_hub_has_exactly,
    fill,
    make_relay,
    open_store,
    plain_heartbeat,
    sync_config,
)


def test_a_batch_too_large_for_the_hub_is_split_not_taken_for_a_refusal(
    tmp_path: Path, hub: HubServer, token_file: Path, hub_storage: Storage
) -> None:
    clock = FakeClock()
    rng = random.Random(11)
    with open_store(tmp_path / "station.db", clock) as store:
        # Long texts (riders' feedback can be long): 2,400 events of 4 kB are over the hub's 8 MiB cap unpacked.
        text = "".join(rng.choices(string.ascii_letters, k=4000))
        store.append_many([StationStopped(reason=f"{i} {text}") for i in range(2400)])
        relay = make_relay(store, sync_config(hub.url, token_file), clock)
        relay.batch_size = 5000
        driver = Driver(relay)
        try:
            driver.round()
            assert "HTTP 413" in (relay.last_error or "")
            assert relay.refused is None
            assert relay.batch_size == relay.batch_cap < 2400
            driver.drain(store, max_rounds=10)
            assert relay.batch_size <= relay.batch_cap
            assert_hub_has_exactly(hub_storage, store)
        finally:
            driver.close()


def test_an_unexpected_error_in_a_round_is_shown_and_syncing_goes_on(
    tmp_path: Path, hub: HubServer, token_file: Path, hub_storage: Storage
) -> None:
    loop = LoopThread()
    clock = SystemClock()
    store = loop.call(open_store, tmp_path / "station.db", clock)
    beat = plain_heartbeat(store, clock)
    calls: list[int] = []

    def flaky_heartbeat() -> Heartbeat:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("status snapshot broke")
        return beat()

    relay = make_relay(store, sync_config(hub.url, token_file, heartbeat_s=0.01), clock, heartbeat=flaky_heartbeat)
    try:
        loop.call(fill, store, 20, random.Random(12))
        loop.run(relay.start())
        wait_until(lambda: len(calls) >= 2 and loop.call(store.stats).unsynced_count == 0, 10, "rounds after the error")
        wait_until(lambda: loop.call(relay.get_status)["last_error"] is None, 10, "a clean round")
        assert calls[:2] == [1, 1]
        loop.call(assert_hub_has_exactly, hub_storage, store)
    finally:
        loop.run(relay.close())
        loop.call(store.close)
        loop.close()


def _telemetry(rng: random.Random) -> dict[str, JsonValue]:
    """A status snapshot shaped like a kerong cabinet's: eight bays of drifting battery telemetry."""
    bays: dict[str, JsonValue] = {}
    for bay in range(1, 9):
        battery: dict[str, JsonValue] = {
            "bay": bay,
            "present": bay < 7,
            "battery_id": f"SH{2127120 + bay}" if bay < 7 else None,
            "soc_pct": round(rng.uniform(40, 100), 1),
            "voltage_v": round(rng.uniform(46, 54.6), 2),
            "current_a": round(rng.uniform(0, 5), 1),
            "temperature_c": round(rng.uniform(20, 35), 1),
            "fault_flags": [],
            "charger_state": "charging",
            "error": None,
        }
        bays[str(bay)] = {"bay": bay, "door": "closed", "lock": "locked", "fault": None, "battery": battery}
    return {"cabinet": {"state": "running", "bays": bays}, "store": {"file_size_bytes": rng.randint(1, 10**6)}}


def _status_relay(
    store: Store,
    clock: FakeClock,
    url: str,
    token_file: Path,
    warnings: list[str],
    status: dict[str, JsonValue] | None = None,
    **config: float,
) -> SyncRelay:
    beat = plain_heartbeat(store, clock)
    rng = random.Random(13)

    def heartbeat() -> Heartbeat:
        return beat().model_copy(update={"status": status or _telemetry(rng), "warnings": list(warnings)})

    config.setdefault("heartbeat_s", 60.0)
    return make_relay(store, sync_config(url, token_file, **config), clock, heartbeat=heartbeat)


def test_the_full_status_goes_with_the_first_heartbeat_then_every_five_minutes_and_the_summary_always(
    tmp_path: Path, hub: HubServer, token_file: Path, hub_storage: Storage
) -> None:
    clock = FakeClock()
    with open_store(tmp_path / "station.db", clock) as store:
        driver = Driver(_status_relay(store, clock, hub.url, token_file, []))
        try:
            for _ in range(6):
                driver.round()
                latest = hub_storage.heartbeats()[STATION].heartbeat
                assert latest.charged_batteries == 4
                assert latest.status  # the hub keeps the last full status between summaries
                clock.advance(60)
        finally:
            driver.close()
    assert [bool(h.status) for h in driver.heartbeats_sent] == [True, False, False, False, False, True]


def test_a_change_in_the_warnings_sends_the_full_status_at_once(
    tmp_path: Path, hub: HubServer, token_file: Path, hub_storage: Storage
) -> None:
    clock = FakeClock()
    warnings: list[str] = []
    with open_store(tmp_path / "station.db", clock) as store:
        driver = Driver(_status_relay(store, clock, hub.url, token_file, warnings))
        try:
            driver.round()
            clock.advance(60)
            warnings.append("bay 3 jammed")
            driver.round()
        finally:
            driver.close()
    latest = hub_storage.heartbeats()[STATION].heartbeat
    assert latest.warnings == ["bay 3 jammed"]
    assert [bool(h.status) for h in driver.heartbeats_sent] == [True, True]


def test_the_status_sent_leaves_out_nulls_and_empty_values() -> None:
    status: dict[str, JsonValue] = {"a": {"fault": None, "flags": [], "soc": 90.5, "sub": {}}, "b": [{"x": None}]}
    assert compact_status(status) == {"a": {"soc": 90.5}, "b": [{}]}


@pytest.fixture(scope="module")
def real_status(tmp_path_factory: pytest.TempPathFactory) -> dict[str, JsonValue]:
    """The status snapshot of a real kiosk-core with a simulated kerong cabinet, once its batteries are read."""
    tmp = tmp_path_factory.mktemp("real-status")
    config = sim_config(tmp)
    sim = LastingSimCabinet("kerong", config.hardware, tmp / "devices", seed=1)
    running = RunningStation(config, sim, tmp / "codes")
    try:
        wait_until(lambda: running.tech.bay(6)["battery"], 20, "the simulated batteries read")
        beat: Heartbeat = running.loop.call(running.station.heartbeat)
    finally:
        running.close()
        sim.end()
    return dict(beat.status)


def test_an_idle_hour_at_the_default_intervals_costs_under_100_kb(
    tmp_path: Path, proxy: FaultProxy, token_file: Path, real_status: dict[str, JsonValue]
) -> None:
    clock = FakeClock()
    defaults = SyncConfig()
    intervals = {"interval_s": defaults.interval_s, "heartbeat_s": defaults.heartbeat_s, "bundle_s": defaults.bundle_s}
    with open_store(tmp_path / "station.db", clock) as store:
        driver = Driver(_status_relay(store, clock, proxy.url, token_file, [], real_status, **intervals))
        try:
            driver.round()  # the first bundle is a whole one: not idle traffic
            proxy.reset_counters()
            for _ in range(int(3600 / defaults.interval_s)):
                clock.advance(defaults.interval_s)
                driver.round()
        finally:
            driver.close()
    assert {e.status for e in proxy.exchanges} == {200, 304}
    assert len(proxy.exchanges) == 3600 / defaults.heartbeat_s + 3600 / defaults.bundle_s
    assert proxy.bytes_in + proxy.bytes_out <= 100_000
