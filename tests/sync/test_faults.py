"""Each fault the proxy injects between station and hub: the station recovers, nothing lost, nothing twice.

The relay's rounds are driven one by one (the waits it asks for are checked, not slept), against the
real hub on each engine.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.storage import Storage
from kiosk.core.clock import FakeClock
from kiosk.store import Store
from tests.support import wait_until
from tests.sync.proxy import ALL_FAULTS, FORWARDING, Fault, FaultProxy, only_for, scripted
from tests.sync.support import (
    BundleLog,
    Driver,
    assert_hub_has_exactly,
    fill,
    hub_records,
    make_relay,
    open_store,
    some_events,
    sync_config,
)


@pytest.fixture
def clock() -> FakeClock:
    """The station's clock."""
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    """The station's outbox."""
    with open_store(tmp_path / "station.db", clock) as opened:
        yield opened


@pytest.fixture
def driver(store: Store, clock: FakeClock, proxy: FaultProxy, token_file: Path) -> Iterator[Driver]:
    """A relay talking to the hub through the proxy, with a short timeout (the proxy holds TIMEOUTs longer)."""
    relay = make_relay(store, sync_config(proxy.url, token_file, timeout_s=0.4), clock)
    running = Driver(relay)
    yield running
    running.close()


@pytest.mark.parametrize("fault", ALL_FAULTS, ids=lambda f: f.value)
def test_the_station_recovers_from_a_fault_with_every_event_stored_once(
    fault: Fault, store: Store, driver: Driver, proxy: FaultProxy, hub_storage: Storage
) -> None:
    fill(store, 250, random.Random(1))
    proxy.plan = only_for("/events", [fault, fault])
    driver.round()
    assert driver.relay.last_error is not None or fault is Fault.LATENCY
    driver.drain(store, max_rounds=10)
    assert proxy.faults_of("/events")[:2] == [fault, fault]
    assert_hub_has_exactly(hub_storage, store)


def test_a_lost_answer_is_sent_again_and_the_hub_calls_it_a_duplicate(
    store: Store, driver: Driver, proxy: FaultProxy, hub_storage: Storage
) -> None:
    records = fill(store, 40, random.Random(2))
    proxy.plan = only_for("/events", [Fault.LOST_RESPONSE])
    driver.round()
    assert hub_storage.event_count() == 40, "the hub committed the batch whose answer was lost"
    assert store.stats().unsynced_count == 40, "the station marked nothing it did not hear acknowledged"
    driver.drain(store, max_rounds=3)
    statuses = [e.status for e in proxy.exchanges if "/events" in e.path]
    assert statuses == [200, 200]
    assert driver.relay.events_sent == len(records)
    assert_hub_has_exactly(hub_storage, store)


def test_refused_connections_while_nothing_listens_are_retried_after_the_hub_is_back(
    store: Store, driver: Driver, proxy: FaultProxy, hub_storage: Storage
) -> None:
    fill(store, 30, random.Random(3))
    proxy.stop_listening()
    wait = driver.round()
    assert "did not answer" in (driver.relay.last_error or "")
    assert 0 <= wait <= driver.relay.config.backoff_cap_s
    assert hub_storage.event_count() == 0
    proxy.start()
    driver.drain(store, max_rounds=3)
    assert_hub_has_exactly(hub_storage, store)


def test_rate_limiting_is_waited_out_for_at_least_retry_after(
    store: Store, clock: FakeClock, proxy: FaultProxy, token_file: Path
) -> None:
    fill(store, 10, random.Random(4))
    relay = make_relay(store, sync_config(proxy.url, token_file, backoff_cap_s=30.0), clock, rand=lambda: 0.0)
    driver = Driver(relay)
    try:
        proxy.retry_after_s = 7
        proxy.plan = scripted([Fault.RATE_LIMITED])
        assert driver.round() == 7.0
        assert "busy" in (relay.last_error or "")
    finally:
        driver.close()


@pytest.mark.parametrize("fault", ALL_FAULTS, ids=lambda f: f.value)
def test_a_fault_reaches_the_hub_exactly_when_the_proxy_forwards_it(
    fault: Fault, store: Store, driver: Driver, proxy: FaultProxy, hub_storage: Storage
) -> None:
    (record,) = store.append_many(some_events(1, random.Random(5)))
    proxy.plan = scripted([fault])
    driver.round()
    if fault in FORWARDING:
        wait_until(lambda: hub_storage.event_count() == 1, 5, f"the {fault.value} request to reach the hub")
        assert [e.id for e in hub_records(hub_storage)] == [record.id]
    else:
        assert hub_storage.event_count() == 0


@pytest.mark.parametrize("fault", [Fault.GARBAGE, Fault.TRUNCATED, Fault.SERVER_ERROR, Fault.GARBAGE_GZIP])
def test_a_bad_bundle_answer_keeps_the_old_bundle_and_the_next_good_one_is_applied(
    fault: Fault, store: Store, clock: FakeClock, proxy: FaultProxy, token_file: Path, hub_storage: Storage
) -> None:
    applied = BundleLog()
    relay = make_relay(store, sync_config(proxy.url, token_file, bundle_s=10.0), clock, on_bundle=applied)
    driver = Driver(relay)
    try:
        driver.round()
        assert len(applied.applied) == 1
        first = store.db.execute("SELECT value FROM settings WHERE key = 'bundle'").fetchone()[0]
        hub_storage.revoke_rider("rider-9", "test")
        proxy.plan = only_for("/bundle", [fault])
        clock.advance(11)
        driver.round()
        assert len(applied.applied) == 1
        assert store.db.execute("SELECT value FROM settings WHERE key = 'bundle'").fetchone()[0] == first
        clock.advance(11)
        driver.round()
        assert [b.revoked_riders for b in applied.applied] == [[], ["rider-9"]]
    finally:
        driver.close()
