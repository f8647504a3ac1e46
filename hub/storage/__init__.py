"""The hub's storage: one interface (:class:`Storage`), two engines (SQLite file, PostgreSQL URL)."""

from __future__ import annotations

import logging
from pathlib import Path

from hub.storage.alarms import Alarm, AlarmError, AlarmsMixin
from hub.storage.batteries import BatteriesMixin, LoadResult, UnknownBattery
from hub.storage.db import Database, Engine, StorageUnavailable, engine_of
from hub.storage.events import EventsMixin, Gap, IngestResult, StoredEvent, UnknownStation
from hub.storage.flags import Flag, FlagKind, FlagsMixin
from hub.storage.fleet import FleetMixin
from hub.storage.keys import KeysMixin, SigningKey
from hub.storage.migrations import migrate
from hub.storage.points import PointsMixin
from hub.storage.registry import AlreadyExists, LatestHeartbeat, RegistryMixin, Station
from hub.storage.sessions import OperatorSession, SessionsMixin
from hub.storage.vault import Vault, VaultError, default_key_file
from kiosk.core.clock import Clock, SystemClock

log = logging.getLogger(__name__)

__all__ = [
    "Alarm",
    "AlarmError",
    "AlreadyExists",
    "Engine",
    "Flag",
    "FlagKind",
    "Gap",
    "IngestResult",
    "LatestHeartbeat",
    "LoadResult",
    "OperatorSession",
    "SigningKey",
    "Station",
    "Storage",
    "StorageUnavailable",
    "StoredEvent",
    "UnknownBattery",
    "UnknownStation",
    "VaultError",
    "engine_of",
    "open_storage",
]


class Storage(
    EventsMixin,
    RegistryMixin,
    KeysMixin,
    FleetMixin,
    PointsMixin,
    FlagsMixin,
    AlarmsMixin,
    SessionsMixin,
    BatteriesMixin,
):
    """Everything the hub keeps, on SQLite or PostgreSQL."""


def open_storage(
    target: str,
    *,
    clock: Clock | None = None,
    pool_size: int = 8,
    utc_offset_minutes: int = 0,
    key_file: Path | None = None,
) -> Storage:
    """Open (and migrate) the hub's database: a SQLite file path or a ``postgresql://`` URL.

    ``utc_offset_minutes``: the city's time zone, in which the hub counts points rules' daily limits.
    ``key_file``: the file with the key that encrypts the signing keys (default: see
    :func:`hub.storage.vault.default_key_file`); plaintext keys of an older hub are encrypted now.
    """
    db = Database(target, pool_size=pool_size)
    path = key_file or default_key_file(target, postgres=db.engine is Engine.POSTGRES)
    try:
        migrate(db)
        storage = Storage(db, clock or SystemClock(), utc_offset_minutes=utc_offset_minutes, vault=Vault(path))
        if storage.vault.configured:
            sealed = storage.seal_keys()
            if sealed:
                log.warning("encrypted %d signing keys stored in plaintext by an older hub (key file %s)", sealed, path)
    except BaseException:
        db.close()
        raise
    return storage
