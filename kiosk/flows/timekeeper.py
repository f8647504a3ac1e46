"""The station's trusted time as a component: what it has seen, kept in the store, handed to the code check.

Sources, newest wins (:mod:`kiosk.station.trusted_time`): the wall clock while NTP has it synchronised
(looked at every :data:`LOOK_EVERY_S`), the hub's answers (the sync relay calls :meth:`TimeKeeper.hub_time`
with a heartbeat's ``server_time`` and a fresh bundle's ``generated_at``), and at start the mark the store
kept from before — with its boot id, so a reboot carries it by the monotonic time since boot only.

The mark is written to the store every :data:`PERSIST_EVERY_S` of monotonic time (and at close): after a
power cut the station knows the time to within that, plus the time the power was off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from kiosk.core.clock import Clock
from kiosk.core.errors import KioskError
from kiosk.station.trusted_time import CodeTime, TimeMark, TimeSource, carried, code_time, newer, rebased
from kiosk.store.component import StoreComponent
from kiosk.store.timemark import read_time_mark, write_time_mark

log = logging.getLogger(__name__)

PERSIST_EVERY_S = 60.0
"""Monotonic seconds between writes of the trusted time (a power cut loses at most this much of it)."""
LOOK_EVERY_S = 1.0
"""Seconds between looks at the clocks (whether NTP has synchronised; whether a write is due)."""
NO_TRUSTED_TIME = (
    "this station has never seen a trusted time (no NTP, no answer from the hub): riders' codes are checked "
    "against its own clock, which may be wrong — connect it to the network once"
)


class TimeKeeper:
    """The newest trusted time this station has seen, carried by the monotonic clock and kept in the store."""

    name = "time"
    optional = False

    def __init__(self, *, clock: Clock, store: StoreComponent, boot_id: str) -> None:
        self.clock = clock
        self.store = store
        self.boot_id = boot_id
        self.mark: TimeMark | None = None
        """The newest trusted time seen (None: never)."""
        self._persisted_mono: float | None = None
        self._warnings: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the kept mark, look at the clock once, and begin looking every second."""
        text = read_time_mark(self.store.store)
        if text is not None:
            try:
                self.mark = TimeMark.from_json(text)
            except KioskError as exc:
                log.error("%s; waiting for NTP or the hub", exc)
        self.look()
        self._task = asyncio.create_task(self._loop(), name="trusted-time")

    async def close(self) -> None:
        """Stop looking and keep the mark (safe twice)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(KioskError):  # a store already closed: the last periodic write stands
            self._persist()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(LOOK_EVERY_S)
            try:
                self.look()
            except KioskError as exc:  # a store that cannot write now: the next look tries again
                log.warning("could not keep the trusted time: %s", exc)

    def look(self) -> None:
        """Take the wall clock as trusted while NTP has it synchronised; write the mark when it is due."""
        self._look_at_ntp()
        mono = self.clock.monotonic()
        due = self._persisted_mono is None or not 0 <= mono - self._persisted_mono < PERSIST_EVERY_S
        if self.mark is not None and due:
            self._persist()

    def hub_time(self, at: datetime) -> None:
        """The hub answered with its time ``at`` (over the station's authenticated, TLS-checked link).

        Kept in memory at once; written with the next look (within :data:`LOOK_EVERY_S`) when it is the first.
        """
        if self.mark is None:
            log.info("first trusted time, from the hub: %s", at.isoformat())
        self._see(TimeMark(at, self.clock.monotonic(), self.boot_id, TimeSource.HUB))

    def _look_at_ntp(self) -> None:
        if self.clock.wall_synced():
            self._see(TimeMark(self.clock.wall(), self.clock.monotonic(), self.boot_id, TimeSource.NTP))

    def _see(self, seen: TimeMark) -> None:
        self.mark = newer(self.mark, seen, boot_id=self.boot_id, mono=seen.mono)

    def _persist(self) -> None:
        if self.mark is None:
            return
        mono = self.clock.monotonic()
        kept = rebased(self.mark, boot_id=self.boot_id, mono=mono)
        with self.store.transaction() as tx:
            write_time_mark(tx, kept.to_json())
        self._persisted_mono = mono

    def code_time(self) -> CodeTime:
        """What riders' codes are checked against now (never writes: a check must not fail on the store)."""
        self._look_at_ntp()
        return code_time(
            self.mark,
            wall=self.clock.wall(),
            wall_synced=self.clock.wall_synced(),
            boot_id=self.boot_id,
            mono=self.clock.monotonic(),
        )

    def get_status(self) -> dict[str, Any]:
        """The trusted time now, where it came from, how far the wall clock is from it, and warnings."""
        mono = self.clock.monotonic()
        wall = self.clock.wall()
        if self.mark is None:
            return {"trusted_time": None, "source": None, "wall_off_s": None, "warnings": [NO_TRUSTED_TIME]}
        now = carried(self.mark, boot_id=self.boot_id, mono=mono)
        off = round((wall - now).total_seconds(), 1)
        warnings: list[str] = []
        if not self.clock.wall_synced() and abs(off) > 300:
            warnings.append(
                f"the wall clock is not synchronised and {abs(off) / 60:.0f} min off the last trusted time: "
                "codes are checked against the trusted time"
            )
        return {
            "trusted_time": now.isoformat(),
            "source": self.mark.source.value,
            "wall_off_s": off,
            "warnings": warnings,
        }
