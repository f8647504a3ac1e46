"""Read-only opening, for ``kiosk db info|check|export`` next to a running station: it never changes the file."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.errors import DatabaseCorrupt, StoreError
from kiosk.core.events import StationStarted
from kiosk.store import Store

STATION = "sh-test-001"


def _written(path: Path, clock: FakeClock, n: int = 3) -> None:
    with Store.open(path, station_id=STATION, clock=clock, boot_id="b") as store:
        store.append_many([StationStarted(version=str(i)) for i in range(n)])


def test_readonly_store_reads_events_and_figures(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    _written(path, fake_clock)
    with Store.open_readonly(path, station_id=STATION) as store:
        assert ([r.seq for r in store.events()], store.stats().unsynced_count) == ([1, 2, 3], 3)


def test_readonly_store_exports(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    _written(path, fake_clock)
    with Store.open_readonly(path, station_id=STATION) as store:
        assert store.export_jsonl(io.StringIO()) == 3


def test_readonly_store_refuses_appends(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    _written(path, fake_clock)
    with Store.open_readonly(path, station_id=STATION) as store, pytest.raises(StoreError, match="read-only"):
        store.append(StationStarted(version="x"))


def test_readonly_store_refuses_pruning(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    _written(path, fake_clock)
    with Store.open_readonly(path, station_id=STATION) as store, pytest.raises(StoreError, match="read-only"):
        store.prune_synced(timedelta(days=1))


def test_readonly_store_sees_commits_of_a_running_writer(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as writer:
        writer.append(StationStarted(version="1"))
        with Store.open_readonly(path, station_id=STATION) as reader:
            assert reader.last_seq() == 1


def test_readonly_open_of_a_missing_file_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        Store.open_readonly(tmp_path / "kiosk.db", station_id=STATION)
    assert list(tmp_path.iterdir()) == []


def test_readonly_open_of_a_non_database_raises_corrupt_and_moves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    path.write_text("not a database\n" * 300)
    with pytest.raises(DatabaseCorrupt):
        Store.open_readonly(path, station_id=STATION)
    assert [p.name for p in tmp_path.iterdir()] == ["kiosk.db"]


def test_readonly_open_of_an_empty_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    path.touch()
    with pytest.raises(StoreError, match="not a station database"):
        Store.open_readonly(path, station_id=STATION)


def test_readonly_integrity_check_reports_damage_without_moving_the_file(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    _written(path, fake_clock, n=400)
    with path.open("r+b") as f:
        f.seek(4096 * 5)
        f.write(bytes(range(256)) * 48)
    damaged = path.read_bytes()
    with Store.open_readonly(path, station_id=STATION) as store:
        assert store.integrity_check() != "ok"
    # SQLite may leave an empty -wal/-shm beside a WAL file it read; the file itself is untouched.
    assert (path.read_bytes() == damaged, [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]) == (True, [])
