"""The hub's answers are the station's trusted time (issue 12, item 4): the relay hands them on (real hub)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.clock import FakeClock
from tests.sync.support import Driver, make_relay, open_store, sync_config


def test_a_heartbeat_answer_and_a_fresh_bundle_tell_the_station_the_hubs_time(
    tmp_path: Path, hub: HubServer, token_file: Path, hub_storage: Storage
) -> None:
    # The station's own wall clock is months behind and not synchronised; the hub's is the real one.
    clock = FakeClock(wall=datetime(2026, 1, 1, tzinfo=UTC), synced=False)
    seen: list[datetime] = []
    before = datetime.now(UTC)
    with open_store(tmp_path / "station.db", clock) as store:
        relay = make_relay(store, sync_config(hub.url, token_file), clock, on_hub_time=seen.append)
        driver = Driver(relay)
        try:
            driver.round()  # the first round fetches the bundle and sends a heartbeat
        finally:
            driver.close()
    after = datetime.now(UTC)
    assert len(seen) == 2  # the bundle's generated_at, then the heartbeat's server_time
    assert all(before - timedelta(seconds=5) <= moment <= after + timedelta(seconds=5) for moment in seen)
