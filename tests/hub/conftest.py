"""Fixtures of the hub's tests: storage on SQLite and on a real PostgreSQL, the hub on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hub.server import HubServer
from hub.storage import Storage, open_storage
from kiosk.core.clock import FakeClock

HUB_NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
"""The hub's fake wall-clock time at the start of every test."""


@pytest.fixture
def db_target(hub_db: str) -> str:
    """Where a fresh, empty hub database lives, on each engine (see tests/conftest.py)."""
    return hub_db


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
