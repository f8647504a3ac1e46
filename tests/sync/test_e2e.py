"""Station and hub on loopback, on SQLite and PostgreSQL: the relay running as the station runs it.

The first tests run the relay component on a loop thread over a real store; the rest run a whole
kiosk-core with a simulated cabinet, so the bundle reaches the code checks and the heartbeat the fleet view.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import main as hub_cli
from hub.cli import write_token_file
from hub.codes import issue_code
from hub.fleet import gather
from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.clock import SystemClock
from kiosk.store import Store
from kiosk.sync.relay import SyncRelay
from tests.support import LastingSimCabinet, LoopThread, RunningStation, sim_config, wait_until
from tests.sync.support import STATION, assert_hub_has_exactly, fill, make_relay, open_store, sync_config


class Relayed:
    """A store and its relay component started on a loop thread, as kiosk-core runs them."""

    def __init__(self, path: Path, hub_url: str, token_file: Path, **config: object) -> None:
        self.loop = LoopThread()
        self.clock = SystemClock()
        self.store: Store = self.loop.call(open_store, path, self.clock)
        self.relay: SyncRelay = make_relay(self.store, sync_config(hub_url, token_file, **config), self.clock)
        self.loop.run(self.relay.start())

    def status(self) -> dict[str, object]:
        """The relay's status, read on the loop."""
        return dict(self.loop.call(self.relay.get_status))

    def close(self) -> None:
        """Stop the relay, close the store and the loop."""
        try:
            self.loop.run(self.relay.close())
            self.loop.call(self.store.close)
        finally:
            self.loop.close()


@pytest.fixture
def relayed(tmp_path: Path, hub: HubServer, token_file: Path) -> Iterator[Relayed]:
    """A relaying store pointed straight at the hub."""
    running = Relayed(tmp_path / "station.db", hub.url, token_file)
    yield running
    running.close()


def test_events_written_while_the_hub_is_down_arrive_in_order_exactly_once_when_it_is_back(
    relayed: Relayed, hub: HubServer, hub_storage: Storage
) -> None:
    wait_until(lambda: relayed.status()["last_success"], 10, "a first round with the hub")
    hub.close()
    rng = random.Random(7)
    for _ in range(6):
        relayed.loop.call(fill, relayed.store, 500, rng)
    wait_until(lambda: "did not answer" in str(relayed.status()["last_error"]), 10, "the relay to notice")
    status = relayed.status()
    assert status["backlog"] == 3000
    assert any("cannot reach the hub" in w for w in status["warnings"])  # type: ignore[attr-defined]
    back = HubServer(hub_storage, port=hub.port)
    back.start()
    try:
        wait_until(lambda: relayed.status()["backlog"] == 0, 20, "the backlog to drain")
    finally:
        back.close()
    assert_hub_has_exactly(hub_storage, relayed.store)
    with hub_storage.db.transaction(write=False) as tx:
        arrival = [int(r[0]) for r in tx.execute("SELECT seq FROM events ORDER BY received_at, seq")]
    assert arrival == list(range(1, 3001)), "batches arrived in seq order"
    assert relayed.status()["last_error"] is None


def test_a_bad_token_shows_as_a_refusal_and_is_not_retried_hot(
    tmp_path: Path, hub: HubServer, token_file: Path, hub_storage: Storage
) -> None:
    write_token_file(token_file, "not-the-token")
    running = Relayed(tmp_path / "station.db", hub.url, token_file, backoff_cap_s=30.0)
    try:
        running.loop.call(fill, running.store, 10, random.Random(8))
        running.loop.call(running.relay.sync_now)
        warnings = wait_until(lambda: running.status()["warnings"], 10, "the refusal on the status")
        assert "HTTP 401" in str(running.status()["last_error"])
        assert any("check the hub token" in w for w in warnings)  # type: ignore[attr-defined]
        assert running.loop.run(running.relay.wait_round(0.5)) is False, "no new round within half a second"
        assert running.status()["backlog"] == 10
        assert hub_storage.event_count() == 0
    finally:
        running.close()


def test_sync_now_runs_a_new_round_that_fetches_the_bundle(relayed: Relayed, hub_storage: Storage) -> None:
    wait_until(lambda: relayed.status()["bundle_generated"], 10, "the first bundle")
    first = relayed.status()["bundle_generated"]
    hub_storage.revoke_rider("rider-x", "test")
    relayed.loop.call(relayed.relay.sync_now)
    assert relayed.loop.run(relayed.relay.wait_round(10)) is True
    assert relayed.status()["bundle_generated"] != first


# --- a whole station --------------------------------------------------------------------------


@pytest.fixture
def station(tmp_path: Path, hub: HubServer, hub_target: str, token_file: Path) -> Iterator[RunningStation]:
    """kiosk-core with a simulated cabinet, syncing to the hub, whose signing key was made by the CLI."""
    assert hub_cli(["keys", "rotate", "--db", hub_target]) == 0
    base = sim_config(tmp_path)
    station_section = base.station.model_copy(update={"id": STATION})
    config = base.model_copy(update={"station": station_section, "sync": sync_config(hub.url, token_file)})
    sim = LastingSimCabinet("kerong", config.hardware, tmp_path / "devices", seed=3)
    running = RunningStation(config, sim, tmp_path / "codes")
    try:
        yield running
    finally:
        running.close()
        sim.end()


def _scan(running: RunningStation, text: str) -> None:
    assert running.tech.sim("/scan", text=text).status_code == 200


def test_a_code_signed_with_the_hubs_rotated_key_is_accepted_after_the_bundle(
    station: RunningStation, hub_storage: Storage
) -> None:
    wait_until(lambda: station.tech.status()["sync"]["bundle_generated"], 10, "the bundle")
    issued = issue_code(hub_storage, "rider-7", scope="swap")
    _scan(station, issued.code)
    accepted = wait_until(lambda: station.tech.events("code.accepted"), 10, "the code accepted")
    assert [(e["payload"]["rider_id"], e["payload"]["kid"]) for e in accepted] == [("rider-7", issued.kid)]


def test_a_rider_revoked_at_the_hub_is_refused_after_the_next_bundle(
    station: RunningStation, hub_storage: Storage
) -> None:
    wait_until(lambda: station.tech.status()["sync"]["bundle_generated"], 10, "the bundle")
    code = issue_code(hub_storage, "rider-8", scope="swap").code
    assert hub_cli(["riders", "revoke", "rider-8", "--db", _target(hub_storage)]) == 0
    answer = station.tech.session.post(f"{station.tech.url}/api/sync/now", timeout=30).json()
    assert answer["ran"] is True
    _scan(station, code)
    refused = wait_until(lambda: station.tech.events("code.refused"), 10, "the code refused")
    assert [(e["payload"]["rider_id"], e["payload"]["reason"]) for e in refused] == [("rider-8", "revoked")]


def test_the_heartbeat_shows_on_the_fleet_view(station: RunningStation, hub_storage: Storage) -> None:
    wait_until(lambda: station.tech.bay(1)["battery"], 10, "the batteries read")
    charged = wait_until(lambda: station.loop.call(station.station.controller.charged_batteries), 10, "charged ones")
    answer = station.tech.session.post(f"{station.tech.url}/api/sync/now", timeout=30).json()
    assert answer["ran"] is True
    (row,) = [r for r in gather(hub_storage).rows if r.station.id == STATION]
    assert row.heartbeat is not None
    assert row.heartbeat.heartbeat.boot_id == station.station.boot_id
    assert row.charged == charged
    assert row.last_seen is not None
    assert row.backlog is not None


def test_the_stations_events_reach_the_hub_exactly_once(station: RunningStation, hub_storage: Storage) -> None:
    answer = station.tech.session.post(f"{station.tech.url}/api/sync/now", timeout=30).json()
    assert answer["ran"] is True
    store: Store = station.station.store.store
    wait_until(lambda: station.loop.call(lambda: store.stats().unsynced_count) == 0, 10, "the backlog to drain")
    station.loop.call(assert_hub_has_exactly, hub_storage, store)
    types = {e.record.type for e in hub_storage.events(STATION)}
    assert "station.started" in types


def _target(storage: Storage) -> str:
    return str(storage.db.target)
