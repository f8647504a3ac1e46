"""Fixtures of the hub's tests: storage on SQLite and on a real PostgreSQL, the hub on loopback."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.server import HubServer
from hub.storage import Storage, open_storage
from kiosk.core.clock import FakeClock

HUB_NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
"""The hub's fake wall-clock time at the start of every test."""


def _wipe(url: str) -> None:
    psycopg = importlib.import_module("psycopg")

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgres"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a fresh, empty hub database lives: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "hub.db")
        return
    url = request.getfixturevalue("postgres_url")
    _wipe(url)
    yield url


@pytest.fixture
def hub_clock() -> FakeClock:
    """The hub's clock."""
    return FakeClock(wall=HUB_NOW)


@pytest.fixture
def storage(db_target: str, hub_clock: FakeClock) -> Iterator[Storage]:
    """The hub's storage on each engine, empty and migrated."""
    store = open_storage(db_target, clock=hub_clock)
    yield store
    store.close()


@pytest.fixture
def hub(storage: Storage) -> Iterator[HubServer]:
    """The hub serving on a free loopback port (real uvicorn, real HTTP)."""
    server = HubServer(storage)
    server.start()
    yield server
    with contextlib.suppress(Exception):
        server.close()
