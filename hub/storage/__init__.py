"""The hub's storage: one interface (:class:`Storage`), two engines (SQLite file, PostgreSQL URL)."""

from __future__ import annotations

from hub.storage.db import Database, Engine, StorageUnavailable, engine_of
from hub.storage.events import EventsMixin, Gap, IngestResult, StoredEvent, UnknownStation
from hub.storage.fleet import FleetMixin
from hub.storage.keys import KeysMixin, SigningKey
from hub.storage.migrations import migrate
from hub.storage.points import PointsMixin
from hub.storage.registry import AlreadyExists, LatestHeartbeat, RegistryMixin, Station
from hub.storage.sessions import OperatorSession, SessionsMixin
from kiosk.core.clock import Clock, SystemClock

__all__ = [
    "AlreadyExists",
    "Engine",
    "Gap",
    "IngestResult",
    "LatestHeartbeat",
    "OperatorSession",
    "SigningKey",
    "Station",
    "Storage",
    "StorageUnavailable",
    "StoredEvent",
    "UnknownStation",
    "engine_of",
    "open_storage",
]


class Storage(EventsMixin, RegistryMixin, KeysMixin, FleetMixin, PointsMixin, SessionsMixin):
    """Everything the hub keeps, on SQLite or PostgreSQL."""


def open_storage(target: str, *, clock: Clock | None = None, pool_size: int = 8) -> Storage:
    """Open (and migrate) the hub's database: a SQLite file path or a ``postgresql://`` URL."""
    db = Database(target, pool_size=pool_size)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return Storage(db, clock or SystemClock())
