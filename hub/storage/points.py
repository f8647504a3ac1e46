"""Riders' points (a ledger applied exactly once by entry id), bookings and feedback, on both engines.

**Exactly once.** Every move of points is a ledger row keyed by its ``entry_id`` (the station's id for
the event's entry, ``<spend>:refund`` for a refund, ``credit-…`` for an operator's credit). Rows are
inserted with ``ON CONFLICT DO NOTHING`` and the balance moves only when the insert happened, in the
same transaction, so the same entry sent twice (a resent batch, a live spend answered and later
reported by the station's event) moves the balance once.

**One rider at a time.** Deciding whether a spend is covered reads the balance, so every writer first
locks the rider's balance row (an upsert that returns it: a row lock on PostgreSQL, SQLite's writers are
serialised anyway). A batch locks its riders in sorted order, so two stations' batches cannot deadlock.

**Double spend.** Two stations offline both hand out an item for the same points: whichever batch the
hub ingests first applies; the other is stored REJECTED ("already spent elsewhere") and shows up as a
correction in that rider's balance in the bundle of every station the rider was seen at.

Events of these types are applied by :func:`apply_rider_events`, called from ``ingest`` inside its
transaction with the newly stored records only. A malformed payload is kept as an event, not applied,
and logged once with its id.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from hub.content import Content
from hub.storage.base import StorageBase, epoch_ms, from_iso, iso
from hub.storage.db import Engine, Tx
from hub.storage.points_models import (
    Booking,
    BookingState,
    EntryKind,
    EntryStatus,
    FeedbackFigures,
    FeedbackRow,
    LedgerEntry,
    PointsFigures,
)
from kiosk.core.events import EventRecord
from kiosk.core.rider_events import (
    BookingRequested,
    FeedbackGiven,
    PointsEarned,
    PointsSpendCancelled,
    PointsSpent,
)
from kiosk.sync.protocol import BookingStatus, PointsCorrection, RiderBalance, SpendAnswer, SpendRequest

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
_LEDGER_COLUMNS = "entry_id, rider_id, station_id, kind, points, status, at, rule, item_id, reason"
_BOOKING_COLUMNS = (
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


def _entry(row: Sequence[Any]) -> LedgerEntry:
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


def _booking(row: Sequence[Any]) -> Booking:
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


def _content(tx: Tx) -> Content:
    row = tx.one("SELECT body FROM content WHERE name = 'content'")
    return Content() if row is None else Content.model_validate_json(row[0])


def _lock_rider(tx: Tx, rider_id: str, now: datetime) -> int:
    """Lock the rider's balance row (made at 0 if new) until the transaction ends; the balance."""
    row = tx.one(
        "INSERT INTO rider_points (rider_id, balance, updated_at) VALUES (?, 0, ?)"
        " ON CONFLICT (rider_id) DO UPDATE SET balance = rider_points.balance RETURNING balance",
        (rider_id, iso(now)),
    )
    return int(row[0]) if row else 0


def _add_entry(
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


def _seen(tx: Tx, rider_id: str, station_id: str, now: datetime) -> None:
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
        _lock_rider(tx, rider, now)
    content = _content(tx) if any(isinstance(b, PointsEarned | BookingRequested) for _, b in bodies) else Content()
    for record, body in bodies:
        if isinstance(body, str):
            _seen(tx, body, station_id, now)
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
    _seen(tx, body.rider_id, station_id, now)
    row = tx.one(
        "SELECT COUNT(*) FROM ledger WHERE rider_id = ? AND rule = ? AND day = ? AND kind = ? AND status = ?",
        (body.rider_id, body.rule, body.day, EntryKind.EARNED.value, EntryStatus.APPLIED.value),
    )
    rule = content.rule(body.rule)
    reason = earning_refusal(body.rule, None if rule is None else rule.per_day, int(row[0]) if row else 0, body.day)
    _add_entry(
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
    _seen(tx, body.rider_id, station_id, now)
    if tx.one("SELECT 1 FROM ledger WHERE entry_id = ?", (body.entry_id,)) is not None:
        return  # confirmed live by spend_now (or a clash of ids): it counts once
    balance = _lock_rider(tx, body.rider_id, now)
    refusal = spend_refusal(balance, body.points)
    reason = "" if refusal is None else f"{ALREADY_SPENT} ({refusal})"
    status = EntryStatus.APPLIED if refusal is None else EntryStatus.REJECTED
    _add_entry(
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
    _add_entry(
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
        f"INSERT INTO bookings ({_BOOKING_COLUMNS}, requested_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - only placeholders and constants are put in
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


class PointsMixin(StorageBase):
    """The points ledger, live spends, bookings and feedback."""

    def spend_now(self, station_id: str, request: SpendRequest) -> SpendAnswer:
        """Take points for an item now (the station is online): idempotent by ``entry_id``.

        Refused, with the reason in plain words, when the balance cannot cover it; the same request
        again gets the same answer.
        """
        now = self.now()
        with self.db.transaction() as tx:
            balance = _lock_rider(tx, request.rider_id, now)
            row = tx.one("SELECT accepted, balance, reason FROM spend_answers WHERE entry_id = ?", (request.entry_id,))
            if row is not None:
                return SpendAnswer(entry_id=request.entry_id, accepted=bool(row[0]), balance=int(row[1]), reason=row[2])
            _seen(tx, request.rider_id, station_id, now)
            known = tx.one("SELECT kind, status FROM ledger WHERE entry_id = ?", (request.entry_id,))
            if known is not None:
                # The station's offline event arrived first: answer what the ledger did with it.
                accepted = known == (EntryKind.SPENT.value, EntryStatus.APPLIED.value)
                reason = None if accepted else "this entry was already recorded and did not count"
            else:
                reason = spend_refusal(balance, request.points)
                accepted = reason is None
                if accepted:
                    _add_entry(
                        tx,
                        now,
                        entry_id=request.entry_id,
                        rider_id=request.rider_id,
                        station_id=station_id,
                        kind=EntryKind.SPENT,
                        points=request.points,
                        status=EntryStatus.APPLIED,
                        item_id=request.item_id,
                    )
                    balance -= request.points
            tx.execute(
                "INSERT INTO spend_answers (entry_id, station_id, accepted, balance, reason, at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entry_id) DO NOTHING",
                (request.entry_id, station_id, 1 if accepted else 0, balance, reason, iso(now)),
            )
        return SpendAnswer(entry_id=request.entry_id, accepted=accepted, balance=balance, reason=reason)

    def credit_points(self, rider_id: str, points: int, reason: str, *, by: str) -> LedgerEntry:
        """An operator credits ``points`` to a rider (a community report, a goodwill gesture)."""
        if not 0 < points <= 1_000_000:
            raise ValueError(f"points to credit must be 1 to 1000000, not {points}")
        if not 0 < len(rider_id) <= 20:
            raise ValueError("a rider id is 1 to 20 characters long")
        if not reason.strip():
            raise ValueError("say why the points are credited (a reason is kept with the entry)")
        now = self.now()
        entry_id = f"credit-{uuid.uuid4().hex}"
        with self.db.transaction() as tx:
            _lock_rider(tx, rider_id, now)
            _add_entry(
                tx,
                now,
                entry_id=entry_id,
                rider_id=rider_id,
                station_id=None,
                kind=EntryKind.CREDITED,
                points=points,
                status=EntryStatus.APPLIED,
                reason=f"{reason.strip()} (by {by})",
            )
            row = tx.one(f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE entry_id = ?", (entry_id,))  # noqa: S608 - only placeholders and constants are put in
        assert row is not None  # inserted just above, in this transaction
        return _entry(row)

    def balance(self, rider_id: str) -> int:
        """The rider's points (0 for a rider the hub never saw)."""
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT balance FROM rider_points WHERE rider_id = ?", (rider_id,))
        return 0 if row is None else int(row[0])

    def ledger(
        self, *, rider_id: str | None = None, station_id: str | None = None, limit: int = 100
    ) -> list[LedgerEntry]:
        """Ledger entries, newest first, of one rider and/or one station (or all)."""
        where, params = _where(rider_id=rider_id, station_id=station_id)
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {_LEDGER_COLUMNS} FROM ledger{where} ORDER BY n DESC, entry_id DESC LIMIT ?",  # noqa: S608 - only placeholders and constants are put in
                (*params, limit),
            )
        return [_entry(r) for r in rows]

    def rider_balances_for(self, station_id: str, *, days: int = 30) -> list[RiderBalance]:
        """Balances of riders seen at the station (code accepted, points event) in the last ``days``.

        ``station_seq`` is the station's high-water seq now: its events up to there are in the balance.
        ``corrections`` are the rider's rejected spends (at any station) of the same period.
        """
        now = self.now()
        since = epoch_ms(now - timedelta(days=days))
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT high_water_seq FROM stations WHERE id = ?", (station_id,))
            seq = 0 if row is None else int(row[0])
            riders = tx.execute(
                "SELECT rs.rider_id, COALESCE(rp.balance, 0) FROM rider_stations rs"
                " LEFT JOIN rider_points rp ON rp.rider_id = rs.rider_id"
                " WHERE rs.station_id = ? AND rs.last_seen_ms >= ? ORDER BY rs.rider_id",
                (station_id, since),
            )
            rejected = tx.execute(
                "SELECT l.rider_id, l.entry_id, l.station_id, l.item_id, l.points, l.at, l.reason FROM ledger l"
                " JOIN rider_stations rs ON rs.rider_id = l.rider_id AND rs.station_id = ? AND rs.last_seen_ms >= ?"
                " WHERE l.kind = ? AND l.status = ? AND l.at_ms >= ? ORDER BY l.n",
                (station_id, since, EntryKind.SPENT.value, EntryStatus.REJECTED.value, since),
            )
        corrections: dict[str, list[PointsCorrection]] = {}
        for rider, entry_id, at_station, item, points, at, reason in rejected:
            corrections.setdefault(str(rider), []).append(
                PointsCorrection(
                    entry_id=entry_id,
                    station_id=at_station or "",
                    item_id=item or "",
                    points=int(points),
                    at=from_iso(at),
                    reason=reason,
                )
            )
        return [
            RiderBalance(
                rider_id=str(rider),
                balance=int(balance),
                station_seq=seq,
                as_of=now,
                corrections=corrections.get(str(rider), []),
            )
            for rider, balance in riders
        ]

    def points_by_station(self, since: datetime) -> list[PointsFigures]:
        """Per station (None: operator credits), points issued and spent and spends rejected since ``since``."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT station_id, kind, status, SUM(points), COUNT(*) FROM ledger WHERE at_ms >= ?"
                " GROUP BY station_id, kind, status",
                (epoch_ms(since),),
            )
        figures: dict[str | None, list[int]] = {}
        for station, kind, status, total, count in rows:
            issued_spent_rejected = figures.setdefault(station, [0, 0, 0])
            if status == EntryStatus.REJECTED.value:
                if kind == EntryKind.SPENT.value:
                    issued_spent_rejected[2] += int(count)
            elif kind in (EntryKind.EARNED.value, EntryKind.CREDITED.value):
                issued_spent_rejected[0] += int(total)
            else:
                issued_spent_rejected[1] += int(total) * (1 if kind == EntryKind.SPENT.value else -1)
        return [
            PointsFigures(station, *figures[station]) for station in sorted(figures, key=lambda s: (s is None, s or ""))
        ]

    def feedback_by_station(self, since: datetime) -> list[FeedbackFigures]:
        """Per station, feedback given since ``since``: how much, the average rating, the topics picked."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT station_id, topic, COUNT(*), SUM(rating) FROM feedback WHERE at_ms >= ?"
                " GROUP BY station_id, topic",
                (epoch_ms(since),),
            )
        topics: dict[str, Counter[str]] = {}
        ratings: Counter[str] = Counter()
        for station, topic, count, total in rows:
            topics.setdefault(str(station), Counter())[str(topic)] += int(count)
            ratings[str(station)] += int(total)
        out = []
        for station in sorted(topics):
            count = sum(topics[station].values())
            out.append(FeedbackFigures(station, count, round(ratings[station] / count, 2), dict(topics[station])))
        return out

    def recent_feedback(self, *, limit: int = 50, station_id: str | None = None) -> list[FeedbackRow]:
        """Feedback, newest first (of one station, or of all)."""
        where, params = _where(station_id=station_id)
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT feedback_id, station_id, rating, topic, text, rider_id, at FROM feedback"  # noqa: S608 - only placeholders and constants are put in
                f"{where} ORDER BY at_ms DESC, feedback_id DESC LIMIT ?",
                (*params, limit),
            )
        return [
            FeedbackRow(str(fid), str(sid), int(rating), str(topic), str(text), rider, from_iso(at))
            for fid, sid, rating, topic, text, rider, at in rows
        ]

    def bookings(
        self, *, status: BookingState | None = None, station_id: str | None = None, limit: int = 200
    ) -> list[Booking]:
        """Bookings, newest request first, optionally of one status and/or one station."""
        where, params = _where(status=None if status is None else status.value, station_id=station_id)
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings{where} ORDER BY requested_ms DESC, booking_id DESC LIMIT ?",  # noqa: S608 - only placeholders and constants are put in
                (*params, limit),
            )
        return [_booking(r) for r in rows]

    def set_booking_status(self, booking_id: str, status: BookingState, note: str = "") -> Booking:
        """Confirm, decline or cancel a booking (``note``: words for the rider; empty keeps the old note).

        :class:`KeyError` for an unknown booking; :class:`ValueError` when confirming it would put more
        riders in its slot than the slot takes.
        """
        now = self.now()
        with self.db.transaction() as tx:
            lock = " FOR UPDATE" if tx.engine is Engine.POSTGRES else ""
            row = tx.one(f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE booking_id = ?{lock}", (booking_id,))  # noqa: S608 - only placeholders and constants are put in
            if row is None:
                raise KeyError(f"there is no booking {booking_id}")
            booking = _booking(row)
            if status is BookingState.CONFIRMED and booking.status is not BookingState.CONFIRMED:
                # Locking the slot's bookings makes two operators confirming the last place take turns.
                tx.execute(f"SELECT booking_id FROM bookings WHERE slot_id = ?{lock}", (booking.slot_id,))  # noqa: S608 - only placeholders and constants are put in
                taken = tx.one(
                    "SELECT COUNT(*) FROM bookings WHERE slot_id = ? AND status = ?",
                    (booking.slot_id, BookingState.CONFIRMED.value),
                )
                content = _content(tx)
                capacity = content.capacity_of(booking.slot_id)
                if taken is not None and int(taken[0]) >= capacity:
                    raise ValueError(
                        f"slot {booking.slot_id} is full: {capacity} of {capacity} places are confirmed;"
                        " decline this booking or give the slot more places in the content file"
                    )
            new_note = note.strip() or booking.note
            tx.execute(
                "UPDATE bookings SET status = ?, note = ?, updated_at = ? WHERE booking_id = ?",
                (status.value, new_note, iso(now), booking_id),
            )
        return dataclasses.replace(booking, status=status, note=new_note, updated_at=now)

    def bookings_for(self, station_id: str, *, days: int = 30) -> list[BookingStatus]:
        """Bookings requested at the station in the last ``days``, with the city's answer (for its bundle)."""
        since = epoch_ms(self.now() - timedelta(days=days))
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE station_id = ? AND requested_ms >= ?"  # noqa: S608 - only placeholders and constants are put in
                " ORDER BY requested_ms, booking_id",
                (station_id, since),
            )
        return [
            BookingStatus(
                booking_id=b.booking_id,
                rider_id=b.rider_id,
                service_id=b.service_id,
                slot_id=b.slot_id,
                starts=b.starts,
                status=b.status.value,
                note=b.note,
            )
            for b in map(_booking, rows)
        ]

    def confirmed_counts(self, slot_ids: Collection[str]) -> dict[str, int]:
        """How many bookings of each of ``slot_ids`` are confirmed (slots with none are left out)."""
        if not slot_ids:
            return {}
        marks = ", ".join("?" for _ in slot_ids)
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT slot_id, COUNT(*) FROM bookings WHERE status = ? AND slot_id IN ({marks}) GROUP BY slot_id",  # noqa: S608 - only placeholders and constants are put in
                (BookingState.CONFIRMED.value, *slot_ids),
            )
        return {str(slot): int(count) for slot, count in rows}


def _where(**equal: str | None) -> tuple[str, list[str]]:
    """A ``WHERE`` clause for the given column = value pairs that are not None (column names are ours)."""
    used = {column: value for column, value in equal.items() if value is not None}
    if not used:
        return "", []
    return " WHERE " + " AND ".join(f"{column} = ?" for column in used), list(used.values())
