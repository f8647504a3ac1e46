"""The hub's storage: one interface (:class:`Storage`), two engines (SQLite file, PostgreSQL URL)."""

from __future__ import annotations

from hub.storage.db import Database, Engine, StorageUnavailable, engine_of
from hub.storage.events import EventsMixin, Gap, IngestResult, StoredEvent, UnknownStation
from hub.storage.flags import Flag, FlagKind, FlagsMixin
from hub.storage.fleet import FleetMixin
from hub.storage.keys import KeysMixin, SigningKey
from hub.storage.migrations import migrate
from hub.storage.points import PointsMixin
from hub.storage.registry import AlreadyExists, LatestHeartbeat, RegistryMixin, Station
from kiosk.core.clock import Clock, SystemClock

__all__ = [
    "AlreadyExists",
    "Engine",
    "Flag",
    "FlagKind",
    "Gap",
    "IngestResult",
    "LatestHeartbeat",
    "SigningKey",
    "Station",
    "Storage",
    "StorageUnavailable",
    "StoredEvent",
    "UnknownStation",
    "engine_of",
    "open_storage",
]


class Storage(EventsMixin, RegistryMixin, KeysMixin, FleetMixin, PointsMixin, FlagsMixin):
    """Everything the hub keeps, on SQLite or PostgreSQL."""


def open_storage(
    target: str, *, clock: Clock | None = None, pool_size: int = 8, utc_offset_minutes: int = 0
) -> Storage:
    """Open (and migrate) the hub's database: a SQLite file path or a ``postgresql://`` URL.

    ``utc_offset_minutes``: the city's time zone, in which the hub counts points rules' daily limits.
    """
    db = Database(target, pool_size=pool_size)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return Storage(db, clock or SystemClock(), utc_offset_minutes=utc_offset_minutes)
