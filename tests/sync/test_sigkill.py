"""The station process killed with SIGKILL while it pushes to the hub: after restarts nothing is lost or twice.

Half the kills land exactly between the hub's commit and ``mark_synced`` (the child waits there for us:
the lost acknowledgement); the other half land after a random number of the child's steps, wherever it
then is (writing, sending, waiting for the answer, marking). A new child on the same database follows
each kill; at the end one more relay drains what is left and the hub must hold exactly the station's events.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.clock import SystemClock
from kiosk.store import Store
from tests.sync.support import STATION, Driver, assert_hub_has_exactly, hub_records, make_relay, open_store, sync_config

ROOT = Path(__file__).resolve().parents[2]
KILLS = 12
LINE_TIMEOUT_S = 20.0


class Child:
    """One ``kill_child`` process and the lines it says."""

    def __init__(self, db: Path, hub_url: str, token_file: Path, seed: int, *, gate: bool, log: Path) -> None:
        self.log = log
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.sync.kill_child",
                    str(db),
                    hub_url,
                    str(token_file),
                    str(seed),
                    "gate" if gate else "free",
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                bufsize=0,
            )
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._buffer = b""

    def line(self) -> str:
        """The next line (bounded wait)."""
        deadline = time.monotonic() + LINE_TIMEOUT_S
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                raise AssertionError(f"the child said nothing for {LINE_TIMEOUT_S}s: {self.log.read_text()[-2000:]}")
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise AssertionError(f"the child ended: {self.log.read_text()[-2000:]}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def expect(self, word: str) -> str:
        """Read lines until one starts with ``word``; that line."""
        while not (line := self.line()).startswith(word):
            pass
        return line

    def go(self) -> None:
        """Let a gated child mark what it was acknowledged."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")

    def kill(self) -> None:
        """SIGKILL, and make sure that is how it ended."""
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL
        self._selector.close()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.mark.slow
def test_a_station_killed_between_sending_and_marking_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, hub: HubServer, token_file: Path, hub_storage: Storage
) -> None:
    db = tmp_path / "station.db"
    rng = random.Random(4242)
    lost_acks = []
    for n in range(KILLS):
        gated = n % 2 == 0
        child = Child(db, hub.url, token_file, seed=n, gate=gated, log=tmp_path / "child.log")
        try:
            child.expect("ready")
            if gated:
                for _ in range(rng.randint(0, 2)):
                    child.expect("acked")
                    child.go()
                acked = int(child.expect("acked").split()[1])
            else:
                for _ in range(rng.randint(1, 15)):
                    child.line()
        finally:
            child.kill()
        if gated:
            with Store.open_readonly(db, station_id=STATION) as seen:
                unmarked = {e.id for e in seen.unsynced(1_000_000)}
            held = unmarked & {e.id for e in hub_records(hub_storage)}
            lost_acks.append(len(held))
            assert len(held) >= acked, "the hub holds the batch the station never marked"
    with open_store(db, SystemClock(), boot="boot-final") as store:
        driver = Driver(make_relay(store, sync_config(hub.url, token_file), SystemClock()))
        try:
            driver.drain(store, max_rounds=20)
        finally:
            driver.close()
        assert store.last_seq() > 0
        assert_hub_has_exactly(hub_storage, store)
    assert len(lost_acks) == KILLS // 2
