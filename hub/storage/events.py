"""Events: stored exactly once, placed in time, and the station's high-water mark and gaps.

**High water.** ``high_water_seq`` is the highest ``seq`` up to which the hub holds every event of the
station without a gap, counted from the *lowest seq the hub ever received* from that station (kept as
``first_seq``), not from 1: a station prunes synced events after a while, so a station registered with
a hub late (or moved to a new hub) starts somewhere above 1, and what it pruned before can never come.
Events below ``first_seq`` arriving later lower ``first_seq`` and the mark is recomputed from there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.anchoring import Anchor, TimeState, find_anchors, place, place_all
from hub.storage.append_only import screen, split_held
from hub.storage.base import StorageBase, dumps, epoch_ms, from_iso, iso
from hub.storage.db import Engine, Tx
from hub.storage.flags import add_flags
from hub.storage.pack_ingest import record_pack_readings
from hub.storage.points_apply import RIDER_EVENT_TYPES, apply_rider_events
from kiosk.core.battery_events import BATTERY_EVENT_TYPES
from kiosk.core.errors import StoreError
from kiosk.core.events import EventRecord

_SQLITE_ROWS_PER_INSERT = 500
"""13 values a row: 6,500 variables per statement, well under SQLite's limit of 32,766."""
_WALK_CHUNK = 5000

_COLUMNS = (
    "station_id, id, seq, type, payload, boot_id, mono, wall, wall_synced, corrected, corrected_ms, time_state,"
    " received_at"
)


class UnknownStation(StoreError):
    """No station with that id is registered."""


@dataclass(frozen=True)
class IngestResult:
    """What one batch did: ids newly stored, ids already held, and the station's high-water mark."""

    accepted: list[str]
    duplicates: list[str]
    high_water_seq: int
    refused: dict[str, str] = field(default_factory=dict)
    """Ids not stored, and why (see :mod:`hub.storage.append_only`); flagged on the fleet page."""


@dataclass(frozen=True)
class Gap:
    """A run of missing ``seq`` numbers (both ends included)."""

    first: int
    last: int

    @property
    def size(self) -> int:
        """How many events are missing."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class StoredEvent:
    """An event as the hub holds it: the record plus its corrected time."""

    record: EventRecord
    corrected: datetime
    time_state: TimeState


class EventsMixin(StorageBase):
    """Event ingest and the queries on events."""

    def ingest(self, station_id: str, events: Sequence[EventRecord]) -> IngestResult:
        """Store a batch of one station's events exactly once, in one transaction.

        Every id is accepted (stored now), a duplicate (the same event stored before) or refused (it would
        rewrite the station's log: :mod:`hub.storage.append_only`); the high-water mark is advanced over
        whatever is now contiguous. Raises :class:`UnknownStation` for an unknown id.
        """
        received = iso(self.now())
        with self.db.transaction() as tx:
            lock = " FOR UPDATE" if tx.engine is Engine.POSTGRES else ""  # SQLite's BEGIN IMMEDIATE locks all
            row = tx.one(f"SELECT first_seq, high_water_seq, max_seq FROM stations WHERE id = ?{lock}", (station_id,))  # noqa: S608 - only placeholders and constants are put in
            if row is None:
                raise UnknownStation(f"no station {station_id!r} is registered")
            first_seq, high_water, max_seq = row
            screened = screen(
                tx, station_id, events, first_seq=first_seq, high_water=int(high_water), max_seq=int(max_seq)
            )
            events = screened.candidates
            boots = sorted({e.boot_id for e in events})
            known = self._anchors(tx, station_id, boots)
            placed = place_all(events, known)
            rows = [_row(station_id, e, p.corrected, p.state, received) for e, p in zip(events, placed, strict=True)]
            stored = set(_insert(tx, station_id, rows)) if rows else set()
            accepted = [e.id for e in events if e.id in stored]
            duplicates = split_held(tx, station_id, [e for e in events if e.id not in stored], screened)
            # Applied in the transaction that stores them, and only when newly stored: exactly once.
            fresh = [e for e in events if e.id in stored and e.type in RIDER_EVENT_TYPES]
            if fresh:
                where = {e.id: p for e, p in zip(events, placed, strict=True) if e.id in stored}
                apply_rider_events(
                    tx,
                    station_id,
                    fresh,
                    now=from_iso(received),
                    placed=where,
                    utc_offset_minutes=self.utc_offset_minutes,
                )
            packs = [e for e in events if e.id in stored and e.type in BATTERY_EVENT_TYPES]
            if packs:
                where = {e.id: p for e, p in zip(events, placed, strict=True) if e.id in stored}
                record_pack_readings(tx, station_id, packs, where, from_iso(received))
            add_flags(tx, screened.flags, from_iso(received))
            self._record_anchors(tx, station_id, [e for e in events if e.id in stored], known)
            if accepted:
                seqs = [e.seq for e in events if e.id in stored]
                if first_seq is None or min(seqs) < first_seq:
                    first_seq = min(seqs)
                    high_water = first_seq - 1
                high_water = _walk(tx, station_id, int(high_water))
                tx.execute(
                    "UPDATE stations SET first_seq = ?, high_water_seq = ?, max_seq = ?,"
                    " event_count = event_count + ?, last_event_at = ? WHERE id = ?",
                    (first_seq, high_water, max(int(max_seq), *seqs), len(accepted), received, station_id),
                )
        return IngestResult(accepted, duplicates, int(high_water), screened.refused)

    def _anchors(self, tx: Tx, station_id: str, boots: Sequence[str]) -> dict[str, Anchor]:
        if not boots:
            return {}
        marks = ", ".join("?" for _ in boots)
        rows = tx.execute(
            f"SELECT boot_id, seq, mono, wall FROM boot_anchors WHERE station_id = ? AND boot_id IN ({marks})",  # noqa: S608 - only placeholders and constants are put in
            (station_id, *boots),
        )
        return {boot: Anchor(boot, int(seq), float(mono), from_iso(wall)) for boot, seq, mono, wall in rows}

    def _record_anchors(self, tx: Tx, station_id: str, events: Sequence[EventRecord], known: dict[str, Anchor]) -> None:
        """Store the anchors this batch brought and re-place the boot's events held unanchored so far."""
        new = {boot: a for boot, a in find_anchors(events).items() if boot not in known}
        for boot, anchor in new.items():
            tx.execute(
                "INSERT INTO boot_anchors (station_id, boot_id, seq, mono, wall) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (station_id, boot_id) DO NOTHING",
                (station_id, boot, anchor.seq, anchor.mono, iso(anchor.wall)),
            )
            waiting = tx.execute(
                "SELECT id, seq, mono, wall FROM events WHERE station_id = ? AND boot_id = ? AND time_state = ?",
                (station_id, boot, TimeState.UNANCHORED.value),
            )
            updates = []
            for event_id, seq, mono, wall in waiting:
                stub = _Stub(int(seq), boot, float(mono), from_iso(wall), False)
                placed = place(stub, anchor)
                updates.append(
                    (iso(placed.corrected), epoch_ms(placed.corrected), placed.state.value, station_id, event_id)
                )
            tx.executemany(
                "UPDATE events SET corrected = ?, corrected_ms = ?, time_state = ? WHERE station_id = ? AND id = ?",
                updates,
            )

    def gaps(self, station_id: str, limit: int = 20) -> list[Gap]:
        """The first ``limit`` runs of missing ``seq`` above the high-water mark."""
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT high_water_seq FROM stations WHERE id = ?", (station_id,))
            if row is None:
                raise UnknownStation(f"no station {station_id!r} is registered")
            rows = tx.execute(
                "SELECT seq + 1, next_seq - 1 FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next_seq"
                " FROM events WHERE station_id = ? AND seq >= ?) AS t WHERE next_seq > seq + 1 ORDER BY seq LIMIT ?",
                (station_id, int(row[0]), limit),
            )
        return [Gap(int(a), int(b)) for a, b in rows]

    def events(self, station_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """A station's stored events in ``seq`` order (for tests, exports and tools)."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT id, seq, type, payload, boot_id, mono, wall, wall_synced, corrected, time_state"
                " FROM events WHERE station_id = ? AND seq > ? ORDER BY seq, id LIMIT ?",
                (station_id, after_seq, limit),
            )
        out = []
        for event_id, seq, type_, payload, boot, mono, wall, synced, corrected, state in rows:
            record = EventRecord.model_validate_json(
                dumps(
                    {
                        "id": event_id,
                        "station_id": station_id,
                        "seq": seq,
                        "type": type_,
                        "payload": json.loads(payload),
                        "boot_id": boot,
                        "mono": mono,
                        "wall": wall,
                        "wall_synced": bool(synced),
                    }
                )
            )
            out.append(StoredEvent(record, from_iso(corrected), TimeState(state)))
        return out

    def event_count(self, station_id: str | None = None) -> int:
        """How many events the hub holds (of one station, or of all)."""
        with self.db.transaction(write=False) as tx:
            if station_id is None:
                row = tx.one("SELECT COUNT(*) FROM events")
            else:
                row = tx.one("SELECT COUNT(*) FROM events WHERE station_id = ?", (station_id,))
        return int(row[0]) if row else 0


@dataclass(frozen=True)
class _Stub:
    seq: int
    boot_id: str
    mono: float
    wall: datetime
    wall_synced: bool


def _row(station_id: str, e: EventRecord, corrected: datetime, state: TimeState, received: str) -> tuple[Any, ...]:
    return (
        station_id,
        e.id,
        e.seq,
        e.type,
        dumps(e.payload),
        e.boot_id,
        e.mono,
        iso(e.wall),
        1 if e.wall_synced else 0,
        iso(corrected),
        epoch_ms(corrected),
        state.value,
        received,
    )


def _insert(tx: Tx, station_id: str, rows: list[tuple[Any, ...]]) -> list[str]:
    """Insert rows, skipping ids already held; the ids actually inserted."""
    if tx.engine is Engine.POSTGRES:
        # One statement for the whole batch: arrays unnested server-side are far faster than row-by-row.
        columns = list(zip(*rows, strict=True))[1:12]
        sql = (
            f"INSERT INTO events ({_COLUMNS}) SELECT %s, u.*, %s FROM unnest("  # noqa: S608 - only placeholders and constants are put in
            "%b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::float8[], %b::text[], %b::int2[],"
            " %b::text[], %b::bigint[], %b::text[]) AS u ON CONFLICT (station_id, id) DO NOTHING RETURNING id"
        )  # the arrays bound in binary (%b): in text psycopg escapes every element with a regular expression
        cur = tx.conn.execute(sql, (station_id, rows[0][12], *[list(c) for c in columns]))
        return [r[0] for r in cur.fetchall()]
    inserted: list[str] = []
    for start in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
        chunk = rows[start : start + _SQLITE_ROWS_PER_INSERT]
        values = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in chunk)
        flat = [value for row in chunk for value in row]
        found = tx.execute(
            f"INSERT INTO events ({_COLUMNS}) VALUES {values} ON CONFLICT (station_id, id) DO NOTHING RETURNING id",  # noqa: S608 - only placeholders and constants are put in
            flat,
        )
        inserted.extend(r[0] for r in found)
    return inserted


def _walk(tx: Tx, station_id: str, high_water: int) -> int:
    """Advance the high-water mark over every contiguous ``seq`` above it."""
    while True:
        rows = tx.execute(
            "SELECT DISTINCT seq FROM events WHERE station_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (station_id, high_water, _WALK_CHUNK),
        )
        for (seq,) in rows:
            if int(seq) != high_water + 1:
                return high_water
            high_water += 1
        if len(rows) < _WALK_CHUNK:
            return high_water
