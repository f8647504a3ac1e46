"""The rider desk's points moves: each event with its ledger row (and stock change) in the desk's transaction.

The statements are the store's (:mod:`kiosk.store.ledger`, :mod:`kiosk.store.goods`,
:mod:`kiosk.store.bookings`); this module puts an event and the rows it explains into the one transaction
the desk opened, so they commit together or not at all, and turns the store's rows into the ledger
entries :mod:`kiosk.station.points` reasons about.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.core.ids import new_id
from kiosk.core.rider_events import PointsEarned, PointsSpendCancelled, PointsSpent
from kiosk.station.points import EntryKind, LocalEntry
from kiosk.store import bookings, goods, ledger
from kiosk.store.access import Reads
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


def ledger_entries(src: Reads, station_id: str, rider_id: str) -> list[LocalEntry]:
    """Every points move of ``rider_id`` recorded here, oldest first, with whether the hub has its event."""
    return [
        LocalEntry(
            entry_id=row.entry_id,
            kind=EntryKind(row.kind),
            points=row.points,
            seq=row.seq,
            wall=row.wall,
            confirmed=row.confirmed,
            synced=row.synced,
            cancelled=row.cancelled,
        )
        for row in ledger.entries(src, station_id, rider_id)
    ]


def record_earning(tx: RecordingTransaction, rider_id: str, rule: str, amount: int, day: str) -> str:
    """``points.earned`` and its ledger row; returns the entry id."""
    entry_id = new_id()
    record = tx.append(PointsEarned(entry_id=entry_id, rider_id=rider_id, rule=rule, points=amount, day=day))
    ledger.add(
        tx,
        entry_id=entry_id,
        rider_id=rider_id,
        kind=EntryKind.EARNED.value,
        points=amount,
        seq=record.seq,
        wall=record.wall,
        day=day,
        rule=rule,
    )
    return entry_id


def record_check_in(tx: RecordingTransaction, rider_id: str, rule: str, amount: int, day: str) -> None:
    """The day's check-in: its earning (event and ledger row) and the check-in row, in one transaction."""
    entry_id = record_earning(tx, rider_id, rule, amount, day)
    ledger.check_in(tx, entry_id=entry_id, rider_id=rider_id, day=day)


def record_spend(tx: RecordingTransaction, spent: PointsSpent, day: str) -> None:
    """``points.spent``, its ledger row and one item fewer in its bay: what must be on disk before the unlock."""
    record = tx.append(spent)
    ledger.add(
        tx,
        entry_id=spent.entry_id,
        rider_id=spent.rider_id,
        kind=EntryKind.SPENT.value,
        points=spent.points,
        seq=record.seq,
        wall=record.wall,
        day=day,
        item_id=spent.item_id,
        bay=spent.bay,
        confirmed=spent.confirmed,
    )
    goods.change(tx, spent.bay, -1, record.wall)


def record_cancel(tx: RecordingTransaction, spent: PointsSpent, reason: str, day: str) -> None:
    """``points.spend_cancelled`` for ``spent``, the points given back in the ledger, the item back in its bay."""
    cancelled = PointsSpendCancelled(entry_id=spent.entry_id, rider_id=spent.rider_id, reason=reason[:200])
    record = tx.append(cancelled)
    ledger.add(
        tx,
        entry_id=new_id(),
        rider_id=spent.rider_id,
        kind=EntryKind.CANCELLED.value,
        points=spent.points,
        seq=record.seq,
        wall=record.wall,
        day=day,
        item_id=spent.item_id,
        bay=spent.bay,
        ref=spent.entry_id,
    )
    goods.change(tx, spent.bay, +1, record.wall)


def update_bookings(tx: RecordingTransaction, answers: list[BookingStatus], wall: datetime) -> int:
    """Take the hub's word on bookings made here; returns how many changed."""
    rows = [
        bookings.Booking(
            booking_id=b.booking_id,
            rider_id=b.rider_id,
            service_id=b.service_id,
            slot_id=b.slot_id,
            starts=b.starts,
            status=b.status,
            note=b.note,
        )
        for b in answers
    ]
    return bookings.update(tx, rows, wall)
