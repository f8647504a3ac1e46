"""The station process the SIGKILL test kills: it writes events and pushes them to the hub, round after round.

``python -m tests.sync.kill_child <db> <hub_url> <token_file> <seed> <gate|free>`` (from the checkout's root)

Each line it writes is one ``os.write`` (never interleaved, never lost in a buffer when it is killed):

- ``ready`` — the store is open;
- ``wrote <last seq>`` — events committed;
- ``acked <n>`` — the hub acknowledged a batch of ``n`` events, which are NOT yet marked synced;
- ``marked <n>`` — the acknowledged events are now marked;
- ``round <wait>`` — a round ended.

With ``gate``, the process waits after every ``acked`` line for a line on stdin before marking, so the
test can kill it exactly between the hub's commit and ``mark_synced`` (the lost acknowledgement).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from kiosk.core.clock import SystemClock
from kiosk.core.ids import new_id
from kiosk.core.secrets import read_secret_file
from kiosk.store import Store
from kiosk.sync.client import HubClient
from kiosk.sync.protocol import Bundle
from kiosk.sync.relay import SyncRelay
from tests.sync.support import STATION, plain_heartbeat, some_events, sync_config


def say(line: str) -> None:
    """One line to the parent, in one write."""
    os.write(1, (line + "\n").encode())


class GatedStore(Store):
    """The real store, announcing acknowledged batches before marking them (and waiting, when gated)."""

    gate = False

    def mark_synced(self, ids: Iterable[str], at: datetime) -> int:
        """Say ``acked``, wait for the parent if gated, then mark."""
        wanted = list(ids)
        say(f"acked {len(wanted)}")
        if self.gate and not sys.stdin.readline():
            raise SystemExit(0)  # the parent is gone
        marked = super().mark_synced(wanted, at)
        say(f"marked {marked}")
        return marked


def _accept(bundle: Bundle) -> Callable[[], None]:
    return lambda: None


async def main(db: Path, hub_url: str, token_file: Path, seed: int, gate: bool) -> None:
    """Write and push until killed."""
    clock = SystemClock()
    GatedStore.gate = gate
    store = GatedStore.open(db, station_id=STATION, clock=clock, boot_id=new_id())
    say("ready")
    config = sync_config(hub_url, token_file, timeout_s=5.0)
    relay = SyncRelay(
        config,
        station_id=STATION,
        store=lambda: store,
        clock=clock,
        heartbeat=plain_heartbeat(store, clock),
        on_bundle=_accept,
    )
    relay.client = HubClient(hub_url, STATION, read_secret_file(token_file), timeout_s=config.timeout_s)
    rng = random.Random(seed)
    while True:
        records = store.append_many(some_events(rng.randint(1, 60), rng))
        say(f"wrote {records[-1].seq}")
        wait = await relay.round()
        say(f"round {wait:.3f}")


if __name__ == "__main__":
    db_arg, url_arg, token_arg, seed_arg, mode = sys.argv[1:6]
    asyncio.run(main(Path(db_arg), url_arg, Path(token_arg), int(seed_arg), mode == "gate"))
