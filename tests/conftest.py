"""Fixtures shared by the whole suite: fake clock, temporary data folder, pty ports."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.devices.sim.pty import PtyPort
from tests.hub.pg import PostgresServer


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def pty_port(tmp_path: Path) -> Iterator[PtyPort]:
    """A simulated serial port with a stable name under tmp_path (like /dev/serial/by-id/...)."""
    port = PtyPort(tmp_path / "serial-by-id-sim")
    yield port
    port.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database on one PostgreSQL server started for the whole test session (hub and sync tests share it;
    fails, never skips, without PostgreSQL)."""
    try:
        importlib.import_module("psycopg")
    except ImportError:
        pytest.fail("psycopg 3 is not installed: the hub's tests need the 'postgres' extra (psycopg[binary])")
    try:
        server = PostgresServer()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        server.start()
        yield server.create_database("kiosk_hub_test")
    finally:
        server.stop()


def wipe_postgres(url: str) -> None:
    """Empty the session's PostgreSQL database (faster than making a new one per test)."""
    psycopg = importlib.import_module("psycopg")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgres"])
def hub_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a fresh, empty hub database lives: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "hub.db")
        return
    url = request.getfixturevalue("postgres_url")
    wipe_postgres(url)
    # The key that encrypts the hub's signing keys lives in a file; a PostgreSQL hub must be told which.
    request.getfixturevalue("monkeypatch").setenv("KIOSK_HUB_KEY_FILE", str(tmp_path / "hub-pg.key"))
    yield url
