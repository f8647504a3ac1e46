"""What every part of the hub's storage shares: the database, the clock, and how times are written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.storage.db import Database
from hub.storage.vault import Vault
from kiosk.core.clock import Clock

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    """A time as fixed-width UTC text, so text order is time order in both engines."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    """The inverse of :func:`iso` (also reads any ISO 8601 time with an offset)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since 1970 (floored), for day arithmetic that is exact in both engines."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def dumps(value: Any) -> str:
    """Compact JSON text for a stored document."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class StorageBase:
    """Holds the database and the clock; the storage mixins build on it."""

    def __init__(self, db: Database, clock: Clock, *, utc_offset_minutes: int = 0, vault: Vault | None = None) -> None:
        self.db = db
        self.clock = clock
        self.vault = vault or Vault(None)
        """Encrypts the signing keys at rest (:mod:`hub.storage.vault`)."""
        self.utc_offset_minutes = utc_offset_minutes
        """The city's time zone: the hub's day of a points event (daily limits) is counted in it."""

    def now(self) -> datetime:
        """The hub's wall-clock time."""
        return self.clock.wall()

    def ping(self) -> None:
        """Run a trivial query (:class:`StorageUnavailable` when the database does not answer)."""
        with self.db.transaction(write=False) as tx:
            tx.execute("SELECT 1")

    def close(self) -> None:
        """Close the database connections (safe twice)."""
        self.db.close()
