"""The events outbox as rows: the SQL the store runs and pure conversions between rows and records.

Kept apart from the connection handling so the hot path is plain prepared statements on the raw
``sqlite3`` connection (parsed once, then reused from the connection's statement cache), and so the
conversions can be tested without a database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kiosk.core.errors import StoreError
from kiosk.core.events import Event, EventRecord

COLUMNS = "id, station_id, seq, type, payload, boot_id, mono, wall, wall_synced"
"""The columns an :class:`EventRecord` is made of, in its field order."""

INSERT_EVENT = f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - constant text
"""Insert one record row."""

ENSURE_COUNTER = "INSERT OR IGNORE INTO seq_counter (station_id, last_seq) VALUES (?, 0)"
"""Create a station's counter at 0 if it has none yet."""

BUMP_SEQ = "UPDATE seq_counter SET last_seq = last_seq + ? WHERE station_id = ? RETURNING last_seq"
"""Reserve the next ``n`` seqs inside the caller's write transaction; returns the last one reserved."""

LAST_SEQ = "SELECT last_seq FROM seq_counter WHERE station_id = ?"
"""The last seq handed out to a station."""

SELECT_UNSYNCED = f"SELECT {COLUMNS} FROM events WHERE station_id = ? AND synced_at IS NULL ORDER BY seq LIMIT ?"  # noqa: S608
"""Unsynced records, oldest first (served by the partial index ``events_unsynced``)."""

MARK_SYNCED = "UPDATE events SET synced_at = ? WHERE id = ? AND synced_at IS NULL"
"""Mark one event synced; an event already marked keeps its first time."""

PRUNE_SYNCED = "DELETE FROM events WHERE synced_at IS NOT NULL AND synced_at < ?"
"""Remove synced events acknowledged before a cut-off; unsynced rows never match."""


def iso_utc(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC text (``2026-01-01T08:00:00.000000Z``).

    Always with microseconds, so text order is time order and ``synced_at < ?`` compares correctly;
    ``datetime.isoformat()`` drops the fraction when it is zero and would break that.
    """
    if moment.tzinfo is None:
        raise StoreError(f"a stored time must be timezone-aware, got naive {moment!r}")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is C code and several times faster than strftime; this is on the append hot path.
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_utc(text: str) -> datetime:
    """Read back what :func:`iso_utc` wrote."""
    return datetime.fromisoformat(text).astimezone(UTC)


def payload_json(payload: dict[str, Any]) -> str:
    """Compact JSON text of an event body (UTF-8 kept as is: riders' feedback is often Chinese)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def event_payload(event: Event) -> dict[str, Any]:
    """The body of ``event`` as JSON data, refusing things that are not registered event bodies."""
    if not isinstance(event, Event):
        raise StoreError(f"only event bodies (kiosk.core.events.Event) can be appended, got {type(event).__name__}")
    if not 3 <= len(type(event).TYPE) <= 64:
        raise StoreError(f"{type(event).__name__} has no usable TYPE; register it with @event_type")
    return event.payload()


def row_record(row: tuple[Any, ...]) -> EventRecord:
    """An :class:`EventRecord` from a row of :data:`COLUMNS`."""
    event_id, station_id, seq, type_name, payload, boot, mono, wall, wall_synced = row
    return EventRecord(
        id=event_id,
        station_id=station_id,
        seq=seq,
        type=type_name,
        payload=json.loads(payload),
        boot_id=boot,
        mono=mono,
        wall=parse_utc(wall),
        wall_synced=bool(wall_synced),
    )
