"""Fixtures of the sync tests: the hub on each engine (reusing the hub tests' PostgreSQL), a registered station."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import write_token_file
from hub.server import HubServer
from hub.storage import Storage, open_storage
from kiosk.core.clock import SystemClock
from tests.sync.proxy import FaultProxy
from tests.sync.support import STATION


@pytest.fixture
def hub_target(hub_db: str) -> str:
    """A fresh, empty hub database on each engine (see tests/conftest.py)."""
    return hub_db


@pytest.fixture
def hub_storage(hub_target: str) -> Iterator[Storage]:
    """The hub's storage on the real clock (stations check codes against their real clock too)."""
    storage = open_storage(hub_target, clock=SystemClock())
    yield storage
    storage.close()


@pytest.fixture
def hub(hub_storage: Storage) -> Iterator[HubServer]:
    """The hub serving on a free loopback port."""
    server = HubServer(hub_storage)
    server.start()
    yield server
    with contextlib.suppress(Exception):
        server.close()


@pytest.fixture
def token_file(hub_storage: Storage, tmp_path: Path) -> Path:
    """The station registered at the hub, its token in a 0600 file."""
    path = tmp_path / "secrets" / "hub-token"
    write_token_file(path, hub_storage.add_station(STATION, name="测试站", name_en="Sync test station"))
    return path


@pytest.fixture
def proxy(hub: HubServer) -> Iterator[FaultProxy]:
    """The fault-injection proxy in front of the hub (passing everything until a test sets a plan)."""
    with FaultProxy((hub.host, hub.port), hold_s=0.6) as running:
        yield running
