"""Applying stations' rider events to the hub's ledger, bookings and feedback: exactly once, inside ``ingest``.

See :mod:`hub.storage.points` for the rules (exactly once by entry id, one rider at a time, double spends).
The row helpers here are shared with the queries there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from hub.content import Content
from hub.storage.base import epoch_ms, from_iso, iso
from hub.storage.db import Tx
from hub.storage.points_models import (
    Booking,
    BookingState,
    EntryKind,
    EntryStatus,
    LedgerEntry,
)
from kiosk.core.events import EventRecord
from kiosk.core.rider_events import (
    BookingRequested,
    FeedbackGiven,
    PointsEarned,
    PointsSpendCancelled,
    PointsSpent,
)

log = logging.getLogger(__name__)

CODE_ACCEPTED = "code.accepted"
"""The station's event for an accepted rider code (its body lives in kiosk.station; the hub reads ``rider_id``)."""
RIDER_EVENT_TYPES = frozenset(
    {
        PointsEarned.TYPE,
        PointsSpent.TYPE,
        PointsSpendCancelled.TYPE,
        BookingRequested.TYPE,
        FeedbackGiven.TYPE,
        CODE_ACCEPTED,
    }
)
"""The event types :func:`apply_rider_events` acts on."""
ALREADY_SPENT = "already spent elsewhere"
_SIGN = {EntryKind.EARNED: 1, EntryKind.CREDITED: 1, EntryKind.REFUNDED: 1, EntryKind.SPENT: -1}
LEDGER_COLUMNS = "entry_id, rider_id, station_id, kind, points, status, at, rule, item_id, reason"
BOOKING_COLUMNS = (
    "booking_id, station_id, rider_id, service_id, slot_id, starts, status, note, requested_at, updated_at"
)
_DAY_MS = 86_400_000


# --- pure policy ----------------------------------------------------------------------------------------


def spend_refusal(balance: int, points: int) -> str | None:
    """Why a spend of ``points`` cannot be covered by ``balance`` (None: it can)."""
    if points <= balance:
        return None
    return f"not enough points: the balance is {balance}, the item costs {points}"


def earning_refusal(rule_id: str, per_day: int | None, earned_that_day: int, day: str) -> str | None:
    """Why an earning under ``rule_id`` does not count (None: it does); ``per_day`` None: no such rule."""
    if per_day is None:
        return f"the city has no points rule {rule_id!r}"
    if earned_that_day >= per_day:
        times = "once" if per_day == 1 else f"{per_day} times"
        return f"rule {rule_id} is earned at most {times} a day, already reached on {day}"
    return None


def refund_id(entry_id: str) -> str:
    """The ledger id of the refund of spend ``entry_id`` (``:`` never appears in a station's entry id)."""
    return f"{entry_id}:refund"


# --- rows -----------------------------------------------------------------------------------------------


def ledger_entry(row: Sequence[Any]) -> LedgerEntry:
    entry_id, rider, station, kind, points, status, at, rule, item, reason = row
    return LedgerEntry(
        entry_id=str(entry_id),
        rider_id=str(rider),
        station_id=None if station is None else str(station),
        kind=EntryKind(kind),
        points=int(points),
        status=EntryStatus(status),
        at=from_iso(at),
        rule=rule,
        item_id=item,
        reason=str(reason),
    )


def booking_of(row: Sequence[Any]) -> Booking:
    booking_id, station, rider, service, slot, starts, status, note, requested, updated = row
    return Booking(
        booking_id=str(booking_id),
        station_id=str(station),
        rider_id=str(rider),
        service_id=str(service),
        slot_id=str(slot),
        starts=None if starts is None else from_iso(starts),
        status=BookingState(status),
        note=str(note),
        requested_at=from_iso(requested),
        updated_at=from_iso(updated),
    )


def content_in(tx: Tx) -> Content:
    row = tx.one("SELECT body FROM content WHERE name = 'content'")
    return Content() if row is None else Content.model_validate_json(row[0])


def lock_rider(tx: Tx, rider_id: str, now: datetime) -> int:
    """Lock the rider's balance row (made at 0 if new) until the transaction ends; the balance."""
    row = tx.one(
        "INSERT INTO rider_points (rider_id, balance, updated_at) VALUES (?, 0, ?)"
        " ON CONFLICT (rider_id) DO UPDATE SET balance = rider_points.balance RETURNING balance",
        (rider_id, iso(now)),
    )
    return int(row[0]) if row else 0


def add_entry(
    tx: Tx,
    now: datetime,
    *,
    entry_id: str,
    rider_id: str,
    station_id: str | None,
    kind: EntryKind,
    points: int,
    status: EntryStatus,
    rule: str | None = None,
    item_id: str | None = None,
    day: str | None = None,
    reason: str = "",
    event_id: str | None = None,
) -> bool:
    """Insert one ledger entry unless its id is there already, moving the balance if it applies.

    The caller holds the rider's lock. False: the entry existed, nothing changed.
    """
    inserted = tx.execute(
        "INSERT INTO ledger (entry_id, n, rider_id, station_id, kind, points, status, at, at_ms, rule, item_id,"
        " day, reason, event_id) SELECT ?, COALESCE(MAX(n), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM ledger"
        # "WHERE true": SQLite needs it to tell the upsert's ON from a join's ON after INSERT ... SELECT.
        " WHERE true ON CONFLICT (entry_id) DO NOTHING RETURNING entry_id",
        (
            entry_id,
            rider_id,
            station_id,
            kind.value,
            points,
            status.value,
            iso(now),
            epoch_ms(now),
            rule,
            item_id,
            day,
            reason,
            event_id,
        ),
    )
    if inserted and status is EntryStatus.APPLIED:
        tx.execute(
            "UPDATE rider_points SET balance = balance + ?, updated_at = ? WHERE rider_id = ?",
            (_SIGN[kind] * points, iso(now), rider_id),
        )
    return bool(inserted)


def note_rider_seen(tx: Tx, rider_id: str, station_id: str, now: datetime) -> None:
    """Note that the rider was at the station now (their balance goes into its bundles for a while)."""
    tx.execute(
        "INSERT INTO rider_stations (rider_id, station_id, last_seen_ms) VALUES (?, ?, ?)"
        " ON CONFLICT (rider_id, station_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms",
        (rider_id, station_id, epoch_ms(now)),
    )


# --- applying a station's events ------------------------------------------------------------------------

_Body = PointsEarned | PointsSpent | PointsSpendCancelled | BookingRequested | FeedbackGiven | str
"""A parsed event body (``str``: the rider id of a ``code.accepted``)."""
_MODELS: dict[str, type[PointsEarned | PointsSpent | PointsSpendCancelled | BookingRequested | FeedbackGiven]] = {
    m.TYPE: m for m in (PointsEarned, PointsSpent, PointsSpendCancelled, BookingRequested, FeedbackGiven)
}


def _parse(record: EventRecord) -> _Body | None:
    """The record's body, or None (logged once, with the event id) when its payload does not fit."""
    try:
        if record.type == CODE_ACCEPTED:
            rider = record.payload.get("rider_id")
            if not isinstance(rider, str) or not 0 < len(rider) <= 20:
                raise ValueError("rider_id must be text of 1 to 20 characters")
            return rider
        return _MODELS[record.type].model_validate(record.payload)
    except (ValidationError, ValueError) as exc:
        log.warning(
            "event %s (%s from %s) is stored but not applied: its payload does not fit (%s)",
            record.id,
            record.type,
            record.station_id,
            _why(exc),
        )
        return None


def _why(exc: ValueError) -> str:
    """What is wrong with a payload, in one line."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()[:3])
    return str(exc)


def apply_rider_events(tx: Tx, station_id: str, records: Sequence[EventRecord], *, now: datetime) -> None:
    """Apply newly stored points, booking, feedback and code events of one station, in ``seq`` order.

    Called by ``ingest`` in the transaction that stores them: applied if and only if stored. Records of
    other types are ignored.
    """
    ordered = sorted((r for r in records if r.type in RIDER_EVENT_TYPES), key=lambda r: r.seq)
    bodies = [(r, body) for r, body in ((r, _parse(r)) for r in ordered) if body is not None]
    if not bodies:
        return
    riders = sorted({b.rider_id for _, b in bodies if isinstance(b, PointsEarned | PointsSpent | PointsSpendCancelled)})
    for rider in riders:  # sorted: batches of two stations lock shared riders in the same order
        lock_rider(tx, rider, now)
    content = content_in(tx) if any(isinstance(b, PointsEarned | BookingRequested) for _, b in bodies) else Content()
    for record, body in bodies:
        if isinstance(body, str):
            note_rider_seen(tx, body, station_id, now)
        elif isinstance(body, PointsEarned):
            _apply_earned(tx, station_id, record, body, content, now)
        elif isinstance(body, PointsSpent):
            _apply_spent(tx, station_id, record, body, now)
        elif isinstance(body, PointsSpendCancelled):
            _apply_cancelled(tx, station_id, record, body, now)
        elif isinstance(body, BookingRequested):
            _apply_booking(tx, station_id, body, content, now)
        else:
            _apply_feedback(tx, station_id, record, body, now)


def _apply_earned(
    tx: Tx, station_id: str, record: EventRecord, body: PointsEarned, content: Content, now: datetime
) -> None:
    note_rider_seen(tx, body.rider_id, station_id, now)
    row = tx.one(
        "SELECT COUNT(*) FROM ledger WHERE rider_id = ? AND rule = ? AND day = ? AND kind = ? AND status = ?",
        (body.rider_id, body.rule, body.day, EntryKind.EARNED.value, EntryStatus.APPLIED.value),
    )
    rule = content.rule(body.rule)
    reason = earning_refusal(body.rule, None if rule is None else rule.per_day, int(row[0]) if row else 0, body.day)
    add_entry(
        tx,
        now,
        entry_id=body.entry_id,
        rider_id=body.rider_id,
        station_id=station_id,
        kind=EntryKind.EARNED,
        points=body.points,
        status=EntryStatus.APPLIED if reason is None else EntryStatus.REJECTED,
        rule=body.rule,
        day=body.day,
        reason=reason or "",
        event_id=record.id,
    )


def _apply_spent(tx: Tx, station_id: str, record: EventRecord, body: PointsSpent, now: datetime) -> None:
    note_rider_seen(tx, body.rider_id, station_id, now)
    if tx.one("SELECT 1 FROM ledger WHERE entry_id = ?", (body.entry_id,)) is not None:
        return  # confirmed live by spend_now (or a clash of ids): it counts once
    balance = lock_rider(tx, body.rider_id, now)
    refusal = spend_refusal(balance, body.points)
    reason = "" if refusal is None else f"{ALREADY_SPENT} ({refusal})"
    status = EntryStatus.APPLIED if refusal is None else EntryStatus.REJECTED
    add_entry(
        tx,
        now,
        entry_id=body.entry_id,
        rider_id=body.rider_id,
        station_id=station_id,
        kind=EntryKind.SPENT,
        points=body.points,
        status=status,
        item_id=body.item_id,
        reason=reason,
        event_id=record.id,
    )
    cancelled = tx.one("SELECT status FROM ledger WHERE entry_id = ?", (refund_id(body.entry_id),))
    if status is EntryStatus.APPLIED and cancelled is not None and cancelled[0] == EntryStatus.REJECTED.value:
        # The cancellation came first (events out of order): now that the spend counts, so does its refund.
        tx.execute(
            "UPDATE ledger SET status = ?, points = ?, item_id = ?, reason = ? WHERE entry_id = ?",
            (EntryStatus.APPLIED.value, body.points, body.item_id, "", refund_id(body.entry_id)),
        )
        tx.execute("UPDATE rider_points SET balance = balance + ? WHERE rider_id = ?", (body.points, body.rider_id))


def _apply_cancelled(tx: Tx, station_id: str, record: EventRecord, body: PointsSpendCancelled, now: datetime) -> None:
    spend = tx.one("SELECT rider_id, points, status, kind, item_id FROM ledger WHERE entry_id = ?", (body.entry_id,))
    if spend is not None and (spend[0] != body.rider_id or spend[3] != EntryKind.SPENT.value):
        log.warning("event %s cancels %s, not a spend of rider %s: ignored", record.id, body.entry_id, body.rider_id)
        return
    applies = spend is not None and spend[2] == EntryStatus.APPLIED.value
    add_entry(
        tx,
        now,
        entry_id=refund_id(body.entry_id),
        rider_id=body.rider_id,
        station_id=station_id,
        kind=EntryKind.REFUNDED,
        points=int(spend[1]) if spend is not None else 1,
        status=EntryStatus.APPLIED if applies else EntryStatus.REJECTED,
        item_id=None if spend is None else spend[4],
        reason=body.reason if applies else f"nothing to refund: the spend did not count ({body.reason})",
        event_id=record.id,
    )


def _apply_booking(tx: Tx, station_id: str, body: BookingRequested, content: Content, now: datetime) -> None:
    slot = content.find_slot(body.service_id, body.slot_id)
    state, note = BookingState.REQUESTED, ""
    if slot is None:
        state, note = BookingState.DECLINED, "this time is not offered any more; please choose another"
    tx.execute(
        f"INSERT INTO bookings ({BOOKING_COLUMNS}, requested_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - only placeholders and constants are put in
        " ON CONFLICT (booking_id) DO NOTHING",
        (
            body.booking_id,
            station_id,
            body.rider_id,
            body.service_id,
            body.slot_id,
            None if slot is None else iso(slot.starts),
            state.value,
            note,
            iso(now),
            iso(now),
            epoch_ms(now),
        ),
    )


def _apply_feedback(tx: Tx, station_id: str, record: EventRecord, body: FeedbackGiven, now: datetime) -> None:
    tx.execute(
        "INSERT INTO feedback (feedback_id, station_id, rating, topic, text, rider_id, at, at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feedback_id) DO NOTHING",
        (
            body.feedback_id,
            station_id,
            body.rating,
            body.topic,
            body.text.replace("\x00", ""),
            body.rider_id,
            iso(record.wall),
            epoch_ms(record.wall),
        ),
    )


# --- the storage mixin ----------------------------------------------------------------------------------
