"""Versioned schema migrations: ``PRAGMA user_version`` says where a file is, each step moves it one on.

A step is a function that changes the schema of a :class:`sqlite_utils.Database`; :func:`migrate` runs
every step above the file's version, each in its own ``BEGIN IMMEDIATE`` transaction together with the
new ``user_version``, so a crash or an error leaves the file at the last whole version, never between.

To change the schema, append a :class:`Migration` with the next version number to :data:`MIGRATIONS`
(never edit a released step) and add sample rows for it in ``tests/test_store_migrations.py``; the test
there builds a file at every older version and migrates it to the newest.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from kiosk.core.errors import StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    """One step of the schema: from ``version - 1`` to ``version``."""

    version: int
    """The schema version this step produces (the first step produces 1)."""
    summary: str
    """What the step adds, in a few words (shown in logs)."""
    apply: Callable[[Database], None]
    """Changes the schema; runs inside a transaction the runner opens and commits."""


def _v1_events_outbox(db: Database) -> None:
    # The outbox. Written by hand rather than through create_table: the constraints are the point.
    db.execute(
        """
        CREATE TABLE events (
            id          TEXT PRIMARY KEY,
            station_id  TEXT NOT NULL,
            seq         INTEGER NOT NULL CHECK (seq >= 1),
            type        TEXT NOT NULL,
            payload     TEXT NOT NULL,
            boot_id     TEXT NOT NULL,
            mono        REAL NOT NULL,
            wall        TEXT NOT NULL,
            wall_synced INTEGER NOT NULL CHECK (wall_synced IN (0, 1)),
            synced_at   TEXT NULL,
            UNIQUE (station_id, seq)
        )
        """
    )
    # Partial index: only unsynced rows are in it, so the relay's lookup stays small however long
    # the synced history is, and marking an event synced removes it from the index.
    db.execute("CREATE INDEX events_unsynced ON events (station_id, seq) WHERE synced_at IS NULL")
    # The last seq given out per station. Not max(seq): synced events are pruned, and a seq must
    # never be handed out twice, or the hub would take a new event for a duplicate.
    db.table("seq_counter").create({"station_id": str, "last_seq": int}, pk="station_id", not_null={"last_seq"})


def _v2_settings_sync_state(db: Database) -> None:
    db.table("settings").create({"key": str, "value": str}, pk="key")
    db.table("sync_state").create({"key": str, "value": str}, pk="key")


def _v3_swaps_nonces_bays(db: Database) -> None:
    # One row per swap; ``record`` is the state machine's SwapRecord as JSON, written before every
    # physical command, so a restart knows exactly what was in flight.
    db.execute(
        """
        CREATE TABLE swaps (
            id          TEXT PRIMARY KEY,
            rider_id    TEXT NOT NULL,
            state       TEXT NOT NULL,
            outcome     TEXT NULL,
            record      TEXT NOT NULL,
            started     TEXT NOT NULL,
            updated     TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX swaps_in_flight ON swaps (state) WHERE outcome IS NULL")
    db.execute("CREATE INDEX swaps_rider ON swaps (rider_id, outcome, updated)")
    # A code's nonce is accepted once per station.
    db.execute(
        """
        CREATE TABLE code_nonces (
            nonce     TEXT PRIMARY KEY,
            rider_id  TEXT NOT NULL,
            scope     TEXT NOT NULL,
            used      TEXT NOT NULL
        )
        """
    )
    # Bays taken out of service, by the station (a lock that would not open) or by staff.
    db.execute(
        """
        CREATE TABLE bays_out_of_service (
            bay       INTEGER PRIMARY KEY,
            reason    TEXT NOT NULL,
            since     TEXT NOT NULL
        )
        """
    )


def _v4_rider_services(db: Database) -> None:
    # The station's own record of points moves, for the balance it shows and the offline cap. The hub's
    # ledger is the truth; ``seq`` (the event that recorded the entry) tells which entries a bundle's
    # balance already holds. A cancellation is its own row (``ref`` = the spend), with its own seq.
    db.execute(
        """
        CREATE TABLE points_ledger (
            entry_id    TEXT PRIMARY KEY,
            rider_id    TEXT NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('earned', 'spent', 'cancelled')),
            rule        TEXT NULL,
            item_id     TEXT NULL,
            points      INTEGER NOT NULL CHECK (points >= 1),
            bay         INTEGER NULL,
            confirmed   INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
            seq         INTEGER NOT NULL,
            wall        TEXT NOT NULL,
            day         TEXT NOT NULL,
            ref         TEXT NULL
        )
        """
    )
    db.execute("CREATE INDEX points_ledger_rider ON points_ledger (rider_id, day)")
    # The day's check-in is credited once per rider and station-local day, whatever the scope of the code.
    db.execute(
        """
        CREATE TABLE checkins (
            entry_id    TEXT PRIMARY KEY,
            rider_id    TEXT NOT NULL,
            day         TEXT NOT NULL,
            UNIQUE (rider_id, day)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE bookings (
            booking_id  TEXT PRIMARY KEY,
            rider_id    TEXT NOT NULL,
            service_id  TEXT NOT NULL,
            slot_id     TEXT NOT NULL,
            starts      TEXT NULL,
            status      TEXT NOT NULL,
            note        TEXT NOT NULL DEFAULT '',
            updated     TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX bookings_rider ON bookings (rider_id)")
    db.execute(
        """
        CREATE TABLE goods_stock (
            bay         INTEGER PRIMARY KEY,
            item_id     TEXT NOT NULL,
            count       INTEGER NOT NULL CHECK (count >= 0),
            updated     TEXT NOT NULL
        )
        """
    )
    # A correction (a spend the hub rejected) is shown to its rider once, not at every visit.
    db.execute("CREATE TABLE shown_corrections (entry_id TEXT PRIMARY KEY, shown TEXT NOT NULL)")
    # The bundle itself (content, balances, bookings) is kept where the sync relay keeps it: settings.bundle.


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events outbox and seq counter", _v1_events_outbox),
    Migration(2, "settings and sync state", _v2_settings_sync_state),
    Migration(3, "swaps, used code nonces, bays out of service", _v3_swaps_nonces_bays),
    Migration(4, "points ledger, check-ins, bookings, goods stock, shown corrections", _v4_rider_services),
)
"""Every step, oldest first; versions run 1, 2, 3 … without gaps."""

LATEST_VERSION: int = MIGRATIONS[-1].version
"""The schema version this software writes."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The file's schema version (``PRAGMA user_version``; 0 for a new file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _check_steps(steps: Sequence[Migration]) -> None:
    for expected, step in enumerate(steps, start=1):
        if step.version != expected:
            raise StoreError(f"migration steps must be numbered 1, 2, 3 …; step #{expected} says {step.version}")


def migrate(db: Database, steps: Sequence[Migration] = MIGRATIONS, upto: int | None = None) -> int:
    """Bring the file to version ``upto`` (default: the last step) and return the version reached.

    Each step runs in its own transaction with its ``user_version``. A step that fails is rolled back
    and raised as :class:`StoreError`; the steps before it stay applied. A file newer than this
    software is refused rather than touched.
    """
    _check_steps(steps)
    target = steps[-1].version if upto is None else upto
    if not 0 <= target <= len(steps):
        raise StoreError(f"cannot migrate to version {target}: known versions are 0 to {len(steps)}")
    conn = db.conn
    current = schema_version(conn)
    if current > len(steps):
        raise StoreError(
            f"the database is at schema version {current}, newer than this software knows ({len(steps)}); "
            "it was written by a newer release — install that release or restore a matching backup"
        )
    for step in steps[current:target]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock: re-read inside it.
            if schema_version(conn) >= step.version:
                conn.execute("ROLLBACK")
                continue
            step.apply(db)
            # user_version lives in the file header, so it commits or rolls back with the step.
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, Exception) and not isinstance(exc, StoreError):
                raise StoreError(f"migration to schema version {step.version} ({step.summary}) failed: {exc}") from exc
            raise
        log.info("database schema migrated to version %d: %s", step.version, step.summary)
    return schema_version(conn)
