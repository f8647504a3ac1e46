"""One database layer, two engines: a SQLite file (the default) or PostgreSQL by URL (psycopg 3).

Queries are written once, in the subset of SQL both engines speak (``ON CONFLICT``, ``RETURNING``,
window functions, ``DOUBLE PRECISION``/``BIGINT``/``TEXT`` columns) with ``?`` placeholders, which are
turned into psycopg's ``%s`` for PostgreSQL. Only the bulk event insert differs by engine, for speed.

Connections come from a small pool, one per request thread at a time: a SQLite connection is not
shared between threads while in use, and a PostgreSQL connection runs one transaction at a time.
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import logging
import os
import queue
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from kiosk.core.errors import StoreError

log = logging.getLogger(__name__)

Row = tuple[Any, ...]


class StorageUnavailable(StoreError):
    """The database cannot be reached right now (the hub answers 503 and the station retries)."""


class Engine(enum.Enum):
    """The database engines the hub runs on."""

    SQLITE = "sqlite"
    POSTGRES = "postgres"


def engine_of(target: str) -> Engine:
    """Which engine a ``--db`` value means: a ``postgresql://`` URL, or else a SQLite file path."""
    return Engine.POSTGRES if target.startswith(("postgresql://", "postgres://")) else Engine.SQLITE


class Tx:
    """One open transaction: run statements, get rows back."""

    def __init__(self, engine: Engine, conn: Any) -> None:
        self.engine = engine
        self.conn = conn

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.engine is Engine.POSTGRES else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; its rows (empty for statements that return none)."""
        cur = self.conn.execute(self._sql(sql), tuple(params))
        if cur.description is None:
            return []
        return [tuple(row) for row in cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""
        if not rows:
            return
        if self.engine is Engine.POSTGRES:
            with self.conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            self.conn.executemany(sql, rows)


class Database:
    """A pool of connections to one database, handing out transactions."""

    def __init__(self, target: str, *, pool_size: int = 8) -> None:
        self.target = target
        self.engine = engine_of(target)
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._closed = False
        if self.engine is Engine.SQLITE:
            if target != ":memory:":
                private_file(Path(target).expanduser())
        else:
            _psycopg()  # fail now, clearly, when the driver is missing

    @property
    def description(self) -> str:
        """Where the data lives, without any password."""
        if self.engine is Engine.SQLITE:
            return f"SQLite {self.target}"
        head, _, tail = self.target.partition("@")
        return f"PostgreSQL {head.split('//')[0]}//…@{tail}" if tail else f"PostgreSQL {self.target}"

    def _connect(self) -> Any:
        if self.engine is Engine.SQLITE:
            conn = sqlite3.connect(self.target, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit the hub acknowledged must survive power loss, because the station may prune
            # what the hub has acknowledged (WAL+NORMAL can lose the last commits).
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        psycopg = _psycopg()
        try:
            return psycopg.connect(self.target, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"cannot connect to {self.description}: {exc}") from exc

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """A transaction on a pooled connection: committed on success, rolled back on any exception.

        On SQLite a writing transaction starts with ``BEGIN IMMEDIATE``, so writers queue for the lock up
        front instead of failing half-way with "database is locked".
        """
        if self._closed:
            raise StorageUnavailable("the database is closed")
        if not self._slots.acquire(timeout=30):
            raise StorageUnavailable("all database connections are busy")
        conn: Any = None
        try:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                conn = self._connect()
            with self._begin(conn, write):
                yield Tx(self.engine, conn)
            self._pool.put(conn)
        except BaseException as exc:
            if conn is not None and not _is_broken(self.engine, conn):
                self._pool.put(conn)
            elif conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            if self.engine is Engine.POSTGRES and isinstance(exc, _psycopg().OperationalError):
                raise StorageUnavailable(f"{self.description}: {exc}") from exc
            raise
        finally:
            self._slots.release()

    @contextlib.contextmanager
    def _begin(self, conn: Any, write: bool) -> Iterator[None]:
        if self.engine is Engine.POSTGRES:
            with conn.transaction():
                yield
            return
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every pooled connection (safe twice)."""
        self._closed = True
        while True:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                return
            with contextlib.suppress(Exception):
                conn.close()


def private_file(path: Path) -> None:
    """Make sure the database file exists readable by its owner only (0600), in a 0700 folder if made now.

    Whatever the umask: the file holds station token hashes and the (encrypted) signing keys, and SQLite
    gives its ``-wal`` and ``-shm`` files the database file's mode. A file or folder that already exists
    open to others is tightened (the file) or reported (the folder, which may be shared).
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)  # the mode given to mkdir() is narrowed by the umask, never widened
    elif stat.S_IMODE(folder.stat().st_mode) & 0o007:
        log.warning("the hub database's folder %s is open to every local user; chmod 700 it", folder)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:  # a new file never is (0600 narrowed by the umask): an older one open to others
            os.fchmod(fd, 0o600)
            log.warning("the hub database %s was mode %04o; it is 0600 now", path, mode)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(side.stat().st_mode) & 0o077:
                os.chmod(side, 0o600)


def _is_broken(engine: Engine, conn: Any) -> bool:
    if engine is Engine.POSTGRES:
        return bool(conn.closed or conn.broken)
    return False


def _psycopg() -> Any:
    try:
        # Imported by name: psycopg is an optional extra, and a SQLite hub must not need it.
        return importlib.import_module("psycopg")
    except ImportError as exc:
        raise StorageUnavailable("PostgreSQL storage needs psycopg 3: pip install 'station-kiosk[postgres]'") from exc
