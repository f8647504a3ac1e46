"""Versioned schema migrations, one list for both engines.

Each migration is a list of statements in the SQL both SQLite and PostgreSQL accept (SQLite reads
``DOUBLE PRECISION`` and ``BIGINT`` by their affinity). Migrations run in order, each in its own
transaction together with the bump of ``schema_version``, so a failed one leaves the previous version.
Never edit a released migration: add the next one.
"""

from __future__ import annotations

from hub.storage.db import Database
from kiosk.core.errors import StoreError

MIGRATIONS: list[list[str]] = [
    # 1: stations, events, heartbeats, keys, revocations, content, API keys, operators.
    [
        """CREATE TABLE stations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            name_en TEXT NOT NULL,
            latitude DOUBLE PRECISION,
            longitude DOUBLE PRECISION,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            first_seq BIGINT,
            high_water_seq BIGINT NOT NULL DEFAULT 0,
            max_seq BIGINT NOT NULL DEFAULT 0,
            event_count BIGINT NOT NULL DEFAULT 0,
            last_event_at TEXT
        )""",
        """CREATE TABLE events (
            station_id TEXT NOT NULL REFERENCES stations (id),
            id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            type TEXT NOT NULL,
            payload TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            mono DOUBLE PRECISION NOT NULL,
            wall TEXT NOT NULL,
            wall_synced SMALLINT NOT NULL,
            corrected TEXT NOT NULL,
            corrected_ms BIGINT NOT NULL,
            time_state TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (station_id, id)
        )""",
        "CREATE INDEX events_station_seq ON events (station_id, seq)",
        "CREATE INDEX events_type_time ON events (type, corrected_ms)",
        "CREATE INDEX events_unanchored ON events (station_id, boot_id, time_state)",
        """CREATE TABLE boot_anchors (
            station_id TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            mono DOUBLE PRECISION NOT NULL,
            wall TEXT NOT NULL,
            PRIMARY KEY (station_id, boot_id)
        )""",
        """CREATE TABLE heartbeats (
            station_id TEXT PRIMARY KEY REFERENCES stations (id),
            received_at TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE signing_keys (
            kid TEXT PRIMARY KEY,
            private_pem TEXT NOT NULL,
            public_key TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            valid_until TEXT,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE revocations (
            rider_id TEXT PRIMARY KEY,
            revoked_at TEXT NOT NULL,
            reason TEXT NOT NULL
        )""",
        """CREATE TABLE content (
            name TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE api_keys (
            name TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE operators (
            name TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    ],
]

LATEST_VERSION = len(MIGRATIONS)
"""The schema version this hub writes."""


def schema_version(db: Database) -> int:
    """The version the database is at (0 for an empty one)."""
    with db.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = tx.one("SELECT MAX(version) FROM schema_version")
    return int(row[0]) if row and row[0] is not None else 0


def migrate(db: Database) -> int:
    """Bring the schema to :data:`LATEST_VERSION`; returns the number of migrations applied.

    A database newer than this hub is refused rather than written with an older idea of the schema.
    """
    current = schema_version(db)
    if current > LATEST_VERSION:
        raise StoreError(f"the database is at schema version {current}, newer than this hub ({LATEST_VERSION})")
    for version in range(current + 1, LATEST_VERSION + 1):
        with db.transaction() as tx:
            for statement in MIGRATIONS[version - 1]:
                tx.execute(statement)
            tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return LATEST_VERSION - current
