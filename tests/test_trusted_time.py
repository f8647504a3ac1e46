"""The time codes are checked against without NTP (issue 12, item 4): pure rules, the kept mark, a reboot.

A reboot is simulated as it happens on a Pi without a real-time clock: a new boot id, the monotonic clock
starting again near zero, and a wall clock that is wrong and not synchronised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.config import parse_config
from kiosk.core.ridercode import RiderCode, Scope, public_key_to_b64, sign_code
from kiosk.flows.timekeeper import NO_TRUSTED_TIME, PERSIST_EVERY_S, TimeKeeper
from kiosk.station.codes import Accepted, KeyInfo, KeySet, Refusal, Refused, Verdict, read_scan, verify
from kiosk.station.trusted_time import CodeTime, TimeMark, TimeSource, carried, code_time, newer, rebased
from kiosk.store.component import StoreComponent
from kiosk.store.timemark import read_time_mark
from tests.test_codes_verify import NEW, make

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WRONG_WALL = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
"""What a Pi without a real-time clock may believe after a power cut (fake-hwclock's last save, or worse)."""
SKEW = 120.0
KEYS = KeySet([KeyInfo("k-new", public_key_to_b64(NEW.public_key()), T0 - timedelta(days=400), None)])


def check(text: str, moment: CodeTime) -> Verdict:
    return verify(
        read_scan(text),
        scope=Scope.SWAP,
        keyset=KEYS,
        revoked_riders=frozenset(),
        nonce_seen=lambda nonce: False,
        now=moment.now,
        skew_s=SKEW,
        lower_bound=moment.lower_bound,
    )


def reason(verdict: Verdict) -> Refusal | None:
    return verdict.reason if isinstance(verdict, Refused) else None


# --- pure rules ------------------------------------------------------------------------------------


def test_a_mark_is_carried_by_monotonic_time_within_its_boot() -> None:
    mark = TimeMark(T0, 500.0, "boot-1", TimeSource.HUB)
    assert carried(mark, boot_id="boot-1", mono=800.0) == T0 + timedelta(seconds=300)


def test_after_a_reboot_a_mark_is_carried_by_the_time_since_boot_only() -> None:
    mark = TimeMark(T0, 90_000.0, "boot-1", TimeSource.NTP)
    assert carried(mark, boot_id="boot-2", mono=42.0) == T0 + timedelta(seconds=42)


def test_a_monotonic_clock_that_went_back_never_moves_a_mark_back() -> None:
    mark = TimeMark(T0, 500.0, "boot-1", TimeSource.HUB)
    assert carried(mark, boot_id="boot-1", mono=100.0) == T0


def test_the_newer_mark_is_the_one_that_says_the_later_time_now() -> None:
    old = TimeMark(T0, 0.0, "b", TimeSource.NTP)
    seen = TimeMark(T0 + timedelta(seconds=10), 100.0, "b", TimeSource.HUB)  # earlier than old carried to 100 s
    assert newer(old, seen, boot_id="b", mono=100.0) is old
    later = TimeMark(T0 + timedelta(seconds=200), 100.0, "b", TimeSource.HUB)
    assert newer(old, later, boot_id="b", mono=100.0) is later
    assert newer(None, seen, boot_id="b", mono=100.0) is seen


def test_a_rebased_mark_keeps_the_time_and_takes_this_boot() -> None:
    mark = TimeMark(T0, 10.0, "boot-1", TimeSource.HUB)
    kept = rebased(mark, boot_id="boot-1", mono=70.0)
    assert (kept.at, kept.mono, kept.boot_id) == (T0 + timedelta(seconds=60), 70.0, "boot-1")
    assert TimeMark.from_json(kept.to_json()) == kept


def test_a_synchronised_wall_clock_is_the_time_itself() -> None:
    moment = code_time(None, wall=T0, wall_synced=True, boot_id="b", mono=1.0)
    assert moment == CodeTime(T0, lower_bound=False, trusted=True)


def test_without_ntp_the_carried_mark_is_the_time_and_only_a_lower_bound() -> None:
    mark = TimeMark(T0, 0.0, "boot-1", TimeSource.HUB)
    moment = code_time(mark, wall=WRONG_WALL, wall_synced=False, boot_id="boot-2", mono=30.0)
    assert moment == CodeTime(T0 + timedelta(seconds=30), lower_bound=True, trusted=True)


def test_a_station_that_never_saw_a_trusted_time_uses_its_own_clock_and_says_so() -> None:
    moment = code_time(None, wall=WRONG_WALL, wall_synced=False, boot_id="b", mono=30.0)
    assert moment == CodeTime(WRONG_WALL, lower_bound=True, trusted=False)


def test_a_code_expired_before_the_lower_bound_is_refused() -> None:
    moment = CodeTime(T0 + timedelta(minutes=15), lower_bound=True, trusted=True)
    assert reason(check(make(issued=T0), moment)) is Refusal.EXPIRED


def test_a_fresh_code_is_never_not_yet_valid_against_a_lagging_lower_bound() -> None:
    moment = CodeTime(T0 - timedelta(hours=3), lower_bound=True, trusted=True)
    assert isinstance(check(make(issued=T0), moment), Accepted)


def test_with_ntp_a_code_from_the_future_is_still_not_yet_valid() -> None:
    moment = CodeTime(T0 - timedelta(hours=3), lower_bound=False, trusted=True)
    assert reason(check(make(issued=T0), moment)) is Refusal.NOT_YET_VALID


def test_the_key_window_is_judged_at_the_codes_issue_time_when_that_is_later() -> None:
    # A key that began after the station's lagging estimate still covers a code it signed.
    keys = KeySet([KeyInfo("k-new", public_key_to_b64(NEW.public_key()), T0 - timedelta(minutes=1), None)])
    text = sign_code(
        RiderCode(
            kid="k-new",
            rider_id="R1",
            issued_at=T0,
            expires_at=T0 + timedelta(minutes=5),
            nonce=b"\x01" * 8,
            scopes=Scope.SWAP,
        ),
        NEW,
    )
    verdict = verify(
        read_scan(text),
        scope=Scope.SWAP,
        keyset=keys,
        revoked_riders=frozenset(),
        nonce_seen=lambda nonce: False,
        now=T0 - timedelta(hours=2),
        skew_s=SKEW,
        lower_bound=True,
    )
    assert isinstance(verdict, Accepted)


# --- the kept mark across a reboot (fake clock, a real store) -------------------------------------------


class Pi:
    """A station's store and time keeper on a fake clock, booted and power-cut at will."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "station.db"
        self.loop = asyncio.new_event_loop()
        self.store: StoreComponent | None = None
        self.keeper: TimeKeeper | None = None

    def boot(self, clock: FakeClock, boot_id: str) -> TimeKeeper:
        store = StoreComponent(self.path, station_id="st-1", clock=clock, boot_id=boot_id, retention=timedelta(days=30))
        self.loop.run_until_complete(store.start())
        keeper = TimeKeeper(clock=clock, store=store, boot_id=boot_id)
        self.loop.run_until_complete(keeper.start())
        self.store, self.keeper = store, keeper
        return keeper

    def power_cut(self) -> None:
        """The power goes: nothing is written on the way down (the loop's tasks die with it)."""
        assert self.keeper is not None
        assert self.store is not None
        tasks = [self.keeper._task, self.store._retention_task]
        self.keeper._task = self.store._retention_task = None
        for task in tasks:
            if task is not None:
                task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.store.store.close()

    def close(self) -> None:
        if self.store is not None and not self.store.store.closed:
            self.power_cut()
        self.loop.close()


@pytest.fixture
def pi(tmp_path: Path) -> Iterator[Pi]:
    made = Pi(tmp_path)
    yield made
    made.close()


def test_a_code_expired_ten_minutes_ago_is_refused_after_an_offline_reboot(pi: Pi) -> None:
    clock = FakeClock(wall=T0, monotonic=5_000.0, synced=True)
    keeper = pi.boot(clock, "boot-1")
    text = make(issued=T0)  # expires at T0 + 5 min
    assert isinstance(check(text, keeper.code_time()), Accepted)
    for _ in range(14):  # the station runs a quarter of an hour, looking at its clocks
        clock.advance(PERSIST_EVERY_S)
        keeper.look()
    pi.power_cut()
    # Power back 1 min later, offline: new boot, monotonic from zero, the wall clock months behind.
    rebooted = FakeClock(wall=WRONG_WALL, monotonic=20.0, synced=False)
    keeper = pi.boot(rebooted, "boot-2")
    moment = keeper.code_time()
    assert moment.lower_bound
    assert moment.trusted
    assert moment.now == T0 + timedelta(minutes=14, seconds=20)
    assert reason(check(text, moment)) is Refusal.EXPIRED  # it expired at T0 + 5 min: 10 min before now
    # A rider's fresh code (the hub's clock: T0 + 15 min) still works on the lagging estimate.
    fresh = make(issued=T0 + timedelta(minutes=15), nonce=b"\x09" * 8)
    assert isinstance(check(fresh, moment), Accepted)


def test_the_mark_is_kept_at_most_one_interval_behind(pi: Pi) -> None:
    clock = FakeClock(wall=T0, monotonic=100.0, synced=True)
    keeper = pi.boot(clock, "boot-1")
    clock.advance(PERSIST_EVERY_S - 1)
    keeper.look()
    assert pi.store is not None
    kept = TimeMark.from_json(read_time_mark(pi.store.store) or "")
    assert kept.at == T0  # not due yet
    clock.advance(1)
    keeper.look()
    kept = TimeMark.from_json(read_time_mark(pi.store.store) or "")
    assert (kept.at, kept.boot_id, kept.source) == (T0 + timedelta(seconds=PERSIST_EVERY_S), "boot-1", TimeSource.NTP)


def test_the_hubs_answer_is_a_trusted_time_without_ntp(pi: Pi) -> None:
    clock = FakeClock(wall=WRONG_WALL, monotonic=10.0, synced=False)
    keeper = pi.boot(clock, "boot-1")
    assert not keeper.code_time().trusted
    keeper.hub_time(T0)
    clock.advance(30)
    moment = keeper.code_time()
    assert (moment.now, moment.trusted) == (T0 + timedelta(seconds=30), True)
    keeper.look()
    pi.power_cut()
    keeper = pi.boot(FakeClock(wall=WRONG_WALL, monotonic=5.0, synced=False), "boot-2")
    assert keeper.code_time().now == T0 + timedelta(seconds=35)
    assert keeper.get_status()["source"] == "hub"


def test_a_station_that_never_saw_a_trusted_time_warns_and_checks_against_its_own_clock(pi: Pi) -> None:
    clock = FakeClock(wall=T0 + timedelta(minutes=15), monotonic=10.0, synced=False)
    keeper = pi.boot(clock, "boot-1")
    status = keeper.get_status()
    assert status["trusted_time"] is None
    assert status["warnings"] == [NO_TRUSTED_TIME]
    moment = keeper.code_time()
    assert reason(check(make(issued=T0), moment)) is Refusal.EXPIRED  # its own clock says so
    assert isinstance(check(make(issued=T0 + timedelta(minutes=14), nonce=b"\x05" * 8), moment), Accepted)


def test_an_unsynchronised_wall_clock_far_from_the_trusted_time_is_a_warning(pi: Pi) -> None:
    clock = FakeClock(wall=T0, monotonic=10.0, synced=True)
    keeper = pi.boot(clock, "boot-1")
    clock.set_wall(WRONG_WALL, synced=False)
    [warning] = keeper.get_status()["warnings"]
    assert "not synchronised" in warning


# --- the removed setting -------------------------------------------------------------------------------


CONFIG = """
[station]
id = "st-1"
name = "站"
name_en = "Station"

[codes]
keyset_file = "keys.json"
clock_skew_unsynced_s = 21600
"""


def test_the_removed_grace_setting_is_accepted_with_a_warning_naming_its_line() -> None:
    config = parse_config(CONFIG, source="kiosk.toml")
    [warning] = config.deprecations
    assert warning.startswith("kiosk.toml, line 9: [codes] clock_skew_unsynced_s is no longer used")
    assert "delete the line" in warning
    assert not hasattr(config.codes, "clock_skew_unsynced_s")


def test_other_unknown_keys_are_still_errors() -> None:
    with pytest.raises(Exception, match="clock_skew_unsync"):
        parse_config(CONFIG.replace("clock_skew_unsynced_s", "clock_skew_unsync"), source="kiosk.toml")
