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
    # 2: the points ledger (one row per entry id, applied once), balances, riders seen per station, bookings,
    # feedback, and the answers given to live spends (so a repeated request gets the same answer).
    [
        """CREATE TABLE rider_points (
            rider_id TEXT PRIMARY KEY,
            balance BIGINT NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE ledger (
            entry_id TEXT PRIMARY KEY,
            n BIGINT NOT NULL,
            rider_id TEXT NOT NULL,
            station_id TEXT,
            kind TEXT NOT NULL,
            points BIGINT NOT NULL,
            status TEXT NOT NULL,
            at TEXT NOT NULL,
            at_ms BIGINT NOT NULL,
            rule TEXT,
            item_id TEXT,
            day TEXT,
            reason TEXT NOT NULL DEFAULT '',
            event_id TEXT
        )""",
        "CREATE INDEX ledger_n ON ledger (n)",
        "CREATE INDEX ledger_rider ON ledger (rider_id, n)",
        "CREATE INDEX ledger_station ON ledger (station_id, n)",
        "CREATE INDEX ledger_at ON ledger (at_ms)",
        "CREATE INDEX ledger_rule_day ON ledger (rider_id, rule, day)",
        """CREATE TABLE spend_answers (
            entry_id TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            accepted SMALLINT NOT NULL,
            balance BIGINT NOT NULL,
            reason TEXT,
            at TEXT NOT NULL
        )""",
        """CREATE TABLE rider_stations (
            rider_id TEXT NOT NULL,
            station_id TEXT NOT NULL,
            last_seen_ms BIGINT NOT NULL,
            PRIMARY KEY (rider_id, station_id)
        )""",
        "CREATE INDEX rider_stations_station ON rider_stations (station_id, last_seen_ms)",
        """CREATE TABLE bookings (
            booking_id TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            rider_id TEXT NOT NULL,
            service_id TEXT NOT NULL,
            slot_id TEXT NOT NULL,
            starts TEXT,
            status TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            requested_at TEXT NOT NULL,
            requested_ms BIGINT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX bookings_station ON bookings (station_id, requested_ms)",
        "CREATE INDEX bookings_requested ON bookings (requested_ms)",
        "CREATE INDEX bookings_slot ON bookings (slot_id, status)",
        """CREATE TABLE feedback (
            feedback_id TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            rating SMALLINT NOT NULL,
            topic TEXT NOT NULL,
            text TEXT NOT NULL,
            rider_id TEXT,
            at TEXT NOT NULL,
            at_ms BIGINT NOT NULL
        )""",
        "CREATE INDEX feedback_at ON feedback (at_ms)",
        "CREATE INDEX feedback_station ON feedback (station_id, at_ms)",
    ],
    # 3: what the hub noticed a station doing wrong (flags), and the code nonces stations reported using.
    [
        """CREATE TABLE flags (
            flag_key TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            event_id TEXT,
            detail TEXT NOT NULL,
            at TEXT NOT NULL,
            at_ms BIGINT NOT NULL
        )""",
        "CREATE INDEX flags_at ON flags (at_ms)",
        "CREATE INDEX flags_station ON flags (station_id, at_ms)",
        """CREATE TABLE code_nonces (
            nonce TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            rider_id TEXT NOT NULL,
            at_ms BIGINT NOT NULL
        )""",
    ],
    # 4: safety alarms, received at once in their own request (the fleet view lists them first).
    [
        """CREATE TABLE alarms (
            id TEXT PRIMARY KEY,
            station_id TEXT NOT NULL REFERENCES stations (id),
            bay INTEGER,
            level TEXT NOT NULL,
            before_level TEXT NOT NULL,
            reasons TEXT NOT NULL,
            temperature_c DOUBLE PRECISION,
            wall TEXT NOT NULL,
            received_at TEXT NOT NULL,
            received_ms BIGINT NOT NULL
        )""",
        "CREATE INDEX alarms_received ON alarms (received_ms)",
    ],
    # 5: every API key has one role (keys made before are the rider app's: codes), an operator key names
    # its person; operators' browser sessions (kept here so every hub process knows them).
    [
        "ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'codes'",
        "ALTER TABLE api_keys ADD COLUMN operator TEXT",
        """CREATE TABLE operator_sessions (
            id_hash TEXT PRIMARY KEY,
            operator TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen TEXT NOT NULL
        )""",
        "CREATE INDEX operator_sessions_operator ON operator_sessions (operator, created_at)",
    ],
    # 6: the battery registry (the operator's), each event's pack readings, and a summary row per pack seen.
    [
        """CREATE TABLE batteries (
            id TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            chemistry TEXT NOT NULL,
            commissioned TEXT NOT NULL,
            retired TEXT,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX batteries_updated ON batteries (updated_at)",
        """CREATE TABLE battery_readings (
            station_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            battery_id TEXT NOT NULL,
            at_ms BIGINT NOT NULL,
            soh_pct DOUBLE PRECISION,
            cycles BIGINT,
            max_temp_c DOUBLE PRECISION,
            PRIMARY KEY (station_id, event_id, battery_id)
        )""",
        "CREATE INDEX battery_readings_pack ON battery_readings (battery_id, at_ms)",
        """CREATE TABLE packs_seen (
            battery_id TEXT PRIMARY KEY,
            first_seen_ms BIGINT NOT NULL,
            last_seen_ms BIGINT NOT NULL,
            last_station TEXT NOT NULL,
            soh_pct DOUBLE PRECISION,
            soh_ms BIGINT,
            cycles BIGINT,
            cycles_ms BIGINT,
            max_temp_c DOUBLE PRECISION,
            max_temp_ms BIGINT,
            readings BIGINT NOT NULL
        )""",
    ],
    # 7: which station first reported a pack, and when the hub added an unregistered one: a station may
    # add only so many never-seen, unregistered ids (hub/storage/pack_ingest.py).
    [
        "ALTER TABLE packs_seen ADD COLUMN first_station TEXT",
        "ALTER TABLE packs_seen ADD COLUMN added_ms BIGINT",
        "UPDATE packs_seen SET first_station = last_station WHERE battery_id NOT IN (SELECT id FROM batteries)",
        "UPDATE packs_seen SET added_ms = first_seen_ms WHERE first_station IS NOT NULL",
        "CREATE INDEX packs_seen_added ON packs_seen (first_station, added_ms)",
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
