"""The injected clock and the identifiers every event carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import Clock, FakeClock, SystemClock
from kiosk.core.ids import boot_id, new_id


def test_the_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(monotonic=10.0, wall=datetime(2026, 5, 1, tzinfo=UTC))
    assert clock.monotonic() == 10.0
    clock.advance(2.5)
    assert clock.monotonic() == 12.5
    assert clock.wall() == datetime(2026, 5, 1, 0, 0, 2, 500000, tzinfo=UTC)


def test_a_wall_clock_jump_leaves_the_monotonic_clock_alone() -> None:
    clock = FakeClock(synced=False, wall=datetime(1970, 1, 1, tzinfo=UTC))
    before = clock.monotonic()
    clock.set_wall(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    assert clock.monotonic() == before
    assert clock.wall_synced() is True


def test_the_fake_clock_refuses_to_run_backwards_or_take_naive_times() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set_wall(datetime(2026, 1, 1))  # a naive time: the mistake under test


def test_both_clocks_keep_the_clock_protocol() -> None:
    assert isinstance(FakeClock(), Clock)
    assert isinstance(SystemClock(), Clock)


def test_the_system_clock_gives_utc_and_a_sync_verdict() -> None:
    clock = SystemClock()
    now = clock.wall()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    assert isinstance(clock.wall_synced(), bool)
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_event_ids_are_version_7_and_sort_by_creation() -> None:
    ids = [new_id() for _ in range(200)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_boot_id_comes_from_the_kernel(tmp_path: Path) -> None:
    path = tmp_path / "boot_id"
    path.write_text("0f0e0d0c-0b0a-4908-8706-050403020100\n")
    assert boot_id(path) == "0f0e0d0c-0b0a-4908-8706-050403020100"


def test_without_a_kernel_boot_id_the_process_gets_one_of_its_own(tmp_path: Path) -> None:
    first = boot_id(tmp_path / "missing")
    (tmp_path / "junk").write_text("not a uuid")
    assert boot_id(tmp_path / "junk") == first
    assert uuid.UUID(first).version == 4
