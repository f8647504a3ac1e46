"""The outbox as the sync relay sees it: unsynced in order, marking acknowledged ids, retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.errors import StoreError
from kiosk.core.events import StationStarted
from kiosk.store import Store
from kiosk.store.outbox import iso_utc, parse_utc

STATION = "sh-test-001"


@pytest.fixture
def store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[Store]:
    """A store in a fresh file."""
    s = Store.open(tmp_path / "kiosk.db", station_id=STATION, clock=fake_clock, boot_id="boot-1")
    yield s
    s.close()


def _append(store: Store, n: int) -> list[str]:
    return [r.id for r in store.append_many([StationStarted(version=str(i)) for i in range(n)])]


def test_unsynced_returns_events_in_seq_order(store: Store) -> None:
    _append(store, 3)
    assert [r.seq for r in store.unsynced(limit=10)] == [1, 2, 3]


def test_unsynced_respects_the_limit(store: Store) -> None:
    _append(store, 5)
    assert [r.seq for r in store.unsynced(limit=2)] == [1, 2]


def test_unsynced_refuses_a_limit_below_one(store: Store) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        store.unsynced(limit=0)


def test_mark_synced_removes_events_from_unsynced(store: Store, fake_clock: FakeClock) -> None:
    ids = _append(store, 3)
    store.mark_synced(ids[:2], at=fake_clock.wall())
    assert [r.id for r in store.unsynced(limit=10)] == ids[2:]


def test_mark_synced_counts_only_newly_marked(store: Store, fake_clock: FakeClock) -> None:
    ids = _append(store, 3)
    store.mark_synced(ids[:1], at=fake_clock.wall())
    assert store.mark_synced([*ids, "00000000-0000-7000-8000-000000000000"], at=fake_clock.wall()) == 2


def test_mark_synced_keeps_the_first_acknowledgement_time(store: Store, fake_clock: FakeClock) -> None:
    ids = _append(store, 1)
    first = fake_clock.wall()
    store.mark_synced(ids, at=first)
    store.mark_synced(ids, at=first + timedelta(hours=1))
    assert store.db.execute("SELECT synced_at FROM events").fetchone()[0] == iso_utc(first)


def test_mark_synced_of_no_ids_is_zero(store: Store, fake_clock: FakeClock) -> None:
    assert store.mark_synced([], at=fake_clock.wall()) == 0


def test_mark_synced_refuses_a_naive_time(store: Store) -> None:
    ids = _append(store, 1)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.mark_synced(ids, at=datetime(2026, 1, 1))


def test_prune_removes_synced_events_older_than_the_age(store: Store, fake_clock: FakeClock) -> None:
    ids = _append(store, 2)
    store.mark_synced(ids, at=fake_clock.wall())
    fake_clock.advance(timedelta(days=31).total_seconds())
    assert (store.prune_synced(timedelta(days=30)), store.events()) == (2, [])


def test_prune_keeps_synced_events_younger_than_the_age(store: Store, fake_clock: FakeClock) -> None:
    ids = _append(store, 2)
    store.mark_synced(ids, at=fake_clock.wall())
    fake_clock.advance(timedelta(days=29).total_seconds())
    assert (store.prune_synced(timedelta(days=30)), len(store.events())) == (0, 2)


def test_prune_never_removes_unsynced_events(store: Store, fake_clock: FakeClock) -> None:
    _append(store, 3)
    fake_clock.advance(timedelta(days=365).total_seconds())
    assert (store.prune_synced(timedelta(days=1)), len(store.unsynced(limit=10))) == (0, 3)


def test_prune_removes_only_the_old_synced_ones_in_a_mix(store: Store, fake_clock: FakeClock) -> None:
    old_synced, young_synced, unsynced = _append(store, 3)
    store.mark_synced([old_synced], at=fake_clock.wall())
    fake_clock.advance(timedelta(days=10).total_seconds())
    store.mark_synced([young_synced], at=fake_clock.wall())
    fake_clock.advance(timedelta(days=25).total_seconds())
    store.prune_synced(timedelta(days=30))
    assert [r.id for r in store.events()] == [young_synced, unsynced]


def test_seq_continues_after_pruning_everything(store: Store, fake_clock: FakeClock) -> None:
    ids = _append(store, 4)
    store.mark_synced(ids, at=fake_clock.wall())
    fake_clock.advance(timedelta(days=2).total_seconds())
    store.prune_synced(timedelta(days=1))
    assert store.append(StationStarted(version="after")).seq == 5


def test_seq_continues_after_pruning_and_reopening(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as first:
        ids = _append(first, 4)
        first.mark_synced(ids, at=fake_clock.wall())
        fake_clock.advance(timedelta(days=2).total_seconds())
        first.prune_synced(timedelta(days=1))
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as second:
        assert (second.last_seq(), second.append(StationStarted(version="x")).seq) == (4, 5)


def test_prune_refuses_a_negative_age(store: Store) -> None:
    with pytest.raises(ValueError, match="negative"):
        store.prune_synced(timedelta(days=-1))


def test_stored_times_sort_as_text_even_without_microseconds() -> None:
    whole = datetime(2026, 1, 1, 8, 0, 0, tzinfo=UTC)
    assert iso_utc(whole) < iso_utc(whole + timedelta(microseconds=1)) < iso_utc(whole + timedelta(seconds=1))


def test_stored_time_reads_back_equal() -> None:
    moment = datetime(2026, 5, 17, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_utc(iso_utc(moment)) == moment
