"""Crash safety: a writer killed at random moments never loses an event it reported as committed.

The worker (``tests/crash_child.py``) prints each event only after its commit returned. We kill it
after it has reported a random number of events — the kill lands wherever it happens to be then:
opening, checking, migrating, mid-transaction, mid-commit — and start the next worker on the same
file. At the end every reported event must be there, seqs gapless from 1, and the file sound.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.store import Store
from tests.support import ZygotePipe

CHILD = Path(__file__).with_name("crash_child.py")
STATION = "crash-test"
LINE_TIMEOUT_S = 20.0


@dataclass
class Outcome:
    """What one worker reported before it ended."""

    pid: int
    committed: dict[int, str] = field(default_factory=dict)
    status: int | None = None
    clean: bool = False


class Zygote:
    """The parent's side of ``crash_child.py zygote``: start workers, read their lines, signal them."""

    def __init__(self) -> None:
        self.pipe = ZygotePipe(CHILD)

    def _line(self) -> list[str]:
        deadline = time.monotonic() + LINE_TIMEOUT_S
        while b"\n" not in self.pipe.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.pipe.fill(remaining):
                raise AssertionError(f"crash child said nothing for {LINE_TIMEOUT_S}s")
        line, self.pipe.buffer = self.pipe.buffer.split(b"\n", 1)
        parts = line.decode().split(" ", 3)
        if parts[0] == "error":
            raise AssertionError(f"crash child failed: {line.decode()}")
        return parts

    def run(self, db: Path, *, on_term: str, seed: int, after: int, sig: signal.Signals) -> Outcome:
        """Start a worker, send it ``sig`` once it has reported ``after`` commits, collect what it said."""
        self.pipe.send(f"run {db} {on_term} {seed}")
        outcome: Outcome | None = None
        while outcome is None or len(outcome.committed) < after:
            parts = self._line()
            if outcome is None:
                outcome = Outcome(pid=int(parts[1]))
            assert int(parts[1]) == outcome.pid, f"line from an unexpected worker: {parts}"
            if parts[0] == "exited":
                raise AssertionError(f"worker ended by itself with status {parts[2]}")
            if parts[0] == "ev":
                outcome.committed[int(parts[2])] = parts[3]
        os.kill(outcome.pid, sig)
        # Everything the worker wrote before it died is in the pipe ahead of the zygote's "exited".
        while outcome.status is None:
            parts = self._line()
            if parts[0] == "ev":
                outcome.committed[int(parts[2])] = parts[3]
            elif parts[0] == "clean":
                outcome.clean = True
            elif parts[0] == "exited":
                outcome.status = int(parts[2])
        return outcome

    def close(self) -> None:
        """End the zygote and reap it."""
        self.pipe.close()


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    """One pre-imported parent for every worker of this module."""
    z = Zygote()
    yield z
    z.close()


def _check_file(db: Path, reported: dict[int, str]) -> None:
    """Every reported event present under its seq, seqs gapless from 1, state and event together, file sound."""
    with Store.open(db, station_id=STATION, clock=FakeClock(), boot_id="checker") as store:
        assert store.corruption is None, f"a kill made the file look damaged: {store.corruption}"
        stored = {r.seq: r for r in store.events()}
        assert sorted(stored) == list(range(1, len(stored) + 1)), "seqs have a gap"
        assert store.last_seq() == len(stored)
        missing = {seq: eid for seq, eid in reported.items() if seq not in stored or stored[seq].id != eid}
        assert missing == {}, f"{len(missing)} reported-committed events lost"
        tx_seqs = [seq for seq, r in stored.items() if str(r.payload["reason"]).startswith("tx ")]
        setting = store.db.table("settings").get("last_tx_seq")["value"] if tx_seqs else None
        assert setting == (str(max(tx_seqs)) if tx_seqs else None), "state change and its event came apart"
        assert store.integrity_check() == "ok"
    assert [p.name for p in db.parent.iterdir() if ".corrupt-" in p.name] == []


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_committed_event(zygote: Zygote, tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    rng = random.Random(7)
    reported: dict[int, str] = {}
    kills = 0
    for round_ in range(220):
        outcome = zygote.run(db, on_term="default", seed=round_, after=rng.randint(0, 12), sig=signal.SIGKILL)
        assert outcome.status == -signal.SIGKILL
        assert not reported.keys() & outcome.committed.keys(), "a seq was handed out twice"
        reported.update(outcome.committed)
        kills += 1
    assert kills >= 200
    assert len(reported) > kills  # the workers did commit between kills
    _check_file(db, reported)


@pytest.mark.parametrize("on_term", ["default", "exit"])
def test_sigterm_during_appends_loses_no_committed_event(zygote: Zygote, tmp_path: Path, on_term: str) -> None:
    db = tmp_path / "kiosk.db"
    rng = random.Random(11)
    reported: dict[int, str] = {}
    for round_ in range(15):
        # At least one commit first, so the worker's handler (if any) is installed when the signal lands.
        outcome = zygote.run(db, on_term=on_term, seed=round_, after=rng.randint(1, 20), sig=signal.SIGTERM)
        assert outcome.status == (0 if on_term == "exit" else -signal.SIGTERM)
        assert outcome.clean == (on_term == "exit")
        reported.update(outcome.committed)
    _check_file(db, reported)
