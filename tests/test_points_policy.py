"""Points policy, pure: the balance shown, what is pending, the offline cap, spend decisions, earning rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.content import PointsRule
from kiosk.station.points import (
    BalanceSource,
    EntryKind,
    KnownBalance,
    LocalEntry,
    SpendOutcome,
    SpendRefusal,
    decide_spend,
    earning_due,
    newest_balance,
    offline_cap_left,
    shown_balance,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(
    kind: EntryKind, points: int, seq: int, minute: float, *, confirmed: bool = False, synced: bool = False
) -> LocalEntry:
    return LocalEntry(f"entry-{seq:04d}", kind, points, seq, at(minute), confirmed=confirmed, synced=synced)


def bundle(balance: int, station_seq: int, minute: float = 0) -> KnownBalance:
    return KnownBalance(balance, at(minute), BalanceSource.BUNDLE, station_seq)


def code(balance: int, minute: float) -> KnownBalance:
    return KnownBalance(balance, at(minute), BalanceSource.CODE)


# --- the balance shown ----------------------------------------------------------------------------------


def test_earning_after_the_bundle_balance_is_pending_and_shown() -> None:
    entries = [entry(EntryKind.EARNED, 2, seq=11, minute=5)]
    assert shown_balance(bundle(40, station_seq=10), entries) == (42, 2)


def test_entries_the_hub_already_applied_are_not_counted_twice() -> None:
    entries = [entry(EntryKind.SPENT, 5, seq=9, minute=-5), entry(EntryKind.EARNED, 2, seq=12, minute=5)]
    assert shown_balance(bundle(40, station_seq=10), entries) == (42, 2)


def test_a_live_confirmed_spend_counts_once_against_a_bundle_made_after_it() -> None:
    # The hub applied it when it answered; the bundle made later holds it whatever its seq.
    entries = [entry(EntryKind.SPENT, 5, seq=20, minute=1, confirmed=True)]
    assert shown_balance(bundle(35, station_seq=10, minute=2), entries) == (35, 0)


def test_a_code_snapshot_counts_what_happened_after_it_was_issued() -> None:
    entries = [entry(EntryKind.EARNED, 2, seq=3, minute=-1), entry(EntryKind.SPENT, 5, seq=4, minute=1)]
    assert shown_balance(code(30, minute=0), entries) == (25, -5)


def test_a_cancelled_spend_gives_the_points_back() -> None:
    entries = [entry(EntryKind.SPENT, 5, seq=11, minute=1), entry(EntryKind.CANCELLED, 5, seq=12, minute=1)]
    assert shown_balance(bundle(40, station_seq=10), entries) == (40, 0)


def test_a_balance_never_known_is_none_with_the_local_moves_as_pending() -> None:
    assert shown_balance(None, [entry(EntryKind.EARNED, 2, seq=1, minute=0)]) == (None, 2)


def test_the_newer_of_code_and_bundle_is_the_base() -> None:
    older, newer = bundle(40, station_seq=10, minute=0), code(55, minute=3)
    assert newest_balance(older, newer) is newer
    assert newest_balance(None, older) is older
    assert newest_balance(None, None) is None


def test_a_correction_shows_as_the_hubs_lower_balance_once_the_rejected_spend_is_reconciled() -> None:
    # Spent 20 offline here; the hub had it spent elsewhere and rejected this one: balance 10 - 0 (rejected).
    entries = [entry(EntryKind.SPENT, 20, seq=5, minute=0, synced=True)]
    assert shown_balance(bundle(-10, station_seq=5, minute=10), entries) == (-10, 0)


# --- spending -----------------------------------------------------------------------------------------------


def test_a_live_acceptance_is_confirmed_even_beyond_what_the_station_knows() -> None:
    decision = decide_spend(cost=50, known=None, entries=[], cap=0, live_accepted=True)
    assert decision.outcome is SpendOutcome.CONFIRMED


def test_a_live_refusal_is_final() -> None:
    decision = decide_spend(cost=5, known=bundle(100, 0), entries=[], cap=30, live_accepted=False)
    assert (decision.outcome, decision.reason) == (SpendOutcome.REFUSED, SpendRefusal.HUB_REFUSED)


def test_offline_a_covered_spend_within_the_cap_goes_ahead() -> None:
    decision = decide_spend(cost=5, known=bundle(20, 0), entries=[], cap=30, live_accepted=None)
    assert decision.outcome is SpendOutcome.OFFLINE
    assert decision.allowed


def test_offline_a_spend_beyond_the_balance_is_refused() -> None:
    decision = decide_spend(cost=25, known=bundle(20, 0), entries=[], cap=30, live_accepted=None)
    assert decision.reason is SpendRefusal.NOT_ENOUGH_POINTS


def test_offline_an_unknown_balance_is_refused() -> None:
    decision = decide_spend(cost=1, known=None, entries=[], cap=30, live_accepted=None)
    assert decision.reason is SpendRefusal.BALANCE_UNKNOWN


def test_offline_spends_beyond_the_cap_are_refused() -> None:
    spent = [entry(EntryKind.SPENT, 25, seq=1, minute=1)]
    decision = decide_spend(cost=10, known=bundle(100, 0), entries=spent, cap=30, live_accepted=None)
    assert (decision.reason, offline_cap_left(spent, 30)) == (SpendRefusal.OFFLINE_CAP, 5)


def test_spends_the_hub_has_seen_or_confirmed_free_the_cap() -> None:
    entries = [
        entry(EntryKind.SPENT, 25, seq=1, minute=1, synced=True),
        entry(EntryKind.SPENT, 25, seq=2, minute=2, confirmed=True),
    ]
    assert offline_cap_left(entries, 30) == 30


def test_a_cap_of_zero_allows_no_offline_spend() -> None:
    decision = decide_spend(cost=1, known=bundle(100, 0), entries=[], cap=0, live_accepted=None)
    assert decision.reason is SpendRefusal.OFFLINE_CAP


def test_a_spend_of_nothing_is_a_bug() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        decide_spend(cost=0, known=None, entries=[], cap=30, live_accepted=None)


@given(
    cap=st.integers(min_value=0, max_value=200),
    balance=st.integers(min_value=-50, max_value=500),
    costs=st.lists(st.integers(min_value=1, max_value=60), max_size=30),
)
def test_offline_spends_never_exceed_the_cap_in_any_sequence(cap: int, balance: int, costs: list[int]) -> None:
    known = bundle(balance, station_seq=0)
    entries: list[LocalEntry] = []
    for seq, cost in enumerate(costs, start=1):
        decision = decide_spend(cost=cost, known=known, entries=entries, cap=cap, live_accepted=None)
        if decision.allowed:
            entries.append(entry(EntryKind.SPENT, cost, seq=seq, minute=seq))
    spent = sum(e.points for e in entries)
    assert spent <= cap
    assert spent <= max(balance, 0)


# --- earning ------------------------------------------------------------------------------------------------


def test_a_rule_the_city_has_is_due_until_its_daily_limit() -> None:
    rules = [PointsRule(id="checkin", points=2), PointsRule(id="feedback", points=1, per_day=2)]
    assert earning_due(rules, "checkin", earned_today=0) == rules[0]
    assert earning_due(rules, "checkin", earned_today=1) is None
    assert earning_due(rules, "feedback", earned_today=1) == rules[1]


def test_nothing_is_earned_for_a_rule_the_city_does_not_have() -> None:
    assert earning_due([PointsRule(id="feedback", points=1)], "checkin", earned_today=0) is None
