"""Bookings made at this station (schema v4, ``bookings``): 'requested' until the hub's bundle answers.

The request is written with its ``booking.requested`` event; the hub's word on each (confirmed, declined,
with a note) comes with the bundle and replaces the station's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.store.access import Reads, Writes

_OF_RIDER = (
    "SELECT booking_id, service_id, slot_id, starts, status, note FROM bookings WHERE rider_id = ?"
    " ORDER BY updated DESC"
)
_ADD = (
    "INSERT INTO bookings (booking_id, rider_id, service_id, slot_id, starts, status, note, updated)"
    " VALUES (?, ?, ?, ?, ?, 'requested', '', ?)"
)
_STATUS = "SELECT status, note FROM bookings WHERE booking_id = ?"
_PUT = (
    "INSERT INTO bookings (booking_id, rider_id, service_id, slot_id, starts, status, note, updated)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (booking_id) DO UPDATE SET rider_id = excluded.rider_id,"
    " service_id = excluded.service_id, slot_id = excluded.slot_id, starts = excluded.starts,"
    " status = excluded.status, note = excluded.note, updated = excluded.updated"
)
_KEYS = ("booking_id", "service_id", "slot_id", "starts", "status", "note")


@dataclass(frozen=True)
class Booking:
    """A booking as the hub reports it (the fields of ``kiosk.sync.protocol.BookingStatus`` the table keeps)."""

    booking_id: str
    rider_id: str
    service_id: str
    slot_id: str
    starts: datetime | None
    status: str
    note: str


def of_rider(src: Reads, rider_id: str) -> list[dict[str, Any]]:
    """The rider's bookings made here, newest first, as ``booking_id, service_id, slot_id, starts, status, note``."""
    rows = src.db.execute(_OF_RIDER, [rider_id]).fetchall()
    return [dict(zip(_KEYS, row, strict=True)) for row in rows]


def add(
    tx: Writes,
    *,
    booking_id: str,
    rider_id: str,
    service_id: str,
    slot_id: str,
    starts: datetime | None,
    wall: datetime,
) -> None:
    """A booking request, 'requested' until the hub answers."""
    starts_text = starts.isoformat() if starts else None
    tx.db.execute(_ADD, [booking_id, rider_id, service_id, slot_id, starts_text, wall.isoformat()])


def update(tx: Writes, bookings: list[Booking], wall: datetime) -> int:
    """Take the hub's word on these bookings; returns how many changed (an unchanged one keeps its time)."""
    changed = 0
    for b in bookings:
        row = tx.db.execute(_STATUS, [b.booking_id]).fetchone()
        if row is not None and (str(row[0]), str(row[1])) == (b.status, b.note):
            continue
        starts = b.starts.isoformat() if b.starts else None
        tx.db.execute(
            _PUT, [b.booking_id, b.rider_id, b.service_id, b.slot_id, starts, b.status, b.note, wall.isoformat()]
        )
        changed += 1
    return changed
