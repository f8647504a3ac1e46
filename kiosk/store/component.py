"""The station database as a component of the runtime, and a transaction that publishes its events once committed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import Clock
from kiosk.core.errors import StoreError
from kiosk.core.events import Event, EventRecord
from kiosk.store import Store, Transaction

log = logging.getLogger(__name__)

CommitListener = Callable[[list[EventRecord]], None]

RETENTION_EVERY_S = 3600.0


class StoreComponent:
    """The station database as a component: opens (check, move aside if corrupt, migrate) at start.

    Every append goes through here so that committed records reach ``on_commit`` (the live stream)
    only after they are durable.
    """

    name = "store"
    optional = False

    def __init__(
        self,
        path: Path,
        *,
        station_id: str,
        clock: Clock,
        boot_id: str,
        retention: timedelta,
        on_commit: CommitListener | None = None,
    ) -> None:
        self.path = path
        self.station_id = station_id
        self.clock = clock
        self.boot_id = boot_id
        self.retention = retention
        self.on_commit = on_commit
        self._store: Store | None = None
        self._retention_task: asyncio.Task[None] | None = None
        self.pruned_total = 0

    @property
    def store(self) -> Store:
        """The open store (StoreError before start or after close)."""
        if self._store is None:
            raise StoreError("the station database is not open")
        return self._store

    async def start(self) -> None:
        """Open the database and begin pruning old synced events periodically."""
        self._store = Store.open(self.path, station_id=self.station_id, clock=self.clock, boot_id=self.boot_id)
        self._retention_task = asyncio.create_task(self._retention_loop(), name="store-retention")

    async def _retention_loop(self) -> None:
        while True:
            self.prune()
            await asyncio.sleep(RETENTION_EVERY_S)

    def prune(self) -> int:
        """Prune synced events older than the retention age now; returns how many went."""
        if self._store is None:
            return 0
        try:
            removed = self._store.prune_synced(self.retention)
        except StoreError as exc:
            log.error("pruning synced events failed: %s", exc)
            return 0
        self.pruned_total += removed
        if removed:
            log.info("pruned %d synced events older than %s", removed, self.retention)
        return removed

    def _published(self, records: list[EventRecord]) -> list[EventRecord]:
        if self.on_commit is not None and records:
            try:
                self.on_commit(records)
            except Exception:  # the record is durable; a broken listener must not undo that
                log.exception("a commit listener failed")
        return records

    def append(self, event: Event) -> EventRecord:
        """Append one event in its own transaction and tell listeners."""
        return self._published([self.store.append(event)])[0]

    def append_many(self, events: Iterable[Event]) -> list[EventRecord]:
        """Append events in one transaction and tell listeners."""
        return self._published(self.store.append_many(list(events)))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[RecordingTransaction]:
        """A write transaction (state change + its events); listeners hear of the events after commit."""
        with self.store.transaction() as tx:
            recorder = RecordingTransaction(tx)
            yield recorder
        self._published(recorder.records)

    def events_since(self, since: int, limit: int) -> list[EventRecord]:
        """Stored events after ``since`` in seq order."""
        return list(self.store.events(since_seq=since, limit=limit))

    async def close(self) -> None:
        """Stop pruning and close the database (idempotent)."""
        task, self._retention_task = self._retention_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def get_status(self) -> dict[str, Any]:
        """The store's figures and, if the database was found corrupt at start, a loud warning."""
        if self._store is None:
            return {"open": False}
        stats = self._store.stats().as_dict()
        warnings: list[str] = []
        corruption = self._store.corruption
        if corruption is not None:
            warnings.append(
                f"the database was damaged and has been moved aside to {corruption.kept_as} "
                f"({corruption.problem}); a new one was started — keep the old file for recovery"
            )
        return {"open": True, **stats, "pruned_total": self.pruned_total, "warnings": warnings}


class RecordingTransaction:
    """Wraps a store transaction and remembers the records it appended, to publish them once committed."""

    def __init__(self, inner: Transaction) -> None:
        self._inner = inner
        self.records: list[EventRecord] = []

    @property
    def db(self) -> Database:
        """The sqlite-utils database inside the transaction."""
        return self._inner.db

    def append(self, event: Event) -> EventRecord:
        """Append and remember."""
        record = self._inner.append(event)
        self.records.append(record)
        return record

    def append_many(self, events: Iterable[Event]) -> list[EventRecord]:
        """Append several and remember them."""
        records = self._inner.append_many(events)
        self.records.extend(records)
        return records
