"""Hub ingest throughput: many stations posting gzip batches at once, on PostgreSQL (and SQLite to compare).

The hub runs as its own process (``kiosk-hub serve``), as in production; the station clients are
threads that send batches built and compressed before the clock starts, so what is measured is the
hub (HTTP, gunzip, validation, storage), not the clients. PostgreSQL is a throw-away server started
here with its normal durability settings (fsync on). Two scenarios:

- ``plain``: every event is of a type the hub only stores (issue 5's figure).
- ``points``: the rider services' mix (issue 8): about 30 % points events (earned and spent by ~2,000
  riders, a tenth of them seen at every station, so two stations' batches lock the same balance rows),
  plus service views, feedback, booking requests and accepted codes, all applied by ``ingest`` inside
  its transaction (:mod:`hub.storage.points_apply`). Afterwards the ledger is read back: exactly one row
  per points entry sent, and every balance equal to its applied entries.

Run::

    python bench/hub.py                      # 20 stations x 10 batches x 1000 events, both scenarios, both engines
    python bench/hub.py --scenario points    # only the rider services' mix
    python bench/hub.py --quick              # a smaller run

Target (issue 5, kept for issue 8's mix): at least 10,000 events/s on PostgreSQL on a 2-core machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.content import Content  # noqa: E402 - after the path set-up above
from hub.storage import Storage, open_storage  # noqa: E402
from kiosk.core.content import BookingSlot, CatalogueItem, PointsRule, Service  # noqa: E402
from kiosk.core.events import EventRecord  # noqa: E402
from kiosk.core.rider_events import (  # noqa: E402
    FEEDBACK_TOPICS,
    BookingRequested,
    FeedbackGiven,
    PointsEarned,
    PointsSpent,
    ServiceViewed,
)
from tests.hub.pg import PostgresServer  # noqa: E402
from tests.hub.support import T0, batch_body, record, records  # noqa: E402

TARGET_EVENTS_PER_S = 10_000
SCENARIOS = ("plain", "points")

# The rider services' mix: event kind -> share of all events (sums to 1). Points events are 30 %.
MIX: dict[str, float] = {
    PointsEarned.TYPE: 0.20,
    PointsSpent.TYPE: 0.10,
    ServiceViewed.TYPE: 0.25,
    FeedbackGiven.TYPE: 0.10,
    BookingRequested.TYPE: 0.05,
    "code.accepted": 0.10,
    "bench.tick": 0.20,
}
RIDERS = 2_000
SHARED_RIDERS = 200
"""Riders seen at every station (the last ids); the others each belong to one station."""
SHARED_SHARE = 0.3
"""Share of a station's rider events that name a shared rider: their balance rows are locked by many stations."""
EARN_RULE = PointsRule(id="bench", points=5, per_day=1_000_000)
"""No daily limit, so earnings apply and later spends find points (a real city's rules are stricter)."""
WATER = CatalogueItem(id="water", name_zh="矿泉水", name_en="Water", points=5)
SLOT_START = T0 + timedelta(days=7)
WRITTEN = datetime.now(UTC) - timedelta(hours=1)
"""When the mix's events were written: recently, as the hub counts earnings on its own day of them (and
credits nothing earned weeks before it received it)."""
SERVICES = [
    Service(
        id="legal-aid",
        category="legal_aid",
        title_zh="法律援助",
        title_en="Legal aid",
        bookable=True,
        slots=[
            BookingSlot(
                id=f"law-{i}", starts=SLOT_START + timedelta(hours=i), ends=SLOT_START + timedelta(hours=i, minutes=30)
            )
            for i in range(8)
        ],
    ),
    Service(id="jobs", category="jobs", title_zh="招聘信息", title_en="Job listings"),
    Service(id="child-care", category="child_care", title_zh="课后托管", title_en="After-school care"),
]


@dataclass(frozen=True)
class Shape:
    """How much is posted: stations, batches per station, events per batch, share of shared riders."""

    stations: int
    batches: int
    batch_size: int
    shared: float = SHARED_SHARE


@dataclass
class Sent:
    """What one run posted, to check against what the hub holds afterwards."""

    bodies: dict[str, list[bytes]] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    entry_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Check:
    """What the hub holds after a run of the points mix."""

    ledger_rows: int
    ledger_ids_match: bool
    applied: int
    rejected: int
    balances_match: bool
    bookings: int
    feedback: int

    def verdict(self, sent: Sent) -> str:
        """One line: whether each points entry is in the ledger once, and the balances agree with it."""
        entries = len(sent.entry_ids)
        once = self.ledger_rows == entries and self.ledger_ids_match
        ok = (
            once
            and self.balances_match
            and self.bookings == sent.kinds[BookingRequested.TYPE]
            and self.feedback == sent.kinds[FeedbackGiven.TYPE]
        )
        return (
            f"{'OK' if ok else 'WRONG'}: ledger {self.ledger_rows} rows for {entries} points entries"
            f" ({'one each' if once else 'NOT one each'}; {self.applied} applied, {self.rejected} refused),"
            f" balances {'=' if self.balances_match else '!='} applied entries,"
            f" bookings {self.bookings}/{sent.kinds[BookingRequested.TYPE]},"
            f" feedback {self.feedback}/{sent.kinds[FeedbackGiven.TYPE]}"
        )

    def ok(self, sent: Sent) -> bool:
        """Whether the verdict is OK."""
        return self.verdict(sent).startswith("OK")


@dataclass(frozen=True)
class Result:
    """One engine's run of one scenario."""

    scenario: str
    engine: str
    events: int
    seconds: float
    wire_bytes: int
    stored: int
    ledger: str | None = None
    """The points mix's correctness line (None for the plain scenario)."""
    ledger_ok: bool = True

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the batches --------------------------------------------------------------------------------------


def plain_batches(sid: str, batches: int, batch_size: int) -> Sent:
    """Batches of events the hub only stores."""
    sent = Sent()
    sent.bodies[sid] = []
    for b in range(batches):
        events = records(sid, range(1 + b * batch_size, 1 + (b + 1) * batch_size), type_="bench.tick", payload={"n": b})
        sent.bodies[sid].append(gzip.compress(batch_body(sid, events), compresslevel=6))
    sent.kinds["bench.tick"] = batches * batch_size
    return sent


def station_riders(index: int, stations: int) -> list[str]:
    """The riders who use only station ``index`` (an equal share of the unshared ones)."""
    own = (RIDERS - SHARED_RIDERS) // stations
    return [f"R{n:05d}" for n in range(index * own, (index + 1) * own)]


SHARED = [f"R{n:05d}" for n in range(RIDERS - SHARED_RIDERS, RIDERS)]


def mixed_event(sid: str, seq: int, kind: str, rng: random.Random, own: list[str], shared: float) -> EventRecord:
    """One event of the rider services' mix, with a body the hub accepts (``shared``: share of shared riders)."""
    rider = rng.choice(SHARED if rng.random() < shared else own)
    ref = f"{sid}-{seq:09d}"  # entry, booking and feedback ids: unique across stations
    wall = WRITTEN + timedelta(seconds=seq)
    day = wall.date().isoformat()
    body: Any
    if kind == PointsEarned.TYPE:
        body = PointsEarned(entry_id=ref, rider_id=rider, rule=EARN_RULE.id, points=EARN_RULE.points, day=day)
    elif kind == PointsSpent.TYPE:
        body = PointsSpent(entry_id=ref, rider_id=rider, item_id=WATER.id, points=WATER.points, bay=9, confirmed=False)
    elif kind == ServiceViewed.TYPE:
        service = rng.choice(SERVICES)
        body = ServiceViewed(service_id=service.id, category=service.category, language=rng.choice(("zh", "en")))
    elif kind == FeedbackGiven.TYPE:
        signed = rider if rng.random() < 0.5 else None
        body = FeedbackGiven(
            feedback_id=ref, rating=rng.randint(1, 5), topic=rng.choice(FEEDBACK_TOPICS), rider_id=signed
        )
    elif kind == BookingRequested.TYPE:
        slot = rng.choice(SERVICES[0].slots)
        body = BookingRequested(booking_id=ref, rider_id=rider, service_id=SERVICES[0].id, slot_id=slot.id)
    elif kind == "code.accepted":
        return record(sid, seq, type_=kind, payload={"rider_id": rider, "scope": "swap"}, wall=wall)
    else:
        return record(sid, seq, type_=kind, payload={"n": seq}, wall=wall)
    return record(sid, seq, type_=kind, payload=body.payload(), wall=wall)


def mixed_batches(sid: str, index: int, stations: int, batches: int, batch_size: int, shared: float) -> Sent:
    """Batches of the rider services' mix for station ``index`` (seeded by it: the same every run)."""
    rng = random.Random(index)
    own = station_riders(index, stations)
    kinds, weights = list(MIX), list(MIX.values())
    sent = Sent()
    sent.bodies[sid] = []
    for b in range(batches):
        events = []
        for seq in range(1 + b * batch_size, 1 + (b + 1) * batch_size):
            kind = rng.choices(kinds, weights)[0]
            events.append(mixed_event(sid, seq, kind, rng, own, shared))
            sent.kinds[kind] += 1
            if kind in (PointsEarned.TYPE, PointsSpent.TYPE):
                sent.entry_ids.add(str(events[-1].payload["entry_id"]))
        sent.bodies[sid].append(gzip.compress(batch_body(sid, events), compresslevel=6))
    return sent


def build(scenario: str, sids: list[str], batches: int, batch_size: int, shared: float = SHARED_SHARE) -> Sent:
    """Every station's compressed batches for ``scenario``."""
    total = Sent()
    for index, sid in enumerate(sids):
        if scenario == "plain":
            part = plain_batches(sid, batches, batch_size)
        else:
            part = mixed_batches(sid, index, len(sids), batches, batch_size, shared)
        total.bodies.update(part.bodies)
        total.kinds.update(part.kinds)
        total.entry_ids |= part.entry_ids
    return total


# --- the run -------------------------------------------------------------------------------------------


def check_ledger(store: Storage, sent: Sent) -> Check:
    """Read back the ledger, balances, bookings and feedback the hub applied."""
    with store.db.transaction(write=False) as tx:
        ids = [str(r[0]) for r in tx.execute("SELECT entry_id FROM ledger")]
        status = {str(s): int(n) for s, n in tx.execute("SELECT status, COUNT(*) FROM ledger GROUP BY status")}
        # Every balance must equal its rider's applied entries (earned adds, spent takes away).
        wrong = tx.one(
            "SELECT COUNT(*) FROM rider_points p LEFT JOIN (SELECT rider_id, SUM(CASE WHEN kind = 'spent'"
            " THEN -points ELSE points END) AS total FROM ledger WHERE status = 'applied' GROUP BY rider_id) l"
            " ON l.rider_id = p.rider_id WHERE p.balance <> COALESCE(l.total, 0)"
        )
        bookings = tx.one("SELECT COUNT(*) FROM bookings")
        feedback = tx.one("SELECT COUNT(*) FROM feedback")
    return Check(
        ledger_rows=len(ids),
        ledger_ids_match=set(ids) == sent.entry_ids,
        applied=status.get("applied", 0),
        rejected=status.get("rejected", 0),
        balances_match=wrong is not None and int(wrong[0]) == 0,
        bookings=int(bookings[0]) if bookings else -1,
        feedback=int(feedback[0]) if feedback else -1,
    )


def post_all(url: str, tokens: dict[str, str], bodies: dict[str, list[bytes]], batch_size: int) -> float:
    """Every station posts its batches at once (a thread each); the seconds from the start to the last answer."""
    start = threading.Barrier(len(tokens) + 1)
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
                answer = session.post(f"{url}/v1/stations/{sid}/events", data=body, headers=headers, timeout=300)
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
    return seconds


def run(scenario: str, engine: str, db: str, shape: Shape) -> Result:
    """Register the stations, start a hub on ``db``, post everything concurrently, count what was stored."""
    os.environ.setdefault("KIOSK_HUB_KEY_FILE", str(Path(tempfile.gettempdir()) / f"kiosk-bench-{os.getpid()}.key"))
    store = open_storage(db)
    tokens = {
        f"st-{i:03d}": store.add_station(f"st-{i:03d}", name=f"站{i}", name_en=f"Station {i}")
        for i in range(shape.stations)
    }
    if scenario == "points":
        store.load_content(
            Content(services=SERVICES, catalogue=[WATER], points_rules=[EARN_RULE], default_slot_capacity=1000)
        )
    sent = build(scenario, list(tokens), shape.batches, shape.batch_size, shape.shared)
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
        seconds = post_all(url, tokens, sent.bodies, shape.batch_size)
    finally:
        hub.terminate()
        hub.wait(30)
    stored = store.event_count()
    check = check_ledger(store, sent) if scenario == "points" else None
    store.close()
    wire = sum(len(b) for bs in sent.bodies.values() for b in bs)
    events = shape.stations * shape.batches * shape.batch_size
    if check is None:
        return Result(scenario, engine, events, seconds, wire, stored)
    return Result(scenario, engine, events, seconds, wire, stored, check.verdict(sent), check.ok(sent))


def run_engine(engine: str, scenarios: list[str], shape: Shape) -> list[Result]:
    """Each scenario on a fresh database of ``engine`` (one PostgreSQL server for all of them)."""
    results: list[Result] = []
    if engine == "PostgreSQL":
        pg = PostgresServer(durable=True)
        try:
            pg.start()
            for scenario in scenarios:
                db = pg.create_database(f"bench_{scenario}")
                results.append(run(scenario, engine, db, shape))
        finally:
            pg.stop()
        return results
    for scenario in scenarios:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run(scenario, engine, str(Path(tmp) / "hub.db"), shape))
    return results


def describe_mix() -> str:
    """The points mix in one line."""
    return ", ".join(f"{kind} {share:.0%}" for kind, share in MIX.items())


def main() -> int:
    """Run the benchmark and print the figures next to the target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--stations", type=int, default=None)
    parser.add_argument("--batches", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--engine", choices=["both", "postgres", "sqlite"], default="both")
    parser.add_argument("--scenario", choices=["both", *SCENARIOS], default="both")
    parser.add_argument(
        "--shared", type=float, default=SHARED_SHARE, help="share of rider events naming a rider seen at every station"
    )
    args = parser.parse_args()
    stations = args.stations or (4 if args.quick else 20)
    batches = args.batches or (2 if args.quick else 10)
    scenarios = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    shape = Shape(stations, batches, args.batch_size, args.shared)
    results: list[Result] = []
    if args.engine in ("both", "postgres"):
        results += run_engine("PostgreSQL", scenarios, shape)
    if args.engine in ("both", "sqlite"):
        results += run_engine("SQLite", scenarios, shape)
    print(f"hub ingest: {stations} stations posting at once, {batches} gzip batches of {args.batch_size} events each")
    if "points" in scenarios:
        print(
            f"points mix: {describe_mix()}; {RIDERS} riders, {SHARED_RIDERS} of them at every station"
            f" ({shape.shared:.0%} of rider events name one of those)"
        )
    print(
        f"{'scenario':<8} {'engine':<11} {'events':>8} {'seconds':>8} {'events/s':>9} {'wire B/event':>12}  stored once"
    )
    for r in results:
        once = "yes" if r.stored == r.events else f"NO ({r.stored})"
        print(
            f"{r.scenario:<8} {r.engine:<11} {r.events:>8} {r.seconds:>8.2f} {r.rate:>9.0f}"
            f" {r.wire_bytes / r.events:>12.1f}  {once}"
        )
    ok = all(r.stored == r.events for r in results)
    for r in results:
        if r.ledger is not None:
            print(f"ledger after the points mix on {r.engine}: {r.ledger}")
            ok = ok and r.ledger_ok
    for r in results:
        if r.engine == "PostgreSQL":
            verdict = "met" if r.rate >= TARGET_EVENTS_PER_S else "NOT met"
            print(f"target: >= {TARGET_EVENTS_PER_S} events/s on PostgreSQL ({r.scenario}): {verdict} ({r.rate:.0f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
