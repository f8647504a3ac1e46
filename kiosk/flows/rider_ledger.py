"""The rider desk's tables (schema v4): points ledger, check-ins, bookings, goods stock, shown corrections.

Reads take the open store's connection; writes take the transaction the desk opened, so a ledger row, a
stock change and the event recording them commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kiosk.core.ids import new_id
from kiosk.core.rider_events import PointsEarned, PointsSpendCancelled, PointsSpent
from kiosk.station.points import EntryKind, LocalEntry
from kiosk.store.component import RecordingTransaction
from kiosk.sync.protocol import BookingStatus

REFUSAL_MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_item": ("本站没有这件物品。", "This station does not offer that item."),
    "out_of_stock": ("这件物品已经领完了，请选择其他物品。", "That item has run out here. Please choose another."),
    "not_enough_points": ("积分不够兑换这件物品。", "You do not have enough points for that item."),
    "balance_unknown": (
        "本站暂时不知道您的积分，请稍后再试或刷新App中的驿站码。",
        "This station does not know your points yet. Try again later or refresh the code in your app.",
    ),
    "offline_cap": (
        "本站暂时无法联系积分中心，离线兑换已达上限。请稍后再试。",
        "This station cannot reach the points centre and you reached the offline limit. Please try later.",
    ),
    "hub_refused": (
        "积分中心未同意这次兑换（积分可能不足）。",
        "The points centre did not accept this (points too low?).",
    ),
    "bay_fault": (
        "柜门没有打开，积分已退回。请联系站点客服。",
        "The locker did not open; your points were given back. Please contact station support.",
    ),
}
"""What a rider reads when a spend does not happen: reason → (Chinese, English)."""


def _wall(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ledger_entries(db: Any, station_id: str, rider_id: str) -> list[LocalEntry]:
    """Every points move of ``rider_id`` recorded here, oldest first, with whether the hub has its event."""
    rows = db.execute(
        """
        SELECT l.entry_id, l.kind, l.points, l.seq, l.wall, l.confirmed,
               (SELECT e.synced_at IS NOT NULL FROM events e WHERE e.station_id = ? AND e.seq = l.seq) AS synced,
               EXISTS (SELECT 1 FROM points_ledger c WHERE c.ref = l.entry_id) AS cancelled
        FROM points_ledger l WHERE l.rider_id = ? ORDER BY l.seq
        """,
        [station_id, rider_id],
    ).fetchall()
    return [
        LocalEntry(
            entry_id=str(entry_id),
            kind=EntryKind(kind),
            points=int(points),
            seq=int(seq),
            wall=_wall(str(wall)),
            confirmed=bool(confirmed),
            # Synced events are pruned after a while, never unsynced ones: a missing event was synced.
            synced=synced is None or bool(synced),
            cancelled=bool(cancelled),
        )
        for entry_id, kind, points, seq, wall, confirmed, synced, cancelled in rows
    ]


def earned_today(db: Any, rider_id: str, rule: str, day: str) -> int:
    """How often ``rider_id`` earned ``rule`` here on the local ``day``."""
    row = db.execute(
        "SELECT count(*) FROM points_ledger WHERE rider_id = ? AND rule = ? AND day = ? AND kind = 'earned'",
        [rider_id, rule, day],
    ).fetchone()
    return int(row[0])


def checked_in(db: Any, rider_id: str, day: str) -> bool:
    """Whether the rider's check-in of the local ``day`` is recorded."""
    return bool(db.execute("SELECT 1 FROM checkins WHERE rider_id = ? AND day = ?", [rider_id, day]).fetchall())


def add_entry(
    tx: RecordingTransaction,
    *,
    entry_id: str,
    rider_id: str,
    kind: EntryKind,
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
    """One ledger row (inside the transaction that appended its event, whose ``seq`` it keeps)."""
    tx.db.table("points_ledger").insert(
        {
            "entry_id": entry_id,
            "rider_id": rider_id,
            "kind": kind.value,
            "rule": rule,
            "item_id": item_id,
            "points": points,
            "bay": bay,
            "confirmed": int(confirmed),
            "seq": seq,
            "wall": wall.isoformat(),
            "day": day,
            "ref": ref,
        }
    )


def record_earning(tx: RecordingTransaction, rider_id: str, rule: str, points: int, day: str) -> str:
    """``points.earned`` and its ledger row; returns the entry id."""
    entry_id = new_id()
    record = tx.append(PointsEarned(entry_id=entry_id, rider_id=rider_id, rule=rule, points=points, day=day))
    add_entry(
        tx,
        entry_id=entry_id,
        rider_id=rider_id,
        kind=EntryKind.EARNED,
        points=points,
        seq=record.seq,
        wall=record.wall,
        day=day,
        rule=rule,
    )
    return entry_id


def record_spend(tx: RecordingTransaction, spent: PointsSpent, day: str) -> None:
    """``points.spent``, its ledger row and one item fewer in its bay: what must be on disk before the unlock."""
    record = tx.append(spent)
    add_entry(
        tx,
        entry_id=spent.entry_id,
        rider_id=spent.rider_id,
        kind=EntryKind.SPENT,
        points=spent.points,
        seq=record.seq,
        wall=record.wall,
        day=day,
        item_id=spent.item_id,
        bay=spent.bay,
        confirmed=spent.confirmed,
    )
    change_stock(tx, spent.bay, -1, record.wall)


def record_cancel(tx: RecordingTransaction, spent: PointsSpent, reason: str, day: str) -> None:
    """``points.spend_cancelled`` for ``spent``, the points given back in the ledger, the item back in its bay."""
    cancelled = PointsSpendCancelled(entry_id=spent.entry_id, rider_id=spent.rider_id, reason=reason[:200])
    record = tx.append(cancelled)
    add_entry(
        tx,
        entry_id=new_id(),
        rider_id=spent.rider_id,
        kind=EntryKind.CANCELLED,
        points=spent.points,
        seq=record.seq,
        wall=record.wall,
        day=day,
        item_id=spent.item_id,
        bay=spent.bay,
        ref=spent.entry_id,
    )
    change_stock(tx, spent.bay, +1, record.wall)


def stock(db: Any) -> dict[int, tuple[str, int]]:
    """Goods bay → (item id, count) as recorded."""
    rows = db.execute("SELECT bay, item_id, count FROM goods_stock ORDER BY bay").fetchall()
    return {int(bay): (str(item), int(count)) for bay, item, count in rows}


def set_stock(tx: RecordingTransaction, bay: int, item_id: str, count: int, wall: datetime) -> None:
    """Record ``count`` items of ``item_id`` in ``bay``."""
    row = {"bay": bay, "item_id": item_id, "count": count, "updated": wall.isoformat()}
    tx.db.table("goods_stock").upsert(row, pk="bay")


def change_stock(tx: RecordingTransaction, bay: int, by: int, wall: datetime) -> None:
    """Add ``by`` (negative: take) to a goods bay's count, never below zero."""
    tx.db.execute(
        "UPDATE goods_stock SET count = max(0, count + ?), updated = ? WHERE bay = ?", [by, wall.isoformat(), bay]
    )


def rider_bookings(db: Any, rider_id: str) -> list[dict[str, Any]]:
    """The rider's bookings made here, newest first."""
    rows = db.execute(
        "SELECT booking_id, service_id, slot_id, starts, status, note FROM bookings WHERE rider_id = ?"
        " ORDER BY updated DESC",
        [rider_id],
    ).fetchall()
    keys = ("booking_id", "service_id", "slot_id", "starts", "status", "note")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def add_booking(
    tx: RecordingTransaction,
    *,
    booking_id: str,
    rider_id: str,
    service_id: str,
    slot_id: str,
    starts: datetime | None,
    wall: datetime,
) -> None:
    """A booking request, 'requested' until the hub answers."""
    tx.db.table("bookings").insert(
        {
            "booking_id": booking_id,
            "rider_id": rider_id,
            "service_id": service_id,
            "slot_id": slot_id,
            "starts": starts.isoformat() if starts else None,
            "status": "requested",
            "note": "",
            "updated": wall.isoformat(),
        }
    )


def update_bookings(tx: RecordingTransaction, bookings: list[BookingStatus], wall: datetime) -> int:
    """Take the hub's word on bookings made here; returns how many changed."""
    changed = 0
    for booking in bookings:
        row = tx.db.execute("SELECT status, note FROM bookings WHERE booking_id = ?", [booking.booking_id]).fetchall()
        if row and (str(row[0][0]), str(row[0][1])) == (booking.status, booking.note):
            continue
        tx.db.table("bookings").upsert(
            {
                "booking_id": booking.booking_id,
                "rider_id": booking.rider_id,
                "service_id": booking.service_id,
                "slot_id": booking.slot_id,
                "starts": booking.starts.isoformat() if booking.starts else None,
                "status": booking.status,
                "note": booking.note,
                "updated": wall.isoformat(),
            },
            pk="booking_id",
        )
        changed += 1
    return changed


def shown_corrections(db: Any, entry_ids: list[str]) -> set[str]:
    """Which of these corrections were already shown to their rider."""
    if not entry_ids:
        return set()
    marks = ",".join("?" for _ in entry_ids)
    rows = db.execute(f"SELECT entry_id FROM shown_corrections WHERE entry_id IN ({marks})", entry_ids).fetchall()  # noqa: S608
    return {str(r[0]) for r in rows}


def mark_shown(tx: RecordingTransaction, entry_ids: list[str], wall: datetime) -> None:
    """Remember that these corrections were shown."""
    for entry_id in entry_ids:
        tx.db.table("shown_corrections").upsert({"entry_id": entry_id, "shown": wall.isoformat()}, pk="entry_id")
