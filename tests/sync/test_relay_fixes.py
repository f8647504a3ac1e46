"""Relay behaviours found missing by the end-to-end tests, each pinned by a test against the real hub."""

from __future__ import annotations

import random
import string
from pathlib import Path

from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.clock import FakeClock, SystemClock
from kiosk.core.events import StationStopped
from kiosk.sync.protocol import Heartbeat
from tests.support import LoopThread, wait_until
from tests.sync.support import (
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
