"""Station → hub sync: drain a 100,000-event backlog, bytes on the wire, idle traffic per hour.

A real station store holds the backlog; the real relay sends it to a hub running as its own process
(``kiosk-hub serve``, as in production) on SQLite and on PostgreSQL (a throw-away server with its normal
durability settings). The sync tests' proxy sits between them, passing everything and counting every
byte the station sends and receives (HTTP heads included). Idle traffic is an hour of rounds at the
default intervals with nothing to send, on the relay's fake clock: heartbeats (a real station's status
snapshot, taken from a simulated kiosk-core at the start) and bundle checks answered 304. Run::

    python bench/sync.py            # 100,000 events, both engines
    python bench/sync.py --quick    # 10,000 events

Targets (issue 5): drain <= 20 s on SQLite, <= 80 bytes/event on the wire, idle <= 100 KB/hour.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.cli import write_token_file  # noqa: E402 - after the path set-up above
from hub.storage import open_storage  # noqa: E402
from kiosk.core.clock import FakeClock  # noqa: E402
from kiosk.core.config import SyncConfig  # noqa: E402
from kiosk.store import Store  # noqa: E402
from kiosk.sync.protocol import Heartbeat  # noqa: E402
from tests.hub.pg import PostgresServer  # noqa: E402
from tests.support import LastingSimCabinet, RunningStation, sim_config, wait_until  # noqa: E402
from tests.sync.proxy import FaultProxy  # noqa: E402
from tests.sync.support import STATION, Driver, fill, make_relay  # noqa: E402

TARGET_DRAIN_S = 20.0
TARGET_BYTES_PER_EVENT = 80.0
TARGET_IDLE_KB_PER_HOUR = 100.0


@dataclass(frozen=True)
class Result:
    """One engine's run."""

    engine: str
    events: int
    seconds: float
    requests: int
    wire_bytes: int
    stored: int
    idle_bytes_per_hour: int
    idle_requests_per_hour: int
    heartbeat_bytes: tuple[int, int]
    """The smallest (summary only) and largest (with the full status) heartbeat exchange."""
    bundle_check_bytes: float

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds

    @property
    def per_event(self) -> float:
        """Bytes on the wire (both ways) per event."""
        return self.wire_bytes / self.events


def station_snapshot() -> Heartbeat:
    """A real heartbeat: kiosk-core with a simulated kerong cabinet, once its batteries are read."""
    with tempfile.TemporaryDirectory() as tmp:
        config = sim_config(Path(tmp))
        sim = LastingSimCabinet("kerong", config.hardware, Path(tmp) / "devices", seed=1)
        running = RunningStation(config, sim, Path(tmp) / "codes")
        try:
            wait_until(lambda: running.tech.bay(1)["battery"], 20, "the simulated batteries read")
            beat: Heartbeat = running.loop.call(running.station.heartbeat)
        finally:
            running.close()
            sim.end()
    return beat


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_hub(db: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    hub = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--db", db, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).ok:
                return hub, port
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline or hub.poll() is not None:
            hub.kill()
            raise RuntimeError(f"the hub did not start: {hub.stderr.read().decode() if hub.stderr else ''}")
        threading.Event().wait(0.1)


def run(engine: str, db: str, events: int, snapshot: Heartbeat, work: Path) -> Result:
    """Fill a store with ``events``, drain it to a hub on ``db``, then an idle hour; the figures."""
    os.environ["KIOSK_HUB_KEY_FILE"] = str(work / "hub.key")  # the signing keys' key (the hub process inherits it)
    storage = open_storage(db)
    token_file = work / "hub-token"
    write_token_file(token_file, storage.add_station(STATION, name="基准站", name_en="Bench station"))
    storage.signing_key()  # as `kiosk-hub serve` does: the bundle carries a key
    hub, port = _start_hub(db)
    clock = FakeClock()
    try:
        with Store.open(work / "station.db", station_id=STATION, clock=clock, boot_id="bench-boot") as store:
            fill(store, events, random.Random(1), chunk=1000)
            with FaultProxy(("127.0.0.1", port)) as proxy:
                config = SyncConfig(enabled=True, hub_url=proxy.url, token_file=token_file)

                def heartbeat() -> Heartbeat:
                    stats = store.stats()
                    return snapshot.model_copy(
                        update={
                            "station_id": STATION,
                            "mono": clock.monotonic(),
                            "wall": clock.wall(),
                            "backlog": stats.unsynced_count,
                            "oldest_unsynced": stats.oldest_unsynced_wall,
                        }
                    )

                driver = Driver(make_relay(store, config, clock, heartbeat=heartbeat))
                try:
                    began = time.perf_counter()
                    driver.drain(store, max_rounds=1000)
                    seconds = time.perf_counter() - began
                    drained = (len(proxy.exchanges), proxy.bytes_in + proxy.bytes_out)
                    proxy.reset_counters()
                    for _ in range(int(3600 / config.interval_s)):
                        clock.advance(config.interval_s)
                        driver.round()
                    idle = (len(proxy.exchanges), proxy.bytes_in + proxy.bytes_out)
                    statuses = {e.status for e in proxy.exchanges if "/bundle" in e.path}
                    if statuses != {304}:
                        raise RuntimeError(f"idle bundle checks answered {statuses}, expected only 304")
                    beats = sorted(size for path, size in proxy.sizes if path.endswith("/heartbeat"))
                    checks = [size for path, size in proxy.sizes if path.endswith("/bundle")]
                    per_beat = (beats[0], beats[-1])
                    per_check = sum(checks) / len(checks)
                finally:
                    driver.close()
    finally:
        hub.terminate()
        hub.wait(30)
    stored = storage.event_count(STATION)
    storage.close()
    return Result(engine, events, seconds, drained[0], drained[1], stored, idle[1], idle[0], per_beat, per_check)


def main() -> int:
    """Run the benchmark and print the figures next to the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 events instead of 100,000")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--engine", choices=["both", "postgres", "sqlite"], default="both")
    args = parser.parse_args()
    events = args.events or (10_000 if args.quick else 100_000)
    print("taking a real status snapshot from a simulated kiosk-core ...", flush=True)
    snapshot = station_snapshot()
    results: list[Result] = []
    if args.engine in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run("SQLite", str(Path(tmp) / "hub.db"), events, snapshot, Path(tmp)))
    if args.engine in ("both", "postgres"):
        pg = PostgresServer(durable=True)
        try:
            pg.start()
            with tempfile.TemporaryDirectory() as tmp:
                results.append(run("PostgreSQL", pg.create_database("bench"), events, snapshot, Path(tmp)))
        finally:
            pg.stop()
    print(f"sync drain: a backlog of {events} events from a station store to a local hub, then an idle hour")
    print(f"{'engine':<11} {'events':>8} {'seconds':>8} {'events/s':>9} {'requests':>8} {'B/event':>8}  exactly once")
    for r in results:
        once = "yes" if r.stored == r.events else f"NO ({r.stored})"
        print(
            f"{r.engine:<11} {r.events:>8} {r.seconds:>8.2f} {r.rate:>9.0f} {r.requests:>8} {r.per_event:>8.1f}  {once}"
        )
    print(f"{'engine':<11} {'idle KB/hour':>12} {'requests/hour':>13}   (default intervals, nothing to send)")
    for r in results:
        print(
            f"{r.engine:<11} {r.idle_bytes_per_hour / 1000:>12.1f} {r.idle_requests_per_hour:>13}"
            f"   (a heartbeat {r.heartbeat_bytes[0]} B, {r.heartbeat_bytes[1]} B with the full status;"
            f" a bundle check {r.bundle_check_bytes:.0f} B)"
        )
    print("targets:")
    sqlite = next((r for r in results if r.engine == "SQLite"), None)
    if sqlite is not None:
        scaled = sqlite.seconds * 100_000 / sqlite.events
        print(
            f"  drain <= {TARGET_DRAIN_S:.0f} s per 100,000 events on SQLite:"
            f" {_verdict(scaled <= TARGET_DRAIN_S)} ({scaled:.1f} s)"
        )
    worst = max(r.per_event for r in results)
    print(f"  <= {TARGET_BYTES_PER_EVENT:.0f} bytes/event: {_verdict(worst <= TARGET_BYTES_PER_EVENT)} ({worst:.1f})")
    idle = max(r.idle_bytes_per_hour for r in results) / 1000
    print(
        f"  idle <= {TARGET_IDLE_KB_PER_HOUR:.0f} KB/hour: {_verdict(idle <= TARGET_IDLE_KB_PER_HOUR)} ({idle:.1f} KB)"
    )
    return 0 if all(r.stored == r.events for r in results) else 1


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
