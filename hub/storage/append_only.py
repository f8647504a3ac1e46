"""A station's log is append-only at the hub: what ``ingest`` refuses, and why.

- **A seq is never reused.** A new event id whose seq the hub already holds for another event of the
  station is refused and flagged (:attr:`FlagKind.SEQ_REUSED`): the first event stays the record.
- **An event never changes.** A known id sent again with the same content is a duplicate (acknowledged
  as such, the way a resent batch is); with different content it is refused and flagged
  (:attr:`FlagKind.PAYLOAD_CHANGED`), and the hub keeps what it first received.
- **A seq stays near the station's log.** A seq more than :data:`SEQ_WINDOW` beyond the station's
  high-water mark (for a station the hub holds nothing of yet: beyond the lowest seq of that first batch),
  or above :data:`MAX_STORED_SEQ`, is refused and flagged (:attr:`FlagKind.SEQ_OUT_OF_RANGE`): a station
  writes a few thousand events a day, and a seq near 2**63 would break the arithmetic of the gap queries.

Refused events are not stored; the answer lists them with the reason (``BatchAck.refused``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.storage.base import iso
from hub.storage.db import Engine, Tx
from hub.storage.flags import Flag, FlagKind
from kiosk.core.events import EventRecord

SEQ_WINDOW = 1_000_000
"""How far beyond its high-water mark a station's seq may be (years of events of a busy station)."""
MAX_STORED_SEQ = 2**53 - 1
"""The largest seq the hub stores: exact in every JSON reader, far from 64-bit overflow."""
_SQLITE_CHUNK = 10_000


@dataclass
class Screened:
    """A batch sorted by what may happen to each event."""

    candidates: list[EventRecord] = field(default_factory=list)
    """Events that may be stored (their id may still turn out to be held: see :func:`split_held`)."""
    refused: dict[str, str] = field(default_factory=dict)
    """Event id -> why it is refused."""
    flags: list[Flag] = field(default_factory=list)


def screen(
    tx: Tx,
    station_id: str,
    events: Sequence[EventRecord],
    *,
    first_seq: int | None,
    high_water: int,
    max_seq: int,
) -> Screened:
    """Refuse the events out of the seq range and the new ids that reuse a held seq."""
    out = Screened()
    base = high_water if first_seq is not None else min(e.seq for e in events) - 1
    limit = min(base + SEQ_WINDOW, MAX_STORED_SEQ)
    in_range = []
    for e in events:
        if e.seq > limit:
            why = (
                f"seq {e.seq} is more than {SEQ_WINDOW} beyond the station's high-water mark {base}"
                if e.seq <= MAX_STORED_SEQ
                else f"seq {e.seq} is above {MAX_STORED_SEQ}, the largest the hub stores"
            )
            out.refused[e.id] = why
            out.flags.append(Flag(station_id, FlagKind.SEQ_OUT_OF_RANGE, e.id, why))
        else:
            in_range.append(e)
    # Only a seq at or below the highest one held can be taken: the usual batch (all new) costs no query.
    held = _ids_at_seqs(tx, station_id, sorted({e.seq for e in in_range if e.seq <= max_seq}))
    for e in in_range:
        others = held.get(e.seq, set())
        if others and e.id not in others:
            why = f"seq {e.seq} is already event {min(others)} of this station; a station's log is append-only"
            out.refused[e.id] = why
            out.flags.append(Flag(station_id, FlagKind.SEQ_REUSED, e.id, why))
        else:
            out.candidates.append(e)
    return out


def split_held(tx: Tx, station_id: str, events: Sequence[EventRecord], out: Screened) -> list[str]:
    """Of ``events`` (ids the insert found held), the duplicates; changed ones go to ``out`` refused and flagged."""
    if not events:
        return []
    rows = _held_rows(tx, station_id, [e.id for e in events])
    duplicates = []
    for e in events:
        difference = changed(e, rows[e.id]) if e.id in rows else "it is held by another station"
        if difference is None:
            duplicates.append(e.id)
        else:
            why = f"event {e.id} was received before with other content ({difference}); the first one stays"
            out.refused[e.id] = why
            out.flags.append(Flag(station_id, FlagKind.PAYLOAD_CHANGED, e.id, why))
    return duplicates


def changed(event: EventRecord, row: Sequence[Any]) -> str | None:
    """Which part of ``event`` differs from the stored row (None: it is the same event)."""
    seq, type_, payload, boot, mono, wall, synced = row
    checks = (
        ("seq", int(seq) == event.seq),
        ("type", type_ == event.type),
        ("payload", json.loads(payload) == event.payload),
        ("boot_id", boot == event.boot_id),
        ("mono", float(mono) == event.mono),
        ("wall", wall == iso(event.wall)),
        ("wall_synced", bool(synced) == event.wall_synced),
    )
    different = [name for name, same in checks if not same]
    return ", ".join(different) + " differ" if different else None


def _ids_at_seqs(tx: Tx, station_id: str, seqs: Sequence[int]) -> dict[int, set[str]]:
    held: dict[int, set[str]] = {}
    for rows in _lookup(tx, "SELECT seq, id FROM events WHERE station_id = ? AND seq", "bigint", station_id, seqs):
        for seq, event_id in rows:
            held.setdefault(int(seq), set()).add(str(event_id))
    return held


def _held_rows(tx: Tx, station_id: str, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    head = "SELECT id, seq, type, payload, boot_id, mono, wall, wall_synced FROM events WHERE station_id = ? AND id"
    return {str(r[0]): tuple(r[1:]) for rows in _lookup(tx, head, "text", station_id, ids) for r in rows}


def _lookup(tx: Tx, head: str, array_type: str, station_id: str, values: Sequence[Any]) -> list[list[Any]]:
    """``head`` (ending in a column) matched against ``values``: one statement on PostgreSQL, chunks on SQLite."""
    if not values:
        return []
    if tx.engine is Engine.POSTGRES:
        return [tx.execute(f"{head} = ANY(%b::{array_type}[])", (station_id, list(values)))]
    out = []
    for start in range(0, len(values), _SQLITE_CHUNK):
        chunk = values[start : start + _SQLITE_CHUNK]
        out.append(tx.execute(f"{head} IN ({', '.join('?' for _ in chunk)})", (station_id, *chunk)))
    return out
