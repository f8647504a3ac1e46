"""Schema migrations: every older version, with data in it, reaches the newest with the data intact.

When you add schema version N+1, add ``SAMPLE_ROWS[N+1]`` (rows for the tables it adds); the
parametrised test below then builds files at every version 0..N and migrates each of them, and
``test_every_version_has_sample_rows`` fails until you do.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from kiosk.core.clock import FakeClock
from kiosk.core.errors import StoreError
from kiosk.store import LATEST_VERSION, MIGRATIONS, Migration, Store
from kiosk.store.migrations import migrate, schema_version

STATION = "sh-test-001"

# version → table → (primary key column, rows). Rows are written while the file is at that version.
SAMPLE_ROWS: dict[int, dict[str, tuple[str, list[dict[str, Any]]]]] = {
    1: {
        "events": (
            "id",
            [
                {
                    "id": "01900000-0000-7000-8000-000000000001",
                    "station_id": STATION,
                    "seq": 1,
                    "type": "station.started",
                    "payload": '{"version":"0.1.0","warnings":[]}',
                    "boot_id": "boot-old",
                    "mono": 12.5,
                    "wall": "2025-12-31T23:59:59.000000Z",
                    "wall_synced": 1,
                    "synced_at": None,
                },
                {
                    "id": "01900000-0000-7000-8000-000000000002",
                    "station_id": STATION,
                    "seq": 7,
                    "type": "station.stopped",
                    "payload": '{"reason":"SIGTERM"}',
                    "boot_id": "boot-old",
                    "mono": 99.0,
                    "wall": "2026-01-01T00:10:00.000000Z",
                    "wall_synced": 0,
                    "synced_at": "2026-01-01T00:11:00.000000Z",
                },
            ],
        ),
        "seq_counter": ("station_id", [{"station_id": STATION, "last_seq": 7}]),
    },
    2: {
        "settings": ("key", [{"key": "display.brightness", "value": "80"}, {"key": "语言", "value": "中文"}]),
        "sync_state": ("key", [{"key": "bundle_etag", "value": '"abc123"'}]),
    },
    3: {
        "swaps": (
            "id",
            [
                {
                    "id": "01900000-0000-7000-8000-0000000000aa",
                    "rider_id": "R1001",
                    "state": "await_return",
                    "outcome": None,
                    "record": '{"swap_id":"01900000-0000-7000-8000-0000000000aa"}',
                    "started": "2026-01-01T08:00:00.000000Z",
                    "updated": "2026-01-01T08:00:05.000000Z",
                }
            ],
        ),
        "code_nonces": (
            "nonce",
            [{"nonce": "00112233aabbccdd", "rider_id": "R1001", "scope": "swap", "used": "2026-01-01T08:00:00Z"}],
        ),
        "bays_out_of_service": ("bay", [{"bay": 4, "reason": "lock did not open", "since": "2026-01-01T08:01:00Z"}]),
    },
    4: {
        "points_ledger": (
            "entry_id",
            [
                {
                    "entry_id": "01900000-0000-7000-8000-0000000000b1",
                    "rider_id": "R1001",
                    "kind": "spent",
                    "rule": None,
                    "item_id": "water",
                    "points": 5,
                    "bay": 9,
                    "confirmed": 0,
                    "seq": 7,
                    "wall": "2026-01-01T08:02:00Z",
                    "day": "2026-01-01",
                    "ref": None,
                }
            ],
        ),
        "checkins": (
            "entry_id",
            [{"entry_id": "01900000-0000-7000-8000-0000000000b2", "rider_id": "R1001", "day": "2026-01-01"}],
        ),
        "bookings": (
            "booking_id",
            [
                {
                    "booking_id": "01900000-0000-7000-8000-0000000000b3",
                    "rider_id": "R1001",
                    "service_id": "legal-aid",
                    "slot_id": "slot-1",
                    "starts": "2026-01-02T09:00:00Z",
                    "status": "requested",
                    "note": "",
                    "updated": "2026-01-01T08:03:00Z",
                }
            ],
        ),
        "goods_stock": ("bay", [{"bay": 9, "item_id": "water", "count": 11, "updated": "2026-01-01T08:00:00Z"}]),
        "shown_corrections": ("entry_id", [{"entry_id": "e-123456789", "shown": "2026-01-01T08:04:00Z"}]),
    },
}


def _build_at(path: Path, version: int) -> None:
    """A file at ``version`` (steps 1..version only) holding the sample rows of every version up to it."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    db = Database(conn, execute_plugins=False)
    migrate(db, upto=version)
    for v in range(1, version + 1):
        for table, (_pk, rows) in SAMPLE_ROWS[v].items():
            db.table(table).insert_all(rows)
    conn.close()


def _schema_text(path: Path) -> list[tuple[str, str | None]]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        conn.close()


def test_every_version_has_sample_rows() -> None:
    assert sorted(SAMPLE_ROWS) == list(range(1, LATEST_VERSION + 1))


def test_migration_steps_are_numbered_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))


@pytest.mark.parametrize("start", range(LATEST_VERSION))
def test_older_file_reaches_newest_version(tmp_path: Path, fake_clock: FakeClock, start: int) -> None:
    path = tmp_path / "kiosk.db"
    _build_at(path, start)
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        assert store.schema_version == LATEST_VERSION


@pytest.mark.parametrize("start", range(1, LATEST_VERSION + 1))
def test_older_file_keeps_its_rows_when_migrated(tmp_path: Path, fake_clock: FakeClock, start: int) -> None:
    path = tmp_path / "kiosk.db"
    _build_at(path, start)
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        for v in range(1, start + 1):
            for table, (pk, rows) in SAMPLE_ROWS[v].items():
                for row in rows:
                    stored = store.db.table(table).get(row[pk])
                    assert {k: stored[k] for k in row} == row, f"{table} row {row[pk]} changed (from version {start})"


@pytest.mark.parametrize("start", range(1, LATEST_VERSION + 1))
def test_older_file_events_read_back_and_seq_continues(tmp_path: Path, fake_clock: FakeClock, start: int) -> None:
    path = tmp_path / "kiosk.db"
    _build_at(path, start)
    with Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b") as store:
        old = store.events()
        new = store.append(store.events()[0].body())
    assert ([r.seq for r in old], new.seq) == ([1, 7], 8)


def test_newest_file_is_left_alone_on_open(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    _build_at(path, LATEST_VERSION)
    before = _schema_text(path)
    Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b").close()
    assert _schema_text(path) == before


def test_file_from_a_newer_release_is_refused_and_not_moved(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "kiosk.db"
    _build_at(path, LATEST_VERSION)
    conn = sqlite3.connect(str(path))
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer release"):
        Store.open(path, station_id=STATION, clock=fake_clock, boot_id="b")
    assert [p.name for p in tmp_path.iterdir()] == ["kiosk.db"]


def _broken_step(db: Database) -> None:
    db.table("half_done").create({"id": int}, pk="id")
    raise RuntimeError("disk said no")


def test_failing_step_is_rolled_back_whole(tmp_path: Path) -> None:
    steps = (MIGRATIONS[0], Migration(2, "breaks half way", _broken_step))
    conn = sqlite3.connect(str(tmp_path / "k.db"), isolation_level=None)
    with pytest.raises(StoreError, match="schema version 2"):
        migrate(Database(conn, execute_plugins=False), steps)
    assert (schema_version(conn), "half_done" in Database(conn).table_names()) == (1, False)


def test_steps_with_a_gap_are_refused(tmp_path: Path) -> None:
    steps = (MIGRATIONS[0], Migration(3, "skips two", _broken_step))
    conn = sqlite3.connect(str(tmp_path / "k.db"), isolation_level=None)
    with pytest.raises(StoreError, match="numbered"):
        migrate(Database(conn, execute_plugins=False), steps)
