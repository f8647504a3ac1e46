"""Issue 13, bug 4: a code's points snapshot says what it includes; the station adds its own moves it does not.

After a spend (42 -> 37) the next code of the same rider used to show 42 again with nothing pending, and
the check-in and feedback credits never showed: the station took every move recorded before the code was
issued as included in the code's balance, which is true only if the hub had them. Now a code (RK2) says, per
station, up to which of its events the snapshot holds; the simulator's codes say they hold none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.ridercode import PointsCover, RiderCode, Scope, parse_code, station_tag
from kiosk.station.points import (
    BalanceSource,
    EntryKind,
    KnownBalance,
    LocalEntry,
    code_balance,
    shown_balance,
)

RIDER = "R1001"
STATION = "sim-001"
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def entry(kind: EntryKind, points: int, seq: int, minutes: int) -> LocalEntry:
    return LocalEntry(entry_id=f"e{seq}", kind=kind, points=points, seq=seq, wall=T0 + timedelta(minutes=minutes))


CHECKIN = entry(EntryKind.EARNED, 2, seq=10, minutes=1)
SPEND = entry(EntryKind.SPENT, 5, seq=11, minutes=2)
FEEDBACK = entry(EntryKind.EARNED, 1, seq=12, minutes=3)


# --- the rule, pure ------------------------------------------------------------------------------------


def test_a_snapshot_that_holds_none_of_this_stations_moves_gets_them_all_added() -> None:
    later = T0 + timedelta(minutes=10)  # the code was issued after every move, which the issuer never saw
    known = code_balance(42, later, PointsCover(stations=(), complete=True), STATION)
    assert shown_balance(known, [CHECKIN, SPEND, FEEDBACK]) == (40, -2)


def test_a_snapshot_that_holds_this_station_up_to_a_seq_adds_only_the_later_moves() -> None:
    later = T0 + timedelta(minutes=10)
    cover = PointsCover(stations=((station_tag(STATION), 11),), complete=True)
    known = code_balance(39, later, cover, STATION)  # the hub had the check-in and the spend: 42 + 2 - 5
    assert shown_balance(known, [CHECKIN, SPEND, FEEDBACK]) == (40, 1)


def test_a_snapshot_of_another_station_only_holds_none_of_this_ones_when_complete() -> None:
    later = T0 + timedelta(minutes=10)
    other = ((station_tag("st-east-9"), 500),)
    complete = code_balance(42, later, PointsCover(stations=other, complete=True), STATION)
    assert shown_balance(complete, [CHECKIN, SPEND, FEEDBACK]) == (40, -2)
    partial = code_balance(42, later, PointsCover(stations=other, complete=False), STATION)
    assert partial.station_seq is None  # unknown: the old rule (moves after issue are pending) is all there is
    assert shown_balance(partial, [CHECKIN, SPEND, FEEDBACK]) == (42, 0)


def test_a_version_1_code_keeps_the_old_rule() -> None:
    known = code_balance(42, T0 + timedelta(seconds=90), None, STATION)
    assert known == KnownBalance(42, T0 + timedelta(seconds=90), BalanceSource.CODE)
    assert shown_balance(known, [CHECKIN, SPEND, FEEDBACK]) == (38, -4)


def test_a_spend_the_hub_confirmed_live_is_in_a_snapshot_issued_after_it() -> None:
    confirmed = LocalEntry(entry_id="c", kind=EntryKind.SPENT, points=5, seq=11, wall=T0, confirmed=True)
    cover = PointsCover(stations=((station_tag(STATION), 3),), complete=True)
    assert shown_balance(code_balance(37, T0 + timedelta(minutes=1), cover, STATION), [confirmed]) == (37, 0)


# --- who issues codes ------------------------------------------------------------------------------------


def test_the_simulators_codes_say_their_snapshot_holds_no_stations_moves(tmp_path: Path) -> None:
    from kiosk.core.clock import SystemClock
    from kiosk.sim.codes import SimCodeIssuer

    text = SimCodeIssuer(tmp_path, SystemClock(), {RIDER: 42}).issue(RIDER)
    code = parse_code(text).code
    assert text.startswith("RK2:")
    assert (code.points, code.covers) == (42, PointsCover(stations=(), complete=True))


def test_a_code_without_points_stays_version_1(tmp_path: Path) -> None:
    from kiosk.core.clock import SystemClock
    from kiosk.sim.codes import SimCodeIssuer

    assert SimCodeIssuer(tmp_path, SystemClock(), {}).issue(RIDER).startswith("RK1:")


def test_covers_need_points() -> None:
    from kiosk.core.ridercode import CodeFormatError

    with pytest.raises(CodeFormatError, match="points"):
        RiderCode.issue(
            kid="k1", rider_id=RIDER, scopes=Scope.SWAP, now=T0, ttl=timedelta(minutes=5), covers=PointsCover((), True)
        )
