"""The process the store crash tests kill: it appends events and reports each one only after its commit.

Run as a script with ``sys.executable`` (it imports only ``kiosk.store`` and ``kiosk.core``):

``python tests/crash_child.py zygote``
    Imports once, then for every ``run <db> <on-term> <seed>`` line on stdin forks a worker. Forking
    from an already-imported process makes a worker cost milliseconds instead of the ~0.25 s a fresh
    interpreter needs to import pydantic and sqlite-utils, so hundreds of kills fit in seconds. The
    zygote itself never opens a database (a forked SQLite connection would be unsafe).

``python tests/crash_child.py run <db> <on-term> <seed>``
    One worker in this process, for trying it by hand.

Every line written to stdout carries the worker's pid; each is a single ``os.write`` shorter than
PIPE_BUF, so lines from the zygote and its worker never interleave:

- ``started <pid>`` — the zygote forked a worker;
- ``ready <pid>`` — the worker opened the store;
- ``ev <pid> <seq> <id>`` — that event is COMMITTED (written only after the commit returned);
- ``clean <pid>`` — the worker left cleanly on SIGTERM (``on-term`` = ``exit``);
- ``error <pid> <message>`` — the worker failed;
- ``exited <pid> <status>`` — the zygote reaped the worker: exit code, or minus the signal number.

A worker writes three kinds of commits at random: single appends, batches, and a state change
(setting ``last_tx_seq``) in the same transaction as its event, so the test can check they stayed
together. ``on-term`` is ``default`` (SIGTERM kills outright) or ``exit`` (a handler that exits cleanly).
"""

from __future__ import annotations

import os
import random
import signal
import sys
from pathlib import Path
from types import FrameType

from kiosk.core.clock import SystemClock
from kiosk.core.events import EventRecord, StationStopped
from kiosk.core.ids import boot_id
from kiosk.store import Store

STATION = "crash-test"
"""The station id every worker writes as."""
TX_SETTING = "last_tx_seq"
"""Setting written in the same transaction as each ``tx`` event: the seq of that event."""


def _say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _one_commit(store: Store, rng: random.Random, n: int) -> list[EventRecord]:
    pick = rng.random()
    if pick < 0.6:
        return [store.append(StationStopped(reason=f"single {n}"))]
    if pick < 0.85:
        return store.append_many([StationStopped(reason=f"batch {n}.{i}") for i in range(rng.randint(2, 5))])
    with store.transaction() as tx:
        record = tx.append(StationStopped(reason=f"tx {n}"))
        tx.db.table("settings").upsert({"key": TX_SETTING, "value": str(record.seq)}, pk="key")
        return [record]


def work(db: Path, on_term: str, seed: int) -> int:
    """Open the store and commit events until killed; returns an exit code only on SIGTERM with ``exit``."""
    pid = os.getpid()
    if on_term == "exit":
        signal.signal(signal.SIGTERM, _on_term)
    store: Store | None = None
    try:
        store = Store.open(db, station_id=STATION, clock=SystemClock(), boot_id=boot_id())
        _say(f"ready {pid}")
        rng = random.Random(seed)
        n = 0
        while True:
            records = _one_commit(store, rng, n)
            # Reported only now that the commit has returned: a reported event must survive any kill.
            if records:
                _say("".join(f"ev {pid} {r.seq} {r.id}\n" for r in records).rstrip("\n"))
            n += 1
    except SystemExit:
        if store is not None:
            store.close()
        _say(f"clean {pid}")
        return 0
    except Exception as exc:
        _say(f"error {pid} {type(exc).__name__}: {exc}".replace("\n", " "))
        return 1


def zygote() -> int:
    """Fork a worker for each ``run`` line on stdin; report when each one ends. Stops at end of input."""
    for raw in sys.stdin.buffer:
        parts = raw.decode().split()
        if len(parts) != 4 or parts[0] != "run":
            _say(f"error {os.getpid()} bad command {raw!r}")
            continue
        pid = os.fork()
        if pid == 0:
            # The worker must never return into the zygote's loop, whatever happens.
            code = 1
            try:
                code = work(Path(parts[1]), parts[2], int(parts[3]))
            finally:
                os._exit(code)
        _say(f"started {pid}")
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        _say(f"exited {pid} {code}")
    return 0


def main(argv: list[str]) -> int:
    """Entry point: ``zygote``, or ``run <db> <on-term> <seed>``."""
    if argv[:1] == ["zygote"]:
        return zygote()
    if len(argv) == 4 and argv[0] == "run":
        return work(Path(argv[1]), argv[2], int(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
