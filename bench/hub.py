"""Hub ingest throughput: many stations posting gzip batches at once, on PostgreSQL (and SQLite to compare).

The hub runs as its own process (``kiosk-hub serve``), as in production; the station clients are
threads that send batches built and compressed before the clock starts, so what is measured is the
hub (HTTP, gunzip, validation, storage), not the clients. PostgreSQL is a throw-away server started
here with its normal durability settings (fsync on). Run::

    python bench/hub.py            # 20 stations x 10 batches x 1000 events, both engines
    python bench/hub.py --quick    # a smaller run

Target (issue 5): at least 10,000 events/s on PostgreSQL on a 2-core machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
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

from hub.storage import open_storage  # noqa: E402 - after the path set-up above
from tests.hub.pg import PostgresServer  # noqa: E402
from tests.hub.support import batch_body, records  # noqa: E402

TARGET_EVENTS_PER_S = 10_000


@dataclass(frozen=True)
class Result:
    """One engine's run."""

    engine: str
    events: int
    seconds: float
    wire_bytes: int
    stored: int

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(engine: str, db: str, stations: int, batches: int, batch_size: int) -> Result:
    """Register the stations, start a hub on ``db``, post everything concurrently, count what was stored."""
    store = open_storage(db)
    tokens = {
        f"st-{i:03d}": store.add_station(f"st-{i:03d}", name=f"站{i}", name_en=f"Station {i}") for i in range(stations)
    }
    bodies: dict[str, list[bytes]] = {}
    for sid in tokens:
        bodies[sid] = []
        for b in range(batches):
            events = records(
                sid, range(1 + b * batch_size, 1 + (b + 1) * batch_size), type_="bench.tick", payload={"n": b}
            )
            bodies[sid].append(gzip.compress(batch_body(sid, events), compresslevel=6))
    port = _free_port()
    hub = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--db", db, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/v1/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or hub.poll() is not None:
                raise RuntimeError(f"the hub did not start: {hub.stderr.read().decode() if hub.stderr else ''}")
            threading.Event().wait(0.1)
        start = threading.Barrier(stations + 1)
        errors: list[str] = []

        def station(sid: str) -> None:
            with requests.Session() as session:
                headers = {
                    "Authorization": f"Bearer {tokens[sid]}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                }
                start.wait()
                for body in bodies[sid]:
                    answer = session.post(f"{url}/v1/stations/{sid}/events", data=body, headers=headers, timeout=120)
                    if answer.status_code != 200 or len(answer.json()["accepted"]) != batch_size:
                        errors.append(f"{sid}: {answer.status_code} {answer.text[:200]}")

        threads = [threading.Thread(target=station, args=(sid,)) for sid in tokens]
        for t in threads:
            t.start()
        start.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - began
        if errors:
            raise RuntimeError("; ".join(errors[:3]))
    finally:
        hub.terminate()
        hub.wait(30)
    stored = store.event_count()
    store.close()
    wire = sum(len(b) for bs in bodies.values() for b in bs)
    return Result(engine, stations * batches * batch_size, seconds, wire, stored)


def main() -> int:
    """Run the benchmark and print the figures next to the target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--stations", type=int, default=None)
    parser.add_argument("--batches", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--engine", choices=["both", "postgres", "sqlite"], default="both")
    args = parser.parse_args()
    stations = args.stations or (8 if args.quick else 20)
    batches = args.batches or (3 if args.quick else 10)
    results: list[Result] = []
    if args.engine in ("both", "postgres"):
        pg = PostgresServer(durable=True)
        try:
            pg.start()
            results.append(run("PostgreSQL", pg.create_database("bench"), stations, batches, args.batch_size))
        finally:
            pg.stop()
    if args.engine in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run("SQLite", str(Path(tmp) / "hub.db"), stations, batches, args.batch_size))
    print(f"hub ingest: {stations} stations posting at once, {batches} gzip batches of {args.batch_size} events each")
    print(f"{'engine':<11} {'events':>8} {'seconds':>8} {'events/s':>9} {'wire B/event':>12}  stored exactly once")
    for r in results:
        once = "yes" if r.stored == r.events else f"NO ({r.stored})"
        print(f"{r.engine:<11} {r.events:>8} {r.seconds:>8.2f} {r.rate:>9.0f} {r.wire_bytes / r.events:>12.1f}  {once}")
    pg_result = next((r for r in results if r.engine == "PostgreSQL"), None)
    if pg_result is not None:
        verdict = "met" if pg_result.rate >= TARGET_EVENTS_PER_S else "NOT met"
        print(f"target: >= {TARGET_EVENTS_PER_S} events/s on PostgreSQL: {verdict} ({pg_result.rate:.0f})")
    return 0 if all(r.stored == r.events for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
