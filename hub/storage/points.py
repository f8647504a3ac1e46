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

Events of these types are applied by :func:`hub.storage.points_apply.apply_rider_events`, called from
``ingest`` inside its transaction with the newly stored records only. A malformed payload is kept as an
event, not applied, and logged once with its id.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from hub.storage.base import StorageBase, epoch_ms, from_iso, iso
from hub.storage.db import Engine, Tx
from hub.storage.flags import Flag, FlagKind, add_flags
from hub.storage.points_apply import BOOKING_COLUMNS, SIGN, content_in
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
from hub.storage.points_policy import find_item, spend_mismatch, spend_refusal
from kiosk.sync.protocol import BookingStatus, PointsCorrection, RiderBalance, SpendAnswer, SpendRequest

LEDGER_COLUMNS = "entry_id, rider_id, station_id, kind, points, status, at, rule, item_id, reason"


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
            (SIGN[kind] * points, iso(now), rider_id),
        )
    return bool(inserted)


def note_rider_seen(tx: Tx, rider_id: str, station_id: str, now: datetime) -> None:
    """Note that the rider was at the station now (their balance goes into its bundles for a while)."""
    tx.execute(
        "INSERT INTO rider_stations (rider_id, station_id, last_seen_ms) VALUES (?, ?, ?)"
        " ON CONFLICT (rider_id, station_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms",
        (rider_id, station_id, epoch_ms(now)),
    )


class PointsMixin(StorageBase):
    """The points ledger, live spends, bookings and feedback."""

    def spend_now(self, station_id: str, request: SpendRequest) -> SpendAnswer:
        """Take points for an item now (the station is online): idempotent by ``entry_id``.

        Refused, with the reason in plain words, when the balance cannot cover it; the same request
        again gets the same answer.
        """
        now = self.now()
        with self.db.transaction() as tx:
            balance = lock_rider(tx, request.rider_id, now)
            row = tx.one("SELECT accepted, balance, reason FROM spend_answers WHERE entry_id = ?", (request.entry_id,))
            if row is not None:
                return SpendAnswer(entry_id=request.entry_id, accepted=bool(row[0]), balance=int(row[1]), reason=row[2])
            note_rider_seen(tx, request.rider_id, station_id, now)
            known = tx.one("SELECT kind, status FROM ledger WHERE entry_id = ?", (request.entry_id,))
            if known is not None:
                # The station's offline event arrived first: answer what the ledger did with it.
                accepted = known == (EntryKind.SPENT.value, EntryStatus.APPLIED.value)
                reason = None if accepted else "this entry was already recorded and did not count"
            else:
                item = find_item(content_in(tx).catalogue, request.item_id)
                reason = spend_mismatch(request.item_id, item, request.points)
                if reason is not None:
                    flag = Flag(station_id, FlagKind.POINTS_MISMATCH, None, f"live spend {request.entry_id}: {reason}")
                    add_flags(tx, [flag], now)
                    reason = f"the price disagrees with the city's catalogue: {reason}"
                else:
                    reason = spend_refusal(balance, request.points)
                accepted = reason is None
                if accepted:
                    add_entry(
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

    def credit_points(
        self, rider_id: str, points: int, reason: str, *, by: str, once: str | None = None
    ) -> LedgerEntry:
        """An operator credits ``points`` to a rider (a community report, a goodwill gesture).

        ``once`` (e.g. a form's one-time id) makes the credit idempotent: the same ``once`` again credits
        nothing more and returns the first entry (a double click, a form sent twice).
        """
        if once is not None and not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", once):
            raise ValueError("a one-time credit id is 8 to 64 letters, digits, '-' or '_'")
        if not 0 < points <= 1_000_000:
            raise ValueError(f"points to credit must be 1 to 1000000, not {points}")
        if not 0 < len(rider_id) <= 20:
            raise ValueError("a rider id is 1 to 20 characters long")
        if not reason.strip():
            raise ValueError("say why the points are credited (a reason is kept with the entry)")
        now = self.now()
        entry_id = f"credit-{once or uuid.uuid4().hex}"
        with self.db.transaction() as tx:
            lock_rider(tx, rider_id, now)
            add_entry(
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
            row = tx.one(f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE entry_id = ?", (entry_id,))  # noqa: S608 - only placeholders and constants are put in
        assert row is not None  # inserted just above, in this transaction
        return ledger_entry(row)

    def points_snapshot(self, rider_id: str, stations: int) -> tuple[int, list[tuple[str, int]]]:
        """The rider's balance and, newest first, up to ``stations`` stations that saw them with each one's
        high-water seq — read in one transaction, so the balance holds exactly those stations' events."""
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT balance FROM rider_points WHERE rider_id = ?", (rider_id,))
            seen = tx.execute(
                "SELECT rs.station_id, s.high_water_seq FROM rider_stations rs JOIN stations s ON s.id = rs.station_id"
                " WHERE rs.rider_id = ? ORDER BY rs.last_seen_ms DESC, rs.station_id LIMIT ?",
                (rider_id, stations),
            )
        return (0 if row is None else int(row[0])), [(str(station), int(seq)) for station, seq in seen]

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
                f"SELECT {LEDGER_COLUMNS} FROM ledger{where} ORDER BY n DESC, entry_id DESC LIMIT ?",  # noqa: S608 - only placeholders and constants are put in
                (*params, limit),
            )
        return [ledger_entry(r) for r in rows]

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
        """Per station (None: operator credits): issued, spent, spends and earnings refused, since ``since``."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT station_id, kind, status, SUM(points), COUNT(*) FROM ledger WHERE at_ms >= ?"
                " GROUP BY station_id, kind, status",
                (epoch_ms(since),),
            )
        figures: dict[str | None, list[int]] = {}
        for station, kind, status, total, count in rows:
            issued_spent_rejected = figures.setdefault(station, [0, 0, 0, 0])
            if status == EntryStatus.REJECTED.value:
                if kind == EntryKind.SPENT.value:
                    issued_spent_rejected[2] += int(count)
                elif kind == EntryKind.EARNED.value:  # over a rule's daily limit (or a rule the city lacks)
                    issued_spent_rejected[3] += int(count)
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
                f"SELECT {BOOKING_COLUMNS} FROM bookings{where} ORDER BY requested_ms DESC, booking_id DESC LIMIT ?",  # noqa: S608 - only placeholders and constants are put in
                (*params, limit),
            )
        return [booking_of(r) for r in rows]

    def set_booking_status(self, booking_id: str, status: BookingState, note: str = "") -> Booking:
        """Confirm, decline or cancel a booking (``note``: words for the rider; empty keeps the old note).

        :class:`KeyError` for an unknown booking; :class:`ValueError` when confirming it would put more
        riders in its slot than the slot takes.
        """
        now = self.now()
        with self.db.transaction() as tx:
            lock = " FOR UPDATE" if tx.engine is Engine.POSTGRES else ""
            row = tx.one(f"SELECT {BOOKING_COLUMNS} FROM bookings WHERE booking_id = ?{lock}", (booking_id,))  # noqa: S608 - only placeholders and constants are put in
            if row is None:
                raise KeyError(f"there is no booking {booking_id}")
            booking = booking_of(row)
            if status is BookingState.CONFIRMED and booking.status is not BookingState.CONFIRMED:
                # Locking the slot's bookings makes two operators confirming the last place take turns.
                tx.execute(f"SELECT booking_id FROM bookings WHERE slot_id = ?{lock}", (booking.slot_id,))  # noqa: S608 - only placeholders and constants are put in
                taken = tx.one(
                    "SELECT COUNT(*) FROM bookings WHERE slot_id = ? AND status = ?",
                    (booking.slot_id, BookingState.CONFIRMED.value),
                )
                content = content_in(tx)
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
                f"SELECT {BOOKING_COLUMNS} FROM bookings WHERE station_id = ? AND requested_ms >= ?"  # noqa: S608 - only placeholders and constants are put in
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
            for b in map(booking_of, rows)
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
