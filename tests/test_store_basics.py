"""The store: opening with the right pragmas, appending events with state, reading them back, figures."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.errors import StoreError
from kiosk.core.events import ComponentFailed, EventRecord, StationStarted, StationStopped
from kiosk.store import LATEST_VERSION, Store

STATION = "sh-test-001"


@pytest.fixture
def store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[Store]:
    """A store in a fresh file."""
    s = Store.open(tmp_path / "data" / "kiosk.db", station_id=STATION, clock=fake_clock, boot_id="boot-1")
    yield s
    s.close()


def _pragma(store: Store, name: str) -> object:
    return store.db.execute(f"PRAGMA {name}").fetchone()[0]


def test_open_creates_missing_parent_folders(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "a" / "b" / "kiosk.db"
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b"):
        assert path.exists()


def test_journal_mode_is_wal(store: Store) -> None:
    assert _pragma(store, "journal_mode") == "wal"


def test_synchronous_is_full(store: Store) -> None:
    assert _pragma(store, "synchronous") == 2


def test_foreign_keys_are_on(store: Store) -> None:
    assert _pragma(store, "foreign_keys") == 1


def test_busy_timeout_is_set(store: Store) -> None:
    assert _pragma(store, "busy_timeout") == 5000


def test_pragmas_are_set_again_when_an_existing_file_is_reopened(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b").close()
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as again:
        got = [_pragma(again, p) for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")]
    assert got == ["wal", 2, 1, 5000]


def test_new_file_is_at_the_newest_schema_version(store: Store) -> None:
    assert store.schema_version == LATEST_VERSION


def test_first_event_gets_seq_one(store: Store) -> None:
    assert store.append(StationStarted(version="1.0")).seq == 1


def test_record_carries_clock_boot_and_station(store: Store, fake_clock: FakeClock) -> None:
    fake_clock.advance(12.5)
    fake_clock.synced = False
    record = store.append(StationStarted(version="1.0"))
    assert (record.station_id, record.boot_id, record.mono, record.wall, record.wall_synced) == (
        STATION,
        "boot-1",
        1012.5,
        fake_clock.wall(),
        False,
    )


def test_record_id_is_a_uuid7(store: Store) -> None:
    record = store.append(StationStarted(version="1.0"))
    assert record.id[14] == "7"


def test_record_payload_is_the_event_body(store: Store) -> None:
    record = store.append(ComponentFailed(component="scanner", error="扫码器未连接", optional=True))
    assert record.body() == ComponentFailed(component="scanner", error="扫码器未连接", optional=True)


def test_appended_record_reads_back_equal(store: Store, fake_clock: FakeClock) -> None:
    fake_clock.set_wall(datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC))
    record = store.append(StationStarted(version="1.0", warnings=["scanner"]))
    assert store.events() == [record]


def test_append_many_gives_consecutive_seqs(store: Store) -> None:
    store.append(StationStarted(version="1"))
    records = store.append_many([StationStopped(reason="a"), StationStopped(reason="b"), StationStopped(reason="c")])
    assert [r.seq for r in records] == [2, 3, 4]


def test_append_many_of_nothing_writes_nothing(store: Store) -> None:
    assert store.append_many([]) == []
    assert store.last_seq() == 0


def test_state_change_and_event_commit_together(store: Store) -> None:
    with store.transaction() as tx:
        tx.db.table("settings").upsert({"key": "mode", "value": "open"}, pk="key")
        tx.append(StationStarted(version="1"))
    assert (store.db.table("settings").get("mode")["value"], len(store.events())) == ("open", 1)


def _change_then_fail(store: Store) -> None:
    with store.transaction() as tx:
        tx.db.table("settings").upsert({"key": "mode", "value": "open"}, pk="key")
        tx.append(StationStarted(version="1"))
        raise RuntimeError("boom")


def test_exception_in_transaction_rolls_back_state_and_event(store: Store) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        _change_then_fail(store)
    assert (store.db["settings"].count, store.events()) == (0, [])


def test_seq_of_a_rolled_back_event_is_given_out_again(store: Store) -> None:
    with pytest.raises(RuntimeError):
        _change_then_fail(store)
    assert store.append(StationStarted(version="2")).seq == 1


def test_nested_transaction_is_refused_with_a_clear_error(store: Store) -> None:
    with store.transaction(), pytest.raises(StoreError, match="do not nest"), store.transaction():
        pass


def test_append_inside_a_transaction_block_is_refused(store: Store) -> None:
    with store.transaction(), pytest.raises(StoreError, match="do not nest"):
        store.append(StationStarted(version="1"))


def test_outer_transaction_still_commits_after_a_refused_nested_one(store: Store) -> None:
    with store.transaction() as tx:
        tx.append(StationStarted(version="1"))
        with pytest.raises(StoreError):
            store.append(StationStarted(version="2"))
    assert [r.seq for r in store.events()] == [1]


def test_transaction_object_is_unusable_after_its_block(store: Store) -> None:
    with store.transaction() as tx:
        pass
    with pytest.raises(StoreError, match="has ended"):
        tx.append(StationStarted(version="1"))


def test_appending_something_that_is_not_an_event_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="only event bodies"):
        store.append({"type": "x"})  # type: ignore[arg-type]


def test_other_thread_waits_for_an_open_transaction(store: Store) -> None:
    finished = threading.Event()

    def other() -> None:
        store.append(StationStopped(reason="other thread"))
        finished.set()

    with store.transaction() as tx:
        tx.append(StationStarted(version="1"))
        worker = threading.Thread(target=other)
        worker.start()
        blocked = not finished.wait(0.05)
    worker.join(timeout=5)
    assert blocked
    assert [r.type for r in store.events()] == ["station.started", "station.stopped"]


def test_events_since_seq_skips_earlier_ones(store: Store) -> None:
    store.append_many([StationStarted(version=str(i)) for i in range(5)])
    assert [r.seq for r in store.events(since_seq=3)] == [4, 5]


def test_events_filtered_by_type(store: Store) -> None:
    store.append_many([StationStarted(version="1"), StationStopped(reason="x"), StationStarted(version="2")])
    assert [r.seq for r in store.events(types=["station.stopped"])] == [2]


def test_events_with_limit(store: Store) -> None:
    store.append_many([StationStarted(version=str(i)) for i in range(5)])
    assert [r.seq for r in store.events(limit=2)] == [1, 2]


def test_export_jsonl_writes_one_record_per_line(store: Store) -> None:
    written = store.append_many([StationStarted(version="1"), StationStopped(reason="sigterm")])
    out = io.StringIO()
    count = store.export_jsonl(out, since_seq=0)
    lines = out.getvalue().splitlines()
    assert count == 2
    assert [EventRecord.model_validate(json.loads(line)) for line in lines] == written


def test_export_jsonl_pages_through_more_than_one_page(store: Store) -> None:
    store.append_many([StationStarted(version=str(i)) for i in range(2100)])
    out = io.StringIO()
    assert store.export_jsonl(out, since_seq=50) == 2050


def test_stats_of_a_new_store(store: Store) -> None:
    stats = store.stats()
    assert (stats.events_total, stats.unsynced_count, stats.last_seq, stats.oldest_unsynced_wall) == (0, 0, 0, None)


def test_stats_counts_events_and_oldest_unsynced(store: Store, fake_clock: FakeClock) -> None:
    first_wall = fake_clock.wall()
    store.append(StationStarted(version="1"))
    fake_clock.advance(60)
    second = store.append(StationStarted(version="2"))
    store.mark_synced([store.events()[0].id], at=fake_clock.wall())
    stats = store.stats()
    assert (stats.events_total, stats.unsynced_count, stats.last_seq) == (2, 1, 2)
    assert stats.oldest_unsynced_wall == second.wall != first_wall


def test_stats_reports_schema_path_and_size(store: Store) -> None:
    stats = store.stats()
    assert (stats.schema_version, stats.path, stats.file_size_bytes > 0) == (LATEST_VERSION, store.path, True)


def test_stats_as_dict_is_json_safe(store: Store) -> None:
    store.append(StationStarted(version="1"))
    data = store.stats().as_dict()
    assert json.loads(json.dumps(data)) == data


def test_quick_check_of_a_healthy_file_is_ok(store: Store) -> None:
    assert store.quick_check() == "ok"


def test_integrity_check_of_a_healthy_file_is_ok(store: Store) -> None:
    store.append(StationStarted(version="1"))
    assert store.integrity_check() == "ok"


def test_close_twice_is_harmless(store: Store) -> None:
    store.close()
    store.close()
    assert store.closed


def test_closed_store_refuses_work(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.append(StationStarted(version="1"))


def test_seq_continues_across_reopen(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b1") as first:
        first.append_many([StationStarted(version="1"), StationStarted(version="2")])
    fake_clock.advance(timedelta(hours=1).total_seconds())
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b2") as second:
        assert second.append(StationStarted(version="3")).seq == 3


def test_naive_wall_clock_is_refused(tmp_path: Path) -> None:
    class NaiveClock(FakeClock):
        def wall(self) -> datetime:
            return datetime(2026, 1, 1, 8, 0)

    with Store.open(tmp_path / "k.db", station_id=STATION, clock=NaiveClock(), boot_id="b") as s:
        with pytest.raises(StoreError, match="timezone-aware"):
            s.append(StationStarted(version="1"))
        assert s.events() == []


def test_unstorable_station_id_is_refused_at_open(tmp_path: Path, fake_clock: FakeClock) -> None:
    with pytest.raises(StoreError, match="station id"):
        Store.open(tmp_path / "k.db", station_id="", clock=fake_clock, boot_id="b")


def test_events_appended_together_share_one_clock_reading(store: Store) -> None:
    first, second = store.append_many([StationStarted(version="1"), StationStarted(version="2")])
    assert (first.wall, first.mono) == (second.wall, second.mono)


def test_wall_time_in_another_zone_is_stored_as_utc(store: Store, fake_clock: FakeClock) -> None:
    shanghai = timezone(timedelta(hours=8))
    fake_clock.set_wall(datetime(2026, 1, 1, 16, 0, tzinfo=shanghai))
    record = store.append(StationStarted(version="1"))
    assert (record.wall, record.wall.utcoffset(), store.events()[0].wall) == (
        datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
        timedelta(0),
        record.wall,
    )
