"""A damaged database is moved aside and kept, never deleted; the station starts fresh and says so loudly."""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.errors import StoreError
from kiosk.core.events import DatabaseMovedAside, StationStarted
from kiosk.store import Store
from kiosk.store.files import is_corruption

STATION = "sh-test-001"
PAGE = 4096


def _healthy(path: Path, clock: FakeClock, events: int = 400) -> bytes:
    """A closed, checkpointed file with enough events to span many pages; returns its bytes."""
    with Store.open(path, station_id=STATION, clock=clock, boot_id="b") as store:
        store.append_many([StationStarted(version="v" * 100) for _ in range(events)])
    return path.read_bytes()


def _garbage_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"\xa5" * 100)


def _truncated(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _garbage_pages(path: Path) -> None:
    with path.open("r+b") as f:
        f.seek(PAGE * 5)
        f.write(bytes(range(256)) * (PAGE * 3 // 256))


def _check_constraint_broken(path: Path) -> None:
    # A row no correct writer could have stored: quick_check reports it as a line, without raising.
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    conn.execute("INSERT INTO events VALUES ('x', ?, 9999, 'a.b', '{}', 'b', 1.0, 'w', 5, NULL)", (STATION,))
    conn.close()


DAMAGES = {
    "garbage header": _garbage_header,
    "truncated": _truncated,
    "garbage pages": _garbage_pages,
    "check constraint broken": _check_constraint_broken,
}


@pytest.fixture(params=sorted(DAMAGES))
def damaged(request: pytest.FixtureRequest, tmp_path: Path, fake_clock: FakeClock) -> tuple[Path, bytes]:
    """A database file damaged in one of several ways, and its damaged bytes."""
    path = tmp_path / "kiosk.db"
    _healthy(path, fake_clock)
    DAMAGES[request.param](path)
    return path, path.read_bytes()


def _kept_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".corrupt-" in p.name)


def test_damaged_file_is_kept_byte_for_byte(damaged: tuple[Path, bytes], fake_clock: FakeClock) -> None:
    path, damaged_bytes = damaged
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        assert store.corruption is not None
        assert store.corruption.kept_as.read_bytes() == damaged_bytes


def test_damaged_file_is_kept_under_a_corrupt_timestamp_name(
    damaged: tuple[Path, bytes], fake_clock: FakeClock
) -> None:
    path, _ = damaged
    fake_clock.set_wall(datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC))
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        assert store.corruption is not None
        assert store.corruption.kept_as == path.with_name("kiosk.db.corrupt-20260203T040506Z")


def test_store_starts_fresh_after_damage(damaged: tuple[Path, bytes], fake_clock: FakeClock) -> None:
    path, _ = damaged
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        assert (store.quick_check(), [r.seq for r in store.events()]) == ("ok", [1])


def test_first_event_of_the_fresh_file_says_the_old_one_was_moved(
    damaged: tuple[Path, bytes], fake_clock: FakeClock
) -> None:
    path, _ = damaged
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        body = store.events()[0].body()
        assert isinstance(body, DatabaseMovedAside)
        assert store.corruption is not None
        assert (body.kept_as, body.problem) == (str(store.corruption.kept_as), store.corruption.problem)


def test_damage_is_logged_at_error_level(
    damaged: tuple[Path, bytes], fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    path, _ = damaged
    with caplog.at_level(logging.ERROR, logger="kiosk.store"):
        Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b").close()
    assert any(r.levelno == logging.ERROR and "DATABASE DAMAGED" in r.getMessage() for r in caplog.records)


def test_stats_report_the_damage(damaged: tuple[Path, bytes], fake_clock: FakeClock) -> None:
    path, _ = damaged
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        reported = store.stats().as_dict()["corruption"]
        assert reported is not None
        assert reported["kept_as"].startswith(str(path) + ".corrupt-")


def test_problem_text_names_what_sqlite_found(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    path.write_text("these are meeting notes, not a database\n" * 100)
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        assert store.corruption is not None
        assert store.corruption.problem == "file is not a database"


def test_plain_text_file_is_kept_and_replaced(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    text = "these are meeting notes, not a database\n" * 100
    path.write_text(text)
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        assert store.corruption is not None
        assert (store.corruption.kept_as.read_text(), store.schema_version > 0) == (text, True)


def test_side_files_move_with_the_damaged_file(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    path.write_bytes(b"not sqlite" * 500)
    Path(f"{path}-wal").write_bytes(b"old wal")
    Path(f"{path}-shm").write_bytes(b"old shm")
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        assert store.corruption is not None
        kept = store.corruption.kept_as
        # The -shm is only SQLite's index of the -wal (rebuilt from it), so only its presence matters.
        assert (Path(f"{kept}-wal").read_bytes(), Path(f"{kept}-shm").exists()) == (b"old wal", True)


def test_second_damage_in_the_same_second_gets_its_own_name(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    for _ in range(2):
        path.write_bytes(b"not sqlite" * 500)
        Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b").close()
    assert [p.name for p in _kept_files(tmp_path)] == [
        "kiosk.db.corrupt-20260101T080000Z",
        "kiosk.db.corrupt-20260101T080000Z-1",
    ]


def test_healthy_file_is_not_moved(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    _healthy(path, fake_clock, events=3)
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        assert (store.corruption, _kept_files(tmp_path), store.last_seq()) == (None, [], 3)


def test_unopenable_path_is_an_error_not_corruption(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    path.mkdir()
    with pytest.raises(StoreError, match="cannot open"):
        Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b")
    assert (path.is_dir(), _kept_files(tmp_path)) == (True, [])


def test_locked_database_error_is_not_corruption() -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
    assert not is_corruption(busy)


def test_extended_corruption_code_is_corruption() -> None:
    damaged = sqlite3.DatabaseError("database disk image is malformed")
    damaged.sqlite_errorcode = sqlite3.SQLITE_CORRUPT | (1 << 8)
    assert is_corruption(damaged)
