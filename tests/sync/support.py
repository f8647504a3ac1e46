"""Helpers of the sync tests: a station's outbox with a relay driven round by round, and checks on the hub."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.storage import Storage
from kiosk import __version__
from kiosk.core.clock import Clock
from kiosk.core.config import SyncConfig
from kiosk.core.events import Event, EventRecord
from kiosk.core.secrets import read_secret_file
from kiosk.devices.events import BatteryChanged, BayDoorChanged
from kiosk.store import Store
from kiosk.sync.client import HubClient
from kiosk.sync.protocol import Bundle, Heartbeat, HeartbeatAck
from kiosk.sync.relay import SyncRelay

STATION = "st-sync"
"""The station every sync test registers and runs."""


def some_events(n: int, rng: random.Random) -> list[Event]:
    """``n`` event bodies of the kinds a cabinet writes most (doors and batteries)."""
    out: list[Event] = []
    for _ in range(n):
        bay = rng.randint(1, 8)
        if rng.random() < 0.5:
            out.append(BayDoorChanged(bay=bay, door=rng.choice(["open", "closed"])))
        else:
            soc = round(rng.uniform(5, 100), 1)
            out.append(
                BatteryChanged(bay=bay, present=True, battery_id=f"SH{rng.randint(0, 9999999):07d}", soc_pct=soc)
            )
    return out


def fill(store: Store, n: int, rng: random.Random, chunk: int = 500) -> list[EventRecord]:
    """Append ``n`` events in transactions of up to ``chunk``; the committed records."""
    records: list[EventRecord] = []
    while len(records) < n:
        records += store.append_many(some_events(min(chunk, n - len(records)), rng))
    return records


def sync_config(hub_url: str, token_file: Path, **changes: Any) -> SyncConfig:
    """The ``[sync]`` section of a test station: fast rounds, short timeouts, a small backoff cap."""
    values: dict[str, Any] = {
        "enabled": True,
        "hub_url": hub_url,
        "token_file": token_file,
        "interval_s": 0.05,
        "timeout_s": 2.0,
        "backoff_cap_s": 0.2,
        "heartbeat_s": 60.0,
        "bundle_s": 300.0,
    }
    values.update(changes)
    return SyncConfig.model_validate(values)


def plain_heartbeat(store: Store, clock: Clock) -> Callable[[], Heartbeat]:
    """A heartbeat built from the store alone (for relays running without a whole station)."""

    def beat() -> Heartbeat:
        stats = store.stats()
        return Heartbeat(
            station_id=store.station_id,
            version=__version__,
            boot_id=store.boot_id,
            mono=clock.monotonic(),
            wall=clock.wall(),
            wall_synced=clock.wall_synced(),
            uptime_s=1.0,
            backlog=stats.unsynced_count,
            oldest_unsynced=stats.oldest_unsynced_wall,
            warnings=[],
            charged_batteries=4,
        )

    return beat


class BundleLog:
    """An ``on_bundle`` that accepts every bundle and keeps the ones put into effect."""

    def __init__(self) -> None:
        self.applied: list[Bundle] = []

    def __call__(self, bundle: Bundle) -> Callable[[], None]:
        return lambda: self.applied.append(bundle)


def make_relay(store: Store, config: SyncConfig, clock: Clock, **kw: Any) -> SyncRelay:
    """A relay for ``store`` with a store-only heartbeat and a :class:`BundleLog` unless given others."""
    kw.setdefault("heartbeat", plain_heartbeat(store, clock))
    kw.setdefault("on_bundle", BundleLog())
    return SyncRelay(config, station_id=store.station_id, store=lambda: store, clock=clock, **kw)


class Driver:
    """Runs a relay's rounds one at a time on a private event loop (no background task, no waiting)."""

    def __init__(self, relay: SyncRelay) -> None:
        self.relay = relay
        self.loop = asyncio.new_event_loop()
        config = relay.config
        assert config.hub_url is not None
        token = read_secret_file(config.token_file)
        relay.client = HubClient(config.hub_url, relay.station_id, token, timeout_s=config.timeout_s)
        self.waits: list[float] = []
        self.heartbeats_sent: list[Heartbeat] = []
        send = relay.client.post_heartbeat

        def recording(heartbeat: Heartbeat) -> HeartbeatAck:
            self.heartbeats_sent.append(heartbeat)
            return send(heartbeat)

        relay.client.post_heartbeat = recording  # type: ignore[method-assign]

    def round(self) -> float:
        """One exchange; the wait the relay asked for."""
        wait = float(self.loop.run_until_complete(self.relay.round()))
        self.waits.append(wait)
        return wait

    def drain(self, store: Store, max_rounds: int) -> int:
        """Rounds until nothing is left to send (bounded); how many it took."""
        for n in range(1, max_rounds + 1):
            self.round()
            if store.stats().unsynced_count == 0 and self.relay.last_error is None:
                return n
        raise AssertionError(f"{store.stats().unsynced_count} events still unsynced after {max_rounds} rounds")

    def close(self) -> None:
        """Close the client and the loop."""
        self.loop.run_until_complete(self.relay.close())
        self.loop.close()


def hub_records(storage: Storage, station_id: str = STATION) -> list[EventRecord]:
    """Every event the hub holds for the station, in seq order."""
    out: list[EventRecord] = []
    after = 0
    while True:
        page = storage.events(station_id, after_seq=after, limit=5000)
        out += [e.record for e in page]
        if len(page) < 5000:
            return out
        after = page[-1].record.seq


def assert_hub_has_exactly(storage: Storage, store: Store) -> None:
    """The hub holds exactly the station's events: same ids and seqs, each once, seq gapless from 1."""
    sent = store.events()
    held = hub_records(storage, store.station_id)
    assert storage.event_count(store.station_id) == len(sent), "the hub holds a different number of events"
    assert [(e.seq, e.id) for e in held] == [(e.seq, e.id) for e in sent]
    assert [e.payload for e in held] == [e.payload for e in sent]
    assert storage.gaps(store.station_id) == []
    assert storage.station(store.station_id).high_water_seq == store.last_seq()


def open_store(path: Path, clock: Clock, boot: str = "boot-sync-1") -> Store:
    """The station's store at ``path``."""
    return Store.open(path, station_id=STATION, clock=clock, boot_id=boot)


def utc(text: str) -> datetime:
    """A UTC time from ISO text."""
    return datetime.fromisoformat(text)
