"""The rider desk's points ledger (schema v4): ``points_ledger``, ``checkins`` and ``shown_corrections``.

Every points move recorded here is a row kept with the seq of the event that recorded it, written in the
same transaction as that event (``points.earned``, ``points.spent``, ``points.spend_cancelled``). Reads
take the open store; writes take that transaction (:mod:`kiosk.store.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.store.access import Reads, Writes

_ENTRIES = """
SELECT l.entry_id, l.kind, l.points, l.seq, l.wall, l.confirmed,
       (SELECT e.synced_at IS NOT NULL FROM events e WHERE e.station_id = ? AND e.seq = l.seq) AS synced,
       EXISTS (SELECT 1 FROM points_ledger c WHERE c.ref = l.entry_id) AS cancelled
FROM points_ledger l WHERE l.rider_id = ? ORDER BY l.seq
"""
_EARNED = "SELECT count(*) FROM points_ledger WHERE rider_id = ? AND rule = ? AND day = ? AND kind = 'earned'"
_ADD = (
    "INSERT INTO points_ledger (entry_id, rider_id, kind, rule, item_id, points, bay, confirmed, seq, wall, day, ref)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_CHECKED_IN = "SELECT 1 FROM checkins WHERE rider_id = ? AND day = ?"
_CHECK_IN = "INSERT INTO checkins (entry_id, rider_id, day) VALUES (?, ?, ?)"
_MARK_SHOWN = (
    "INSERT INTO shown_corrections (entry_id, shown) VALUES (?, ?)"
    " ON CONFLICT (entry_id) DO UPDATE SET shown = excluded.shown"
)


@dataclass(frozen=True)
class LedgerRow:
    """One points move as recorded, with whether the hub has its event and whether it was cancelled."""

    entry_id: str
    kind: str
    """``earned``, ``spent`` or ``cancelled`` (:class:`kiosk.station.points.EntryKind`'s values)."""
    points: int
    seq: int
    """The seq of the event that recorded it."""
    wall: datetime
    confirmed: bool
    synced: bool
    """The hub acknowledged its event (an event no longer stored was synced: only synced ones are pruned)."""
    cancelled: bool
    """A later ``cancelled`` row refers to it."""


def _wall(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def entries(src: Reads, station_id: str, rider_id: str) -> list[LedgerRow]:
    """Every points move of ``rider_id`` recorded here, oldest first."""
    rows = src.db.execute(_ENTRIES, [station_id, rider_id]).fetchall()
    return [
        LedgerRow(
            entry_id=str(entry_id),
            kind=str(kind),
            points=int(points),
            seq=int(seq),
            wall=_wall(str(wall)),
            confirmed=bool(confirmed),
            synced=synced is None or bool(synced),
            cancelled=bool(cancelled),
        )
        for entry_id, kind, points, seq, wall, confirmed, synced, cancelled in rows
    ]


def earned_today(src: Reads, rider_id: str, rule: str, day: str) -> int:
    """How often ``rider_id`` earned ``rule`` here on the local ``day``."""
    return int(src.db.execute(_EARNED, [rider_id, rule, day]).fetchone()[0])


def add(
    tx: Writes,
    *,
    entry_id: str,
    rider_id: str,
    kind: str,
    points: int,
    seq: int,
    wall: datetime,
    day: str,
    rule: str | None = None,
    item_id: str | None = None,
    bay: int | None = None,
    confirmed: bool = False,
    ref: str | None = None,
) -> None:
    """One ledger row, in the transaction that appended its event (whose ``seq`` it keeps)."""
    params = [entry_id, rider_id, kind, rule, item_id, points, bay, int(confirmed), seq, wall.isoformat(), day, ref]
    tx.db.execute(_ADD, params)


def checked_in(src: Reads, rider_id: str, day: str) -> bool:
    """Whether the rider's check-in of the local ``day`` is recorded."""
    return src.db.execute(_CHECKED_IN, [rider_id, day]).fetchone() is not None


def check_in(tx: Writes, *, entry_id: str, rider_id: str, day: str) -> None:
    """Record the rider's check-in of ``day`` (its ledger row is ``entry_id``); one per rider and day."""
    tx.db.execute(_CHECK_IN, [entry_id, rider_id, day])


def shown_corrections(src: Reads, entry_ids: list[str]) -> set[str]:
    """Which of these corrections were already shown to their rider."""
    if not entry_ids:
        return set()
    marks = ",".join("?" for _ in entry_ids)
    sql = f"SELECT entry_id FROM shown_corrections WHERE entry_id IN ({marks})"  # noqa: S608 - placeholders only
    return {str(r[0]) for r in src.db.execute(sql, entry_ids).fetchall()}


def mark_shown(tx: Writes, entry_ids: list[str], wall: datetime) -> None:
    """Remember that these corrections were shown (at ``wall``)."""
    for entry_id in entry_ids:
        tx.db.execute(_MARK_SHOWN, [entry_id, wall.isoformat()])
