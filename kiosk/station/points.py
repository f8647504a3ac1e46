"""Points at the station — pure policy: the balance shown, what is still pending, the offline cap, spend decisions.

The balance is the hub's. The station knows it from two snapshots: the one a rider's code carries (its
``points`` when issued) and the one the last bundle carries (``RiderBalance``). The newer one is the *base*;
what this station did that the base does not include (earned a check-in, handed out an item) is *pending*
on top of it:

- against a base that says up to which of this station's events it holds (a bundle's ``station_seq``, a
  version-2 code's points cover, :func:`code_balance`), an entry is pending when its ``seq`` is above that;
  a spend the hub confirmed live was applied by the hub at once, so it is pending only when it happened
  after the balance's ``as_of``;
- against a base that does not say (a version-1 code), an entry is pending when it happened after the code
  was issued — which undercounts whatever the hub had not received by then, hence the cover.

A spend normally waits for the hub's live answer. Without one (offline, or no answer within the time limit)
it may go ahead only when the shown balance covers it and the rider's spends the hub has not yet seen stay
within the offline cap: the worst a double spend across stations can cost the city is the cap.

Nothing here does I/O or reads a clock: the desk (:mod:`kiosk.flows.rider_desk`) hands everything in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kiosk.core.content import PointsRule
from kiosk.core.ridercode import PointsCover


class BalanceSource(enum.StrEnum):
    """Where a known balance came from."""

    BUNDLE = "bundle"
    """The hub's bundle (``RiderBalance``): exact up to ``station_seq`` of this station's events."""
    CODE = "code"
    """The points snapshot in the rider's code, as issued."""


@dataclass(frozen=True)
class KnownBalance:
    """A balance the hub stated at ``as_of``."""

    balance: int
    as_of: datetime
    source: BalanceSource
    station_seq: int | None = None
    """This station's events up to this seq are in ``balance``; None: not known (a version-1 code)."""


class EntryKind(enum.StrEnum):
    """What a local ledger entry did to the rider's points."""

    EARNED = "earned"
    SPENT = "spent"
    CANCELLED = "cancelled"
    """A spend given back because its bay did not open (``points.spend_cancelled``)."""


@dataclass(frozen=True)
class LocalEntry:
    """One move of a rider's points recorded at this station."""

    entry_id: str
    kind: EntryKind
    points: int
    """Always positive; ``kind`` says which way it moves the balance."""
    seq: int
    """Seq of the event that recorded it (what the hub's ``station_seq`` is compared with)."""
    wall: datetime
    """When it was recorded (what a code's ``issued_at`` is compared with)."""
    confirmed: bool = False
    """A spend the hub confirmed live before its bay opened."""
    synced: bool = False
    """The hub has acknowledged its event: it is reconciled there (applied or rejected) either way."""
    cancelled: bool = False
    """A spend that was later cancelled (it no longer counts against the offline cap)."""

    @property
    def signed_points(self) -> int:
        """The move as a signed number: earned and given back are plus, spent is minus."""
        return -self.points if self.kind is EntryKind.SPENT else self.points


def newest_balance(*known: KnownBalance | None) -> KnownBalance | None:
    """The most recent of the balances given (the bundle's wins a tie: it also says which events it holds)."""
    candidates = [k for k in known if k is not None]
    if not candidates:
        return None
    return max(candidates, key=lambda k: (k.as_of, k.source is BalanceSource.BUNDLE))


def code_balance(points: int, issued_at: datetime, covers: PointsCover | None, station_id: str) -> KnownBalance:
    """The base a code's points snapshot gives this station: what its cover says it holds of our events.

    A cover that lists this station holds our events up to its seq; a complete one that does not list us
    holds none of them (a simulator's code, or a rider new here); otherwise (a version-1 code, or a rider
    seen at more stations than the code lists) the code's issue time is all there is to go by.
    """
    seq = covers.seq_for(station_id) if covers is not None else None
    return KnownBalance(points, issued_at, BalanceSource.CODE, seq)


def is_pending(entry: LocalEntry, known: KnownBalance) -> bool:
    """Whether ``known`` does not yet include ``entry`` (see the module docstring for the rule)."""
    if known.station_seq is None:
        return entry.wall > known.as_of
    if entry.kind is EntryKind.SPENT and entry.confirmed:
        return entry.wall > known.as_of
    return entry.seq > known.station_seq


def shown_balance(known: KnownBalance | None, entries: Iterable[LocalEntry]) -> tuple[int | None, int]:
    """The balance to show and the pending part of it: ``(None, pending)`` when no balance was ever known.

    Without a base every local entry counts as pending.
    """
    moves = [e for e in entries if known is None or is_pending(e, known)]
    pending = sum(e.signed_points for e in moves)
    if known is None:
        return None, pending
    return known.balance + pending, pending


def unreconciled_offline_spends(entries: Iterable[LocalEntry]) -> int:
    """Points spent here without the hub's live confirmation that the hub has not seen yet (nor cancelled)."""
    return sum(
        e.points for e in entries if e.kind is EntryKind.SPENT and not e.confirmed and not e.synced and not e.cancelled
    )


def offline_cap_left(entries: Iterable[LocalEntry], cap: int) -> int:
    """How many points the rider may still spend here without the hub's live confirmation (never below 0)."""
    return max(0, cap - unreconciled_offline_spends(entries))


class SpendOutcome(enum.Enum):
    """What to do with a spend."""

    CONFIRMED = "confirmed"
    """The hub accepted it live: record it confirmed and open the bay."""
    OFFLINE = "offline"
    """No live answer, but the shown balance and the offline cap allow it: record it unconfirmed, open the bay."""
    REFUSED = "refused"


class SpendRefusal(enum.StrEnum):
    """Why a spend was refused (the values are the local API's ``RedeemAnswer.reason``)."""

    NOT_ENOUGH_POINTS = "not_enough_points"
    BALANCE_UNKNOWN = "balance_unknown"
    OFFLINE_CAP = "offline_cap"
    HUB_REFUSED = "hub_refused"


@dataclass(frozen=True)
class SpendDecision:
    """The outcome, and the reason when it is a refusal."""

    outcome: SpendOutcome
    reason: SpendRefusal | None = None

    @property
    def allowed(self) -> bool:
        """Whether the bay may open."""
        return self.outcome is not SpendOutcome.REFUSED


def decide_spend(
    *,
    cost: int,
    known: KnownBalance | None,
    entries: Sequence[LocalEntry],
    cap: int,
    live_accepted: bool | None,
) -> SpendDecision:
    """Decide a spend of ``cost`` points.

    ``live_accepted`` is the hub's live answer: True (accepted), False (refused: the hub's word is final),
    or None (no answer in time, or the station does not sync): then the offline rule decides.
    """
    if cost < 1:
        raise ValueError("a spend costs at least one point")
    if live_accepted is True:
        return SpendDecision(SpendOutcome.CONFIRMED)
    if live_accepted is False:
        return SpendDecision(SpendOutcome.REFUSED, SpendRefusal.HUB_REFUSED)
    balance, _pending = shown_balance(known, entries)
    if balance is None:
        return SpendDecision(SpendOutcome.REFUSED, SpendRefusal.BALANCE_UNKNOWN)
    if balance < cost:
        return SpendDecision(SpendOutcome.REFUSED, SpendRefusal.NOT_ENOUGH_POINTS)
    if cost > offline_cap_left(entries, cap):
        return SpendDecision(SpendOutcome.REFUSED, SpendRefusal.OFFLINE_CAP)
    return SpendDecision(SpendOutcome.OFFLINE)


def rule_named(rules: Iterable[PointsRule], rule_id: str) -> PointsRule | None:
    """The bundle's rule with id ``rule_id`` (None: the city does not reward that here)."""
    return next((r for r in rules if r.id == rule_id), None)


def earning_due(rules: Iterable[PointsRule], rule_id: str, earned_today: int) -> PointsRule | None:
    """The rule to credit now, or None: the city has no such rule, or the rider had it ``per_day`` times today.

    The hub applies ``per_day`` across all stations; the station only avoids crediting more than that itself.
    """
    rule = rule_named(rules, rule_id)
    if rule is None or earned_today >= rule.per_day:
        return None
    return rule
