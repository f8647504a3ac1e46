"""The station store: one SQLite file, one writer connection, events appended with the state they explain.

Usage::

    store = Store.open(path, station_id="sh-xuhui-001", clock=clock, boot_id=boot_id())
    with store.transaction() as tx:                     # BEGIN IMMEDIATE … COMMIT, ROLLBACK on error
        settings.write(tx, "k", "v")                    # a named statement of kiosk.store
        record = tx.append(SomeEvent(...))              # same transaction: both or neither
    store.append(event)                                 # an event alone, its own transaction

All use of the connection is serialised by one lock, so the sync relay's thread may read the outbox
while the asyncio loop writes. ``transaction()`` blocks are not nested: opening one inside another
raises :class:`StoreError` (a savepoint would let an inner block's events commit or vanish with the
outer one in ways that are easy to get wrong; one block per state change is the rule).

Only the modules of :mod:`kiosk.store` use ``store.db`` (the :class:`sqlite_utils.Database`): the rest of
the station calls their named statements (:mod:`kiosk.store.access`). Reads run from the thread that owns
the store (they bypass the lock); every write goes through a transaction. ``Store.open_readonly`` is for tools
(``kiosk db info|check|export``) that look at a file a running station may have open.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO

from sqlite_utils import Database

from kiosk.core.clock import Clock, SystemClock
from kiosk.core.errors import DatabaseCorrupt, StoreError
from kiosk.core.events import DatabaseMovedAside, Event, EventRecord
from kiosk.core.ids import new_id
from kiosk.store import files, outbox
from kiosk.store.migrations import LATEST_VERSION, migrate, schema_version
from kiosk.store.stats import Corruption, StoreStats

log = logging.getLogger(__name__)

_EXPORT_PAGE = 1000


class Transaction:
    """An open write transaction of the store; valid only inside its ``with store.transaction()`` block."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._open = True

    @property
    def db(self) -> Database:
        """The sqlite-utils view of the connection, for state-table changes inside this transaction."""
        self._check()
        return self._store.db

    def append(self, event: Event) -> EventRecord:
        """Add ``event`` to the outbox in this transaction; its seq is the next one, without gaps.

        The record is final only if the block commits; on rollback its seq is given out again.
        """
        self._check()
        return self._store._insert((event,))[0]

    def append_many(self, events: Iterable[Event]) -> list[EventRecord]:
        """Add several events, in order, with consecutive seqs."""
        self._check()
        return self._store._insert(tuple(events))

    def _check(self) -> None:
        if not self._open:
            raise StoreError("this transaction has ended; open a new one with store.transaction()")

    def _end(self) -> None:
        self._open = False


class Store:
    """The station's SQLite database: schema, the one writer, and the events outbox. Use :meth:`open`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        path: Path,
        station_id: str,
        clock: Clock,
        boot_id: str,
        corruption: Corruption | None,
        readonly: bool = False,
    ) -> None:
        """Wrap an already opened and migrated connection; :meth:`open` is the way to get one."""
        self._conn = conn
        self._db = Database(conn, execute_plugins=False)
        self._lock = threading.RLock()
        self._tx: Transaction | None = None
        self._closed = False
        self.path = path
        """The database file."""
        self.station_id = station_id
        """The station whose events this store writes."""
        self.clock = clock
        """Where record times come from."""
        self.boot_id = boot_id
        """Written into every record: ``mono`` is comparable only within one boot."""
        self.corruption = corruption
        """Set when a damaged file was found at open and moved aside (see :class:`Corruption`)."""
        self.readonly = readonly
        """True for :meth:`open_readonly`: every write is refused."""

    # --- opening and closing ------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, station_id: str, clock: Clock, boot_id: str) -> Store:
        """Open (or create) the database at ``path``, check it, and migrate it to the newest schema.

        A file that fails ``PRAGMA quick_check`` or is not a database at all is renamed to
        ``<name>.corrupt-<UTC timestamp>`` with its side files — kept, never deleted — and a new
        database is started; :attr:`corruption` then says so and a ``store.database_moved_aside``
        event is the new file's first record. Raises :class:`StoreError` when the file cannot be
        opened for another reason (permissions, locked, written by a newer release).
        """
        path = Path(path)
        _check_ids(station_id, boot_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {path.parent}: {exc}") from exc
        conn, problem = _open_checked(path)
        corruption: Corruption | None = None
        if conn is None:
            kept = files.move_aside(path, clock.wall())
            corruption = Corruption(kept_as=kept, problem=problem)
            log.error(
                "DATABASE DAMAGED: %s failed its check (%s); it was moved aside and kept as %s, and a NEW EMPTY "
                "database was started. Events not yet synced to the hub are in the kept file.",
                path,
                problem,
                kept,
            )
            try:
                conn = files.connect(path)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a new database at {path}: {exc}") from exc
        try:
            version = migrate(Database(conn, execute_plugins=False))
            # Create this station's counter up front so every append is one UPDATE … RETURNING.
            conn.execute(outbox.ENSURE_COUNTER, (station_id,))
        except BaseException:
            conn.close()
            raise
        store = cls(conn, path=path, station_id=station_id, clock=clock, boot_id=boot_id, corruption=corruption)
        if corruption is not None:
            store.append(DatabaseMovedAside(kept_as=str(corruption.kept_as), problem=corruption.problem))
        log.info("database %s open at schema version %d", path, version)
        return store

    @classmethod
    def open_readonly(cls, path: Path, *, station_id: str, clock: Clock | None = None) -> Store:
        """Open an existing database only to read it: for ``kiosk db info|check|export`` beside a running station.

        Never creates, migrates, checkpoints, moves or writes the file, so it is safe while kiosk-core
        has it open. Raises :class:`StoreError` when there is no station database at ``path`` (or one
        from a newer release), and :class:`DatabaseCorrupt` when the file is too damaged to read at all;
        lesser damage shows in :meth:`quick_check` / :meth:`integrity_check`.
        """
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"there is no database at {path}")
        try:
            conn = files.connect_readonly(path)
            version = schema_version(conn)
        except sqlite3.Error as exc:
            if isinstance(exc, sqlite3.DatabaseError) and files.is_corruption(exc):
                raise DatabaseCorrupt(f"the database {path} is damaged: {exc}") from exc
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        if not 1 <= version <= LATEST_VERSION:
            conn.close()
            if version == 0:
                raise StoreError(f"{path} is not a station database (it has no schema)")
            raise StoreError(f"{path} is at schema version {version}, newer than this software ({LATEST_VERSION})")
        return cls(
            conn,
            path=path,
            station_id=station_id,
            clock=clock or SystemClock(),
            boot_id="readonly",
            corruption=None,
            readonly=True,
        )

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back). Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    @property
    def db(self) -> Database:
        """The sqlite-utils view of the one connection: read freely, write only in a transaction."""
        self._check_open()
        return self._db

    @property
    def schema_version(self) -> int:
        """The file's schema version."""
        with self._lock:
            self._check_open()
            return schema_version(self._conn)

    # --- writing ------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` and re-raise if the block raises.

        Holds the store's lock for the whole block, so other threads wait. Raises :class:`StoreError`
        when called inside another ``transaction()`` block (not nestable, by design).
        """
        with self._lock:
            self._check_open()
            if self.readonly:
                raise StoreError(f"the store for {self.path} was opened read-only; it cannot write")
            if self._tx is not None:
                raise StoreError(
                    "store.transaction() is already open; transactions do not nest — "
                    "do the whole state change and its events in one block"
                )
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a write transaction on {self.path}: {exc}") from exc
            tx = Transaction(self)
            self._tx = tx
            try:
                yield tx
                self._conn.execute("COMMIT")
            except BaseException:
                # COMMIT itself may fail (disk full); a signal may also land just after it returned,
                # in which case there is nothing left to roll back.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                tx._end()
                self._tx = None

    def append(self, event: Event) -> EventRecord:
        """Append one event in its own transaction; returns the committed record."""
        with self.transaction() as tx:
            return tx.append(event)

    def append_many(self, events: Iterable[Event]) -> list[EventRecord]:
        """Append events in one transaction (all or none), with consecutive seqs."""
        with self.transaction() as tx:
            return tx.append_many(events)

    def _insert(self, events: Sequence[Event]) -> list[EventRecord]:
        """The hot path: reserve seqs and insert rows with prepared statements. Caller holds the transaction.

        Events appended together are one state change: they share one reading of the clock.
        Records are built with ``model_construct``: every field is already valid (bodies are
        validated models, station and boot ids were checked at open, the rest is ours), and
        re-validating each one would cost more than the rest of the Python work.
        """
        if not events:
            return []
        bodies = [outbox.event_payload(event) for event in events]
        wall = self.clock.wall()
        wall_text = outbox.iso_utc(wall)
        wall = outbox.parse_utc(wall_text)  # what reading the row back gives: records compare equal
        mono = float(self.clock.monotonic())
        synced = bool(self.clock.wall_synced())
        rows = self._conn.execute(outbox.BUMP_SEQ, (len(events), self.station_id)).fetchall()
        if not rows:
            raise StoreError(f"no seq counter for station {self.station_id!r}")  # open() creates it; never expected
        seq = int(rows[0][0]) - len(events)
        records: list[EventRecord] = []
        params: list[tuple[object, ...]] = []
        for event, body in zip(events, bodies, strict=True):
            seq += 1
            event_id = new_id()
            type_name = type(event).TYPE
            records.append(
                EventRecord.model_construct(
                    id=event_id,
                    station_id=self.station_id,
                    seq=seq,
                    type=type_name,
                    payload=body,
                    boot_id=self.boot_id,
                    mono=mono,
                    wall=wall,
                    wall_synced=synced,
                )
            )
            params.append(
                (
                    event_id,
                    self.station_id,
                    seq,
                    type_name,
                    outbox.payload_json(body),
                    self.boot_id,
                    mono,
                    wall_text,
                    synced,
                )
            )
        if len(params) == 1:
            self._conn.execute(outbox.INSERT_EVENT, params[0])
        else:
            self._conn.executemany(outbox.INSERT_EVENT, params)
        return records

    # --- the outbox, for the sync relay and the API -------------------------------------------

    def unsynced(self, limit: int) -> list[EventRecord]:
        """Up to ``limit`` events the hub has not acknowledged, lowest seq first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        with self._lock:
            self._check_open()
            rows = self._conn.execute(outbox.SELECT_UNSYNCED, (self.station_id, limit)).fetchall()
        return [outbox.row_record(row) for row in rows]

    def mark_synced(self, ids: Iterable[str], at: datetime) -> int:
        """Record that the hub acknowledged ``ids`` at ``at``; returns how many were newly marked.

        Unknown ids and ids already marked are skipped (the first acknowledgement time is kept).
        """
        stamp = outbox.iso_utc(at)
        params = [(stamp, event_id) for event_id in ids]
        if not params:
            return 0
        with self.transaction():
            before = self._conn.total_changes
            self._conn.executemany(outbox.MARK_SYNCED, params)
            return self._conn.total_changes - before

    def prune_synced(self, older_than: timedelta) -> int:
        """Delete events synced more than ``older_than`` ago (by the store's clock); returns how many.

        Unsynced events are never pruned; seq keeps counting from the counter, not from what is left.
        """
        if older_than < timedelta(0):
            raise ValueError(f"older_than must not be negative, got {older_than}")
        cutoff = outbox.iso_utc(self.clock.wall() - older_than)
        with self.transaction():
            removed = self._conn.execute(outbox.PRUNE_SYNCED, (cutoff,)).rowcount
        if removed:
            log.info("pruned %d synced events acknowledged before %s", removed, cutoff)
        return int(removed)

    def events(
        self, since_seq: int = 0, types: Iterable[str] | None = None, limit: int | None = None
    ) -> list[EventRecord]:
        """This station's events with ``seq > since_seq``, in seq order, optionally only of ``types``."""
        sql = f"SELECT {outbox.COLUMNS} FROM events WHERE station_id = ? AND seq > ?"  # noqa: S608 - constants only
        params: list[object] = [self.station_id, since_seq]
        if types is not None:
            wanted = list(types)
            if not wanted:
                return []
            sql += f" AND type IN ({', '.join('?' for _ in wanted)})"
            params.extend(wanted)
        sql += " ORDER BY seq"
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must not be negative, got {limit}")
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            self._check_open()
            rows = self._conn.execute(sql, params).fetchall()
        return [outbox.row_record(row) for row in rows]

    def export_jsonl(self, fp: IO[str], since_seq: int = 0) -> int:
        """Write this station's events after ``since_seq`` to ``fp``, one record's JSON per line; returns the count.

        Reads a page at a time, so a large outbox is never all in memory.
        """
        count = 0
        after = since_seq
        while True:
            page = self.events(since_seq=after, limit=_EXPORT_PAGE)
            for record in page:
                fp.write(record.model_dump_json())
                fp.write("\n")
            count += len(page)
            if len(page) < _EXPORT_PAGE:
                return count
            after = page[-1].seq

    # --- figures and checks -------------------------------------------------------------------

    def last_seq(self) -> int:
        """The last seq handed out to this station (0 before the first event)."""
        with self._lock:
            self._check_open()
            row = self._conn.execute(outbox.LAST_SEQ, (self.station_id,)).fetchone()
        return 0 if row is None else int(row[0])

    def stats(self) -> StoreStats:
        """A fresh snapshot of the store's figures."""
        with self._lock:
            self._check_open()
            total = self._conn.execute("SELECT count(*) FROM events WHERE station_id = ?", (self.station_id,))
            events_total = int(total.fetchone()[0])
            unsynced = self._conn.execute(
                "SELECT count(*), min(seq) FROM events WHERE station_id = ? AND synced_at IS NULL", (self.station_id,)
            ).fetchone()
            oldest: datetime | None = None
            if unsynced[1] is not None:
                wall = self._conn.execute(
                    "SELECT wall FROM events WHERE station_id = ? AND seq = ?", (self.station_id, unsynced[1])
                ).fetchone()
                oldest = outbox.parse_utc(wall[0])
            version = schema_version(self._conn)
            last = self.last_seq()
        size = sum(_size(Path(f"{self.path}{suffix}")) for suffix in ("", "-wal"))
        return StoreStats(
            schema_version=version,
            path=self.path,
            station_id=self.station_id,
            file_size_bytes=size,
            events_total=events_total,
            unsynced_count=int(unsynced[0]),
            oldest_unsynced_wall=oldest,
            last_seq=last,
            corruption=self.corruption,
        )

    def quick_check(self) -> str:
        """``PRAGMA quick_check``: "ok", or the problems found."""
        return self._check("quick_check")

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` (slower, thorough): "ok", or the problems found."""
        return self._check("integrity_check")

    def _check(self, pragma: str) -> str:
        with self._lock:
            self._check_open()
            try:
                return files.run_check(self._conn, pragma)
            except sqlite3.DatabaseError as exc:
                return str(exc)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store for {self.path} is closed")


def _check_ids(station_id: str, boot_id: str) -> None:
    """Refuse ids no record could carry, once at open, so the hot path need not validate each record."""
    try:
        EventRecord(
            id=new_id(),
            station_id=station_id,
            seq=1,
            type="store.probe",
            payload={},
            boot_id=boot_id,
            mono=0.0,
            wall=datetime(2026, 1, 1, tzinfo=UTC),
            wall_synced=False,
        )
    except ValueError as exc:
        raise StoreError(f"station id {station_id!r} or boot id {boot_id!r} cannot be stored: {exc}") from exc


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _open_checked(path: Path) -> tuple[sqlite3.Connection | None, str]:
    """Check, then connect: ``(conn, "ok")``, or ``(None, problem)`` when the file is damaged.

    Two checks: first read-only, which finds structural damage without letting SQLite checkpoint a
    ``-wal`` into a damaged file and delete it; then on the writer connection, because a read-only
    connection's quick_check skips CHECK constraints. A file that passed the first is sound enough
    that closing the writer (which checkpoints the ``-wal`` into it) moves data, never loses it.
    """
    conn: sqlite3.Connection | None = None
    try:
        problem = files.check_file(path) if path.exists() else "ok"
        if problem != "ok":
            return None, problem
        conn = files.connect(path)
        problem = files.run_check(conn, "quick_check")
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.DatabaseError) and files.is_corruption(exc):
            return None, str(exc)
        raise StoreError(f"cannot open the database {path}: {exc}") from exc
    if problem != "ok":
        conn.close()
        return None, problem
    return conn, "ok"
