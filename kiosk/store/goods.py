"""The goods bays' stock (schema v4, ``goods_stock``): what each goods bay holds, as recorded.

A spend takes one item in the transaction that records ``points.spent``; a cancelled spend gives it back
in the one that records ``points.spend_cancelled``; staff restocking sets the count with its audit event.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.store.access import Reads, Writes

_STOCK = "SELECT bay, item_id, count FROM goods_stock ORDER BY bay"
_RESTOCK = (
    "INSERT INTO goods_stock (bay, item_id, count, updated) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (bay) DO UPDATE SET item_id = excluded.item_id, count = excluded.count, updated = excluded.updated"
)
_CHANGE = "UPDATE goods_stock SET count = max(0, count + ?), updated = ? WHERE bay = ?"


def stock(src: Reads) -> dict[int, tuple[str, int]]:
    """Goods bay → (item id, count) as recorded (bays never stocked are absent)."""
    rows = src.db.execute(_STOCK).fetchall()
    return {int(bay): (str(item), int(count)) for bay, item, count in rows}


def restock(tx: Writes, bay: int, item_id: str, count: int, wall: datetime) -> None:
    """Record ``count`` items of ``item_id`` in ``bay`` (replacing what was recorded)."""
    tx.db.execute(_RESTOCK, [bay, item_id, count, wall.isoformat()])


def change(tx: Writes, bay: int, by: int, wall: datetime) -> None:
    """Add ``by`` (negative: take) to a goods bay's count, never below zero; a bay never stocked stays so."""
    tx.db.execute(_CHANGE, [by, wall.isoformat(), bay])
