"""What the store reports about itself: figures for the status page and ``kiosk db info``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Corruption:
    """A damaged database found at start, moved aside and kept; a new one was begun in its place."""

    kept_as: Path
    """Where the damaged file now is (its ``-wal``/``-shm``, if any, beside it with the same name)."""
    problem: str
    """What SQLite reported: the quick_check lines, or the error it raised."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"kept_as": str(self.kept_as), "problem": self.problem}


@dataclass(frozen=True)
class StoreStats:
    """A snapshot of the store; never changes after it is made."""

    schema_version: int
    """``PRAGMA user_version`` of the file."""
    path: Path
    """The database file."""
    station_id: str
    """The station whose events these figures count."""
    file_size_bytes: int
    """Size of the database file plus its write-ahead log, in bytes."""
    events_total: int
    """Events of this station still in the file (synced ones are pruned after a while)."""
    unsynced_count: int
    """Events the hub has not acknowledged yet."""
    oldest_unsynced_wall: datetime | None
    """Wall time of the lowest-seq unsynced event, or None when all are synced."""
    last_seq: int
    """The last seq handed out (0 before the first event); keeps counting after pruning."""
    corruption: Corruption | None
    """Set when the file was found damaged at start and replaced by a new one."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (times as ISO-8601 text)."""
        return {
            "schema_version": self.schema_version,
            "path": str(self.path),
            "station_id": self.station_id,
            "file_size_bytes": self.file_size_bytes,
            "events_total": self.events_total,
            "unsynced_count": self.unsynced_count,
            "oldest_unsynced_wall": None
            if self.oldest_unsynced_wall is None
            else self.oldest_unsynced_wall.isoformat(),
            "last_seq": self.last_seq,
            "corruption": None if self.corruption is None else self.corruption.as_dict(),
        }
