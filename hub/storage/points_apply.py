"""Applying stations' rider events to the hub's ledger, bookings and feedback: exactly once, inside ``ingest``.

See :mod:`hub.storage.points` for the rules (exactly once by entry id, one rider at a time, double spends).
A batch is decided in Python and written with a few multi-row statements, whatever its size: on
PostgreSQL each statement is a round trip, and one per event made ingest of a points-heavy mix 3x too slow.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from hub.anchoring import Placed, TimeState
from hub.content import Content
from hub.storage.base import epoch_ms, iso
from hub.storage.db import Engine, Tx
from hub.storage.flags import Flag, FlagKind, add_flags
from hub.storage.nonces import CodeUse, record_nonces
from hub.storage.points_models import BookingState, EntryKind, EntryStatus
from hub.storage.points_policy import (
    earning_mismatch,
    earning_refusal,
    find_item,
    hub_day,
    spend_mismatch,
    spend_refusal,
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
SIGN = {EntryKind.EARNED: 1, EntryKind.CREDITED: 1, EntryKind.REFUNDED: 1, EntryKind.SPENT: -1}
"""How an applied entry of each kind moves the balance."""
BOOKING_COLUMNS = (
    "booking_id, station_id, rider_id, service_id, slot_id, starts, status, note, requested_at, updated_at"
)
_FEEDBACK_COLUMNS = "feedback_id, station_id, rating, topic, text, rider_id, at, at_ms"
_T = TypeVar("_T")


# --- pure policy ----------------------------------------------------------------------------------------


def refund_id(entry_id: str) -> str:
    """The ledger id of the refund of spend ``entry_id`` (``:`` never appears in a station's entry id)."""
    return f"{entry_id}:refund"


def content_in(tx: Tx) -> Content:
    """The city's content as loaded (empty when none was)."""
    row = tx.one("SELECT body FROM content WHERE name = 'content'")
    return Content() if row is None else Content.model_validate_json(row[0])


# --- applying a station's events ------------------------------------------------------------------------

_Body = PointsEarned | PointsSpent | PointsSpendCancelled | BookingRequested | FeedbackGiven | CodeUse
"""A parsed event body (:class:`CodeUse`: the rider and nonce of a ``code.accepted``)."""
_MODELS: dict[str, type[PointsEarned | PointsSpent | PointsSpendCancelled | BookingRequested | FeedbackGiven]] = {
    m.TYPE: m for m in (PointsEarned, PointsSpent, PointsSpendCancelled, BookingRequested, FeedbackGiven)
}


def _parse(record: EventRecord) -> _Body | None:
    """The record's body, or None (logged once, with the event id) when its payload does not fit."""
    try:
        if record.type == CODE_ACCEPTED:
            rider, nonce = record.payload.get("rider_id"), record.payload.get("nonce")
            if not isinstance(rider, str) or not 0 < len(rider) <= 20:
                raise ValueError("rider_id must be text of 1 to 20 characters")
            return CodeUse(record.id, rider, nonce if isinstance(nonce, str) and 0 < len(nonce) <= 64 else None)
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


def apply_rider_events(
    tx: Tx,
    station_id: str,
    records: Sequence[EventRecord],
    *,
    now: datetime,
    placed: Mapping[str, Placed] | None = None,
    utc_offset_minutes: int = 0,
) -> None:
    """Apply newly stored points, booking, feedback and code events of one station, in ``seq`` order.

    Called by ``ingest`` in the transaction that stores them: applied if and only if stored. Records of
    other types are ignored. A batch costs a handful of statements whatever its size (each is a round
    trip, and on PostgreSQL those dominate): lock the riders, read what the ledger already holds of the
    batch's entries, decide every event in Python (:func:`_decide`), then write each table once.
    ``placed`` (by event id) is where the hub put each event in time: earnings count on the hub's day of
    it (:func:`hub.storage.points_policy.hub_day`); an event missing from it is placed at ``now``.
    """
    ordered = sorted((r for r in records if r.type in RIDER_EVENT_TYPES), key=lambda r: r.seq)
    bodies = [(r, body) for r, body in ((r, _parse(r)) for r in ordered) if body is not None]
    if not bodies:
        return
    points = [b for _, b in bodies if isinstance(b, PointsEarned | PointsSpent | PointsSpendCancelled)]
    balances = _lock_riders(tx, sorted({b.rider_id for b in points}), now)
    priced = PointsEarned | PointsSpent | BookingRequested
    content = content_in(tx) if any(isinstance(b, priced) for _, b in bodies) else Content()
    known = _known_entries(tx, points)
    days = {
        r.id: _day_of(r, (placed or {}).get(r.id), now, utc_offset_minutes)
        for r, b in bodies
        if isinstance(b, PointsEarned)
    }
    earnings = [(b.rider_id, days[r.id][0]) for r, b in bodies if isinstance(b, PointsEarned)]
    counts = _earned_counts(tx, [(rider, day) for rider, day in earnings if day is not None])
    plan = _decide(
        station_id, bodies, balances=balances, known=known, earned=counts, content=content, now=now, days=days
    )
    inserted = _insert_entries(tx, plan.entries, now)
    if plan.fixed_refunds:
        tx.executemany(
            "UPDATE ledger SET status = ?, points = ?, item_id = ?, reason = ? WHERE entry_id = ?",
            [(EntryStatus.APPLIED.value, f.points, f.item_id, "", f.entry_id) for f in plan.fixed_refunds],
        )
    _move_balances(tx, plan.balance_moves(inserted), now)
    _note_riders_seen(tx, station_id, plan.seen, now)
    _insert_rows(tx, "bookings", f"{BOOKING_COLUMNS}, requested_ms", "booking_id", plan.bookings, _BOOKING_TYPES)
    _insert_rows(tx, "feedback", _FEEDBACK_COLUMNS, "feedback_id", plan.feedback, _FEEDBACK_TYPES)
    plan.flags.extend(record_nonces(tx, station_id, plan.codes, now))
    add_flags(tx, plan.flags, now)


def _day_of(record: EventRecord, placed: Placed | None, now: datetime, offset: int) -> tuple[str | None, str | None]:
    """The hub's day of an earning (or why it has none): from where the hub placed it, never its ``day``."""
    if placed is None:
        return hub_day(now, TimeState.SYNCED, now, offset)
    return hub_day(placed.corrected, placed.state, now, offset)


# --- deciding a batch (no database) ---------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    """A ledger entry as the batch sees it: held before it began (``stored``) or decided by it."""

    entry_id: str
    rider_id: str
    kind: EntryKind
    points: int
    status: EntryStatus
    item_id: str | None
    stored: bool = True
    station_id: str | None = None
    rule: str | None = None
    day: str | None = None
    reason: str = ""
    event_id: str | None = None
    balance_rider: str | None = None
    """Whose balance the entry moves when it applies (None: its own rider's)."""


@dataclass(frozen=True, slots=True)
class _FixedRefund:
    """A REJECTED refund held before the batch that counts now that its spend does."""

    entry_id: str
    rider_id: str
    points: int
    item_id: str


@dataclass
class _Plan:
    """What a batch writes: new ledger entries in ``seq`` order, refunds made good, riders seen, rows."""

    entries: list[_Entry] = field(default_factory=list)
    fixed_refunds: list[_FixedRefund] = field(default_factory=list)
    seen: dict[str, None] = field(default_factory=dict)
    bookings: list[tuple[Any, ...]] = field(default_factory=list)
    feedback: list[tuple[Any, ...]] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    codes: list[CodeUse] = field(default_factory=list)

    def balance_moves(self, inserted: Collection[str]) -> dict[str, int]:
        """Per rider, the points to add: entries that apply and were really inserted, and refunds made good.

        An entry whose insert found its id taken (another writer got there first) moves nothing, so the
        balance always equals what the ledger applies.
        """
        moves: dict[str, int] = {}
        for e in self.entries:
            if e.status is EntryStatus.APPLIED and e.entry_id in inserted:
                rider = e.balance_rider or e.rider_id
                moves[rider] = moves.get(rider, 0) + SIGN[e.kind] * e.points
        for f in self.fixed_refunds:
            moves[f.rider_id] = moves.get(f.rider_id, 0) + f.points
        return moves


_Day = tuple[str, str, str]
"""(rider, rule, day): what a rule's daily limit counts (the hub's day)."""
_HubDay = tuple[str | None, str | None]
"""The hub's day of an event, or None and why it has none."""


def _decide(
    station_id: str,
    bodies: Sequence[tuple[EventRecord, _Body]],
    *,
    balances: dict[str, int],
    known: dict[str, _Entry],
    earned: dict[_Day, int],
    content: Content,
    now: datetime,
    days: Mapping[str, _HubDay],
) -> _Plan:
    """Decide every event of the batch in order against the running balances: the outcome of applying them
    one by one. ``balances``, ``known`` and ``earned`` (held before the batch) are updated as it goes.
    """
    plan = _Plan()
    decider = _Decider(station_id, plan, balances, known, earned, content, days)
    for record, body in bodies:
        if isinstance(body, CodeUse):
            plan.seen[body.rider_id] = None
            plan.codes.append(body)
        elif isinstance(body, PointsEarned):
            decider.earned(record, body)
        elif isinstance(body, PointsSpent):
            decider.spent(record, body)
        elif isinstance(body, PointsSpendCancelled):
            decider.cancelled(record, body)
        elif isinstance(body, BookingRequested):
            plan.bookings.append(_booking_row(station_id, body, content, now))
        else:
            plan.feedback.append(_feedback_row(station_id, record, body))
    return plan


@dataclass
class _Decider:
    """The running state of one batch's decisions (see :func:`_decide`)."""

    station_id: str
    plan: _Plan
    balances: dict[str, int]
    known: dict[str, _Entry]
    counts: dict[_Day, int]
    content: Content
    days: Mapping[str, _HubDay]

    def flag(self, kind: FlagKind, record: EventRecord, detail: str) -> None:
        """Note what the hub noticed about one of the station's events."""
        log.warning("station %s, event %s: %s", self.station_id, record.id, detail)
        self.plan.flags.append(Flag(self.station_id, kind, record.id, detail))

    def add(self, entry: _Entry) -> None:
        """A new entry: known from now on, to be inserted, and moving the running balance if it applies."""
        self.known[entry.entry_id] = entry
        self.plan.entries.append(entry)
        if entry.status is EntryStatus.APPLIED:
            self.balances[entry.rider_id] += SIGN[entry.kind] * entry.points

    def earned(self, record: EventRecord, body: PointsEarned) -> None:
        """An earning is worth what the city's rule gives, within its daily limit on the hub's day.

        A claim that disagrees with the rules is flagged and earns nothing; the station's ``day`` is ignored.
        """
        self.plan.seen[body.rider_id] = None
        if body.entry_id in self.known:
            return  # sent before: it counts once
        rule = self.content.rule(body.rule)
        day, reason = self.days.get(record.id, (None, "the hub could not place it in time"))
        mismatch = earning_mismatch(body.rule, rule, body.points)
        if mismatch is not None:
            self.flag(FlagKind.POINTS_MISMATCH, record, mismatch)
            reason = mismatch
        if reason is None and day is not None and rule is not None:
            key = (body.rider_id, body.rule, day)
            reason = earning_refusal(body.rule, rule.per_day, self.counts.get(key, 0), day)
            if reason is None:
                self.counts[key] = self.counts.get(key, 0) + 1
        self.add(
            _Entry(
                entry_id=body.entry_id,
                rider_id=body.rider_id,
                kind=EntryKind.EARNED,
                points=body.points if rule is None or reason is not None else rule.points,
                status=EntryStatus.APPLIED if reason is None else EntryStatus.REJECTED,
                item_id=None,
                stored=False,
                station_id=self.station_id,
                rule=body.rule,
                day=day,
                reason=reason or "",
                event_id=record.id,
            )
        )

    def spent(self, record: EventRecord, body: PointsSpent) -> None:
        """A spend counts when the running balance covers it; else it is refused "already spent elsewhere"."""
        self.plan.seen[body.rider_id] = None
        if body.entry_id in self.known:
            return  # confirmed live by spend_now (or a clash of ids): it counts once
        item = find_item(self.content.catalogue, body.item_id)
        price = body.points if item is None else item.points
        if item is None:
            self.flag(FlagKind.UNKNOWN_ITEM, record, f"a spend of {body.item_id!r}, not in the city's catalogue")
        elif (mismatch := spend_mismatch(body.item_id, item, body.points)) is not None:
            self.flag(FlagKind.POINTS_MISMATCH, record, f"{mismatch}; charged {price}")
        refusal = spend_refusal(self.balances[body.rider_id], price)
        status = EntryStatus.APPLIED if refusal is None else EntryStatus.REJECTED
        self.add(
            _Entry(
                entry_id=body.entry_id,
                rider_id=body.rider_id,
                kind=EntryKind.SPENT,
                points=price,
                status=status,
                item_id=body.item_id,
                stored=False,
                station_id=self.station_id,
                reason="" if refusal is None else f"{ALREADY_SPENT} ({refusal})",
                event_id=record.id,
            )
        )
        refund = self.known.get(refund_id(body.entry_id))
        if status is EntryStatus.APPLIED and refund is not None and refund.status is EntryStatus.REJECTED:
            # The cancellation came first (events out of order): now that the spend counts, so does its refund.
            refund.status, refund.points, refund.item_id, refund.reason = (EntryStatus.APPLIED, price, body.item_id, "")
            self.balances[body.rider_id] += price
            if refund.stored:
                self.plan.fixed_refunds.append(_FixedRefund(refund.entry_id, body.rider_id, price, body.item_id))
            else:
                refund.balance_rider = body.rider_id

    def cancelled(self, record: EventRecord, body: PointsSpendCancelled) -> None:
        """A cancelled spend is refunded once, if it counted; a refusal is noted if it did not (or is unknown)."""
        spend = self.known.get(body.entry_id)
        if spend is not None and (spend.rider_id != body.rider_id or spend.kind is not EntryKind.SPENT):
            log.warning(
                "event %s cancels %s, not a spend of rider %s: ignored", record.id, body.entry_id, body.rider_id
            )
            return
        if refund_id(body.entry_id) in self.known:
            return  # refunded (or refused) once already
        applies = spend is not None and spend.status is EntryStatus.APPLIED
        self.add(
            _Entry(
                entry_id=refund_id(body.entry_id),
                rider_id=body.rider_id,
                kind=EntryKind.REFUNDED,
                points=spend.points if spend is not None else 1,
                status=EntryStatus.APPLIED if applies else EntryStatus.REJECTED,
                item_id=None if spend is None else spend.item_id,
                stored=False,
                station_id=self.station_id,
                reason=body.reason if applies else f"nothing to refund: the spend did not count ({body.reason})",
                event_id=record.id,
            )
        )


def _feedback_row(station_id: str, record: EventRecord, body: FeedbackGiven) -> tuple[Any, ...]:
    """The feedback row of a rider's feedback (NUL cannot be stored in PostgreSQL text)."""
    return (
        body.feedback_id,
        station_id,
        body.rating,
        body.topic,
        body.text.replace("\x00", ""),
        body.rider_id,
        iso(record.wall),
        epoch_ms(record.wall),
    )


def _booking_row(station_id: str, body: BookingRequested, content: Content, now: datetime) -> tuple[Any, ...]:
    """The bookings row of a request: declined at once when the slot is no longer offered."""
    slot = content.find_slot(body.service_id, body.slot_id)
    state, note = BookingState.REQUESTED, ""
    if slot is None:
        state, note = BookingState.DECLINED, "this time is not offered any more; please choose another"
    return (
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
    )


# --- a batch's statements -------------------------------------------------------------------------------
#
# Every bulk statement reads its rows from a relation ``v`` with columns column1, column2, ...: on
# PostgreSQL ``unnest`` of one array per column (a handful of parameters, however many rows: binding
# thousands of single values costs more client time than the statement takes on the server), on SQLite
# ``VALUES`` (whose columns have those names), in chunks under its limit of bound variables. The arrays
# are bound in binary (psycopg's ``%b``, left alone by Tx's ``?`` -> ``%s``): text arrays are escaped
# element by element with a regular expression, which took half of ingest's client time.

_SQLITE_PARAMS_PER_STATEMENT = 30_000
"""Values bound in one SQLite statement at most (its limit is 32,766)."""
_TEXT, _INT = "text", "bigint"
_LEDGER_TYPES = (_INT, _TEXT, _TEXT, _TEXT, _TEXT, _INT, _TEXT, _TEXT, _INT, _TEXT, _TEXT, _TEXT, _TEXT, _TEXT)
_BOOKING_TYPES = (*[_TEXT] * 10, _INT)
_FEEDBACK_TYPES = (_TEXT, _TEXT, _INT, _TEXT, _TEXT, _TEXT, _TEXT, _INT)


def _chunks(rows: Sequence[_T], width: int) -> Iterator[Sequence[_T]]:
    """``rows`` in slices small enough that ``width`` values a row stay under SQLite's limit."""
    size = max(1, _SQLITE_PARAMS_PER_STATEMENT // width)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _sources(tx: Tx, rows: Sequence[Sequence[Any]], types: Sequence[str]) -> Iterator[tuple[str, list[Any]]]:
    """The relation ``v`` holding ``rows`` (PostgreSQL ``types`` per column), with its parameters; one per chunk."""
    if not rows:
        return
    if tx.engine is Engine.POSTGRES:
        arrays = ", ".join(f"%b::{t}[]" for t in types)
        names = ", ".join(f"column{i}" for i in range(1, len(types) + 1))
        yield f"unnest({arrays}) AS v({names})", [list(c) for c in zip(*rows, strict=True)]
        return
    row = "(" + ", ".join(["?"] * len(types)) + ")"
    for chunk in _chunks(rows, len(types)):
        yield f"(VALUES {', '.join([row] * len(chunk))}) AS v", [value for r in chunk for value in r]


def _columns(last: int, first: int = 1) -> str:
    """``v.column<first>, ..., v.column<last>``."""
    return ", ".join(f"v.column{i}" for i in range(first, last + 1))


def _lock_riders(tx: Tx, riders: Sequence[str], now: datetime) -> dict[str, int]:
    """Lock the riders' balance rows (made at 0 if new), in the given (sorted) order; their balances.

    Sorted, so two stations' batches lock shared riders in the same order and cannot deadlock.
    """
    balances: dict[str, int] = {}
    at = iso(now)
    for source, params in _sources(tx, [(r, at) for r in riders], (_TEXT, _TEXT)):
        rows = tx.execute(
            f"INSERT INTO rider_points (rider_id, balance, updated_at) SELECT v.column1, 0, v.column2 FROM {source}"  # noqa: S608 - only placeholders and constants are put in
            # "WHERE true": SQLite needs it to tell the upsert's ON from a join's ON after INSERT ... SELECT.
            " WHERE true ON CONFLICT (rider_id) DO UPDATE SET balance = rider_points.balance"
            " RETURNING rider_id, balance",
            params,
        )
        balances.update((str(rider), int(balance)) for rider, balance in rows)
    return balances


def _known_entries(tx: Tx, bodies: Sequence[PointsEarned | PointsSpent | PointsSpendCancelled]) -> dict[str, _Entry]:
    """The ledger's entries (before this batch) that the batch's events name: their own, spends and refunds."""
    ids = sorted(
        {b.entry_id for b in bodies}
        | {refund_id(b.entry_id) for b in bodies if isinstance(b, PointsSpent | PointsSpendCancelled)}
    )
    known: dict[str, _Entry] = {}
    for source, params in _sources(tx, [(i,) for i in ids], (_TEXT,)):
        rows = tx.execute(
            "SELECT entry_id, rider_id, kind, points, status, item_id FROM ledger"  # noqa: S608 - only placeholders and constants are put in
            f" WHERE entry_id IN (SELECT v.column1 FROM {source})",
            params,
        )
        for entry_id, rider, kind, points, status, item in rows:
            known[str(entry_id)] = _Entry(
                str(entry_id), str(rider), EntryKind(kind), int(points), EntryStatus(status), item
            )
    return known


def _earned_counts(tx: Tx, earnings: Sequence[tuple[str, str]]) -> dict[_Day, int]:
    """How often each (rider, rule, day) of the batch's (rider, hub day) earnings was earned before this batch."""
    if not earnings:
        return {}
    days = sorted({day for _, day in earnings})
    riders = sorted({rider for rider, _ in earnings})
    head = "SELECT rider_id, rule, day, COUNT(*) FROM ledger WHERE kind = ? AND status = ?"
    selects: list[tuple[str, list[Any]]]
    if tx.engine is Engine.POSTGRES:
        # "= ANY" of two arrays: measured 4x faster than a row IN (SELECT ... FROM unnest(...)).
        selects = [(f"{head} AND rider_id = ANY(%b::text[]) AND day = ANY(%b::text[])", [riders, days])]
    else:
        selects = [
            (
                f"{head} AND rider_id IN ({', '.join(['?'] * len(chunk))}) AND day IN ({', '.join(['?'] * len(days))})",
                [*chunk, *days],
            )
            for chunk in _chunks(riders, len(days) + 1)  # chunk + days values stay under the limit
        ]
    counts: dict[_Day, int] = {}
    for sql, params in selects:
        rows = tx.execute(
            f"{sql} GROUP BY rider_id, rule, day", (EntryKind.EARNED.value, EntryStatus.APPLIED.value, *params)
        )
        counts.update(((str(rider), str(rule), str(day)), int(n)) for rider, rule, day, n in rows)
    return counts


def _insert_entries(tx: Tx, entries: Sequence[_Entry], now: datetime) -> set[str]:
    """Insert the batch's new ledger entries (ids already held are skipped); the ids really inserted.

    ``n`` follows the batch's order after the highest ``n`` held, read by the insert itself.
    """
    at, at_ms = iso(now), epoch_ms(now)
    rows = [
        (
            position,
            e.entry_id,
            e.rider_id,
            e.station_id,
            e.kind.value,
            e.points,
            e.status.value,
            at,
            at_ms,
            e.rule,
            e.item_id,
            e.day,
            e.reason,
            e.event_id,
        )
        for position, e in enumerate(entries, start=1)
    ]
    inserted: set[str] = set()
    for source, params in _sources(tx, rows, _LEDGER_TYPES):
        found = tx.execute(
            "INSERT INTO ledger (n, entry_id, rider_id, station_id, kind, points, status, at, at_ms, rule, item_id,"  # noqa: S608 - only placeholders and constants are put in
            f" day, reason, event_id) SELECT m.top + v.column1, {_columns(14, first=2)}"
            f" FROM {source}, (SELECT COALESCE(MAX(n), 0) AS top FROM ledger) AS m"
            " WHERE true ON CONFLICT (entry_id) DO NOTHING RETURNING entry_id",
            params,
        )
        inserted.update(str(r[0]) for r in found)
    return inserted


def _move_balances(tx: Tx, moves: dict[str, int], now: datetime) -> None:
    """Add each rider's points (the rows are locked already)."""
    at = iso(now)
    rows = [(rider, moves[rider], at) for rider in sorted(moves)]
    for source, params in _sources(tx, rows, (_TEXT, _INT, _TEXT)):
        tx.execute(
            "UPDATE rider_points SET balance = rider_points.balance + v.column2, updated_at = v.column3"  # noqa: S608 - only placeholders and constants are put in
            f" FROM {source} WHERE rider_points.rider_id = v.column1",
            params,
        )


def _note_riders_seen(tx: Tx, station_id: str, riders: Collection[str], now: datetime) -> None:
    """Note that the riders were at the station now (their balances go into its bundles for a while)."""
    at_ms = epoch_ms(now)
    rows = [(rider, station_id, at_ms) for rider in sorted(riders)]
    for source, params in _sources(tx, rows, (_TEXT, _TEXT, _INT)):
        tx.execute(
            f"INSERT INTO rider_stations (rider_id, station_id, last_seen_ms) SELECT {_columns(3)} FROM {source}"  # noqa: S608 - only placeholders and constants are put in
            " WHERE true ON CONFLICT (rider_id, station_id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms",
            params,
        )


def _insert_rows(
    tx: Tx, table: str, columns: str, key: str, rows: Sequence[tuple[Any, ...]], types: Sequence[str]
) -> None:
    """Insert ``rows`` into ``table``, skipping those whose ``key`` is held already (the first of equal ones wins)."""
    for source, params in _sources(tx, rows, types):
        tx.execute(
            f"INSERT INTO {table} ({columns}) SELECT {_columns(len(types))} FROM {source}"  # noqa: S608 - only placeholders and constants are put in
            f" WHERE true ON CONFLICT ({key}) DO NOTHING",
            params,
        )
