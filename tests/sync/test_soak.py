"""Soak: 20,000 events through the fault proxy with 40 % of requests faulted; the hub ends with exactly them.

The station writes events while it syncs (a few hundred between rounds, as a busy station would), and
the relay's rounds are driven one after another with its clock moved a second each, so heartbeats and
bundle fetches (also faulted) are part of the mix. Waits are checked against the backoff cap, not slept.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hub.storage import Storage
from kiosk.core.clock import FakeClock
from tests.sync.proxy import ALL_FAULTS, Fault, FaultProxy, random_faults
from tests.sync.support import BundleLog, Driver, assert_hub_has_exactly, fill, make_relay, open_store, sync_config

EVENTS = 20_000
FAULT_RATE = 0.4


@pytest.mark.slow
def test_twenty_thousand_events_through_a_faulty_network_arrive_exactly_once(
    tmp_path: Path, proxy: FaultProxy, token_file: Path, hub_storage: Storage
) -> None:
    clock = FakeClock()
    rng = random.Random(2026)
    bundles = BundleLog()
    config = sync_config(proxy.url, token_file, timeout_s=0.4, backoff_cap_s=0.5, heartbeat_s=2.0, bundle_s=5.0)
    proxy.retry_after_s = 0  # honoured, and kept short: the waits are only checked here
    with open_store(tmp_path / "station.db", clock) as store:
        relay = make_relay(store, config, clock, on_bundle=bundles)
        relay.batch_cap = 120  # more, smaller batches: more requests to fault
        driver = Driver(relay)
        try:
            proxy.plan = random_faults(seed=5, rate=FAULT_RATE)
            written = 0
            while written < EVENTS:
                n = min(rng.randint(1, 400), EVENTS - written)
                fill(store, n, rng, chunk=50)
                written += n
                driver.round()
                clock.advance(1.0)
            for _ in range(200):
                if store.stats().unsynced_count == 0 and relay.last_error is None:
                    break
                driver.round()
                clock.advance(1.0)
        finally:
            driver.close()
        assert store.last_seq() == EVENTS
        assert store.stats().unsynced_count == 0
        assert_hub_has_exactly(hub_storage, store)
    faults = proxy.faults_of()
    faulted = [f for f in faults if f is not Fault.PASS]
    assert len(proxy.faults_of("/events")) >= 200
    assert len(faulted) / len(faults) >= 0.30, f"only {len(faulted)} of {len(faults)} requests faulted"
    assert set(faulted) == set(ALL_FAULTS)
    assert set(proxy.faults_of("/events")) >= {Fault.LOST_RESPONSE, Fault.TIMEOUT, Fault.BAD_GATEWAY}
    assert all(0 <= w <= config.backoff_cap_s for w in driver.waits)
    assert bundles.applied, "bundles were fetched in between"
    assert relay.events_sent == EVENTS
