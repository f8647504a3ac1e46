"""Hub memory under concurrent uploads: many stations posting near-cap gzip batches at the same moment.

The hub runs as its own process (``kiosk-hub serve``), as in production. Each station thread posts one
batch of 5,000 events that unpacks to about 7.6 MiB (just under the 8 MiB cap), all released at once by
a barrier. The hub's resident memory is read from ``/proc/<pid>/status``: the baseline after start-up
and one small warm-up batch, the peak (``VmHWM``) after the burst, and what is left once it is over.
A fresh hub is started for each burst size so that each peak is that burst's.

Run::

    python bench/hub_memory.py            # 8 and 32 parallel uploads, SQLite
    python bench/hub_memory.py --quick    # 4 and 16 parallel uploads
    python bench/hub_memory.py --engine postgres --parallel 8 32

Target (issue 12): peak RSS under baseline + 256 MB whatever the number of uploads at once.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import string
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
from kiosk.sync.protocol import MAX_BATCH_EVENTS, MAX_BODY_BYTES  # noqa: E402
from tests.hub.pg import PostgresServer  # noqa: E402
from tests.hub.support import batch_body, records  # noqa: E402

TARGET_GROWTH_MB = 256
UNPACKED_TARGET = int(7.6 * 1024 * 1024)


@dataclass(frozen=True)
class Burst:
    """One burst's figures (MB)."""

    parallel: int
    baseline_mb: float
    peak_mb: float
    after_mb: float
    seconds: float
    accepted: int

    @property
    def growth_mb(self) -> float:
        """Peak over baseline."""
        return self.peak_mb - self.baseline_mb


def near_cap_body(station: str, rng: random.Random) -> bytes:
    """A gzip batch of ``MAX_BATCH_EVENTS`` events unpacking to about 7.6 MiB (under the cap)."""
    probe = len(batch_body(station, records(station, range(1, MAX_BATCH_EVENTS + 1), payload={"note": ""})))
    pad = max(0, (UNPACKED_TARGET - probe) // MAX_BATCH_EVENTS)
    text = "".join(rng.choices(string.ascii_letters + string.digits, k=pad))
    events = records(station, range(1, MAX_BATCH_EVENTS + 1), type_="bench.tick", payload={"note": text})
    body = batch_body(station, events)
    if len(body) >= MAX_BODY_BYTES:
        raise RuntimeError(f"the batch unpacks to {len(body)} bytes, over the cap")
    return gzip.compress(body, compresslevel=6)


def rss_mb(pid: int, field: str) -> float:
    """``VmRSS`` or ``VmHWM`` of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def burst(db: str, work: Path, parallel: int) -> Burst:
    """Start a hub on ``db``, warm it up, post ``parallel`` near-cap batches at once; its memory figures."""
    os.environ["KIOSK_HUB_KEY_FILE"] = str(work / "hub.key")
    store = open_storage(db)
    sids = [f"mem-{parallel}-{i:03d}" for i in range(parallel)]
    tokens = {sid: store.add_station(sid, name=sid, name_en=sid) for sid in [*sids, f"warm-{parallel}"]}
    store.close()
    rng = random.Random(parallel)
    bodies = {sid: near_cap_body(sid, rng) for sid in sids}
    port = _free_port()
    hub = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--db", db, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
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
        warm = f"warm-{parallel}"
        small = gzip.compress(batch_body(warm, records(warm, range(1, 101))))
        requests.post(
            f"{url}/v1/stations/{warm}/events",
            data=small,
            headers={**headers, "Authorization": f"Bearer {tokens[warm]}"},
            timeout=60,
        ).raise_for_status()
        baseline = rss_mb(hub.pid, "VmRSS")
        start = threading.Barrier(parallel + 1)
        accepted: list[int] = []

        def station(sid: str) -> None:
            start.wait()
            answer = requests.post(
                f"{url}/v1/stations/{sid}/events",
                data=bodies[sid],
                headers={**headers, "Authorization": f"Bearer {tokens[sid]}"},
                timeout=600,
            )
            if answer.status_code == 200:
                accepted.append(len(answer.json()["accepted"]))

        threads = [threading.Thread(target=station, args=(sid,)) for sid in sids]
        for t in threads:
            t.start()
        start.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - began
        peak = rss_mb(hub.pid, "VmHWM")
        threading.Event().wait(2)  # a moment for the allocator to give memory back
        after = rss_mb(hub.pid, "VmRSS")
    finally:
        hub.terminate()
        hub.wait(30)
    return Burst(parallel, baseline, peak, after, seconds, sum(accepted))


def main() -> int:
    """Run the bursts and print the figures next to the target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller bursts (4 and 16)")
    parser.add_argument("--parallel", type=int, nargs="+", default=None, help="burst sizes (default 8 32)")
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    sizes = args.parallel or ([4, 16] if args.quick else [8, 32])
    results: list[Burst] = []
    with tempfile.TemporaryDirectory() as tmp:
        pg = PostgresServer(durable=True) if args.engine == "postgres" else None
        try:
            if pg is not None:
                pg.start()
            for n in sizes:
                db = pg.create_database(f"mem_{n}") if pg is not None else str(Path(tmp) / f"hub-{n}.db")
                results.append(burst(db, Path(tmp), n))
        finally:
            if pg is not None:
                pg.stop()
    print(f"hub memory ({args.engine}): near-cap gzip batches ({MAX_BATCH_EVENTS} events, ~7.6 MiB unpacked) at once")
    print(f"{'parallel':>8} {'baseline MB':>11} {'peak MB':>8} {'growth MB':>9} {'after MB':>8} {'seconds':>8} stored")
    ok = True
    for r in results:
        stored = r.accepted == r.parallel * MAX_BATCH_EVENTS
        ok = ok and stored and r.growth_mb <= TARGET_GROWTH_MB
        print(
            f"{r.parallel:>8} {r.baseline_mb:>11.0f} {r.peak_mb:>8.0f} {r.growth_mb:>9.0f} {r.after_mb:>8.0f}"
            f" {r.seconds:>8.1f} {'all' if stored else f'{r.accepted} events'}"
        )
    worst = max(r.growth_mb for r in results)
    print(
        f"target: peak under baseline + {TARGET_GROWTH_MB} MB at any burst size: {'met' if ok else 'NOT met'}"
        f" (worst growth {worst:.0f} MB)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
