"""What the hub noticed a station doing that an honest station does not: stored as flags, shown on the fleet page.

A station is trusted for *what happened*, never for what it is worth or for rewriting its own log. When a
batch carries something that disagrees with the hub's rules or records, the event is kept (or refused)
and a flag says why: an operator looks at the fleet page and decides whether the station is broken,
running an old bundle, or lying. A flag is recorded once per (kind, station, event): a station that
resends the same refused event does not fill the table.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.storage.base import StorageBase, epoch_ms, from_iso, iso
from hub.storage.db import Tx


class FlagKind(enum.StrEnum):
    """Why the hub flagged a station's event."""

    POINTS_MISMATCH = "points_mismatch"
    """A points event claims an amount the city's rules or catalogue do not give (no points moved)."""
    UNKNOWN_ITEM = "unknown_item"
    """A spend of an item the city's catalogue does not have (charged as claimed)."""
    SEQ_REUSED = "seq_reused"
    """A new event id with a seq the hub already holds for another event of the station (refused)."""
    PAYLOAD_CHANGED = "payload_changed"
    """An event id the hub holds, sent again with different content (refused; the first one stays)."""
    SEQ_OUT_OF_RANGE = "seq_out_of_range"
    """A seq far beyond the station's high-water mark (refused)."""
    NONCE_REUSED = "nonce_reused"
    """A rider code's nonce reported used at a second station."""
    PACKS_FLOOD = "packs_flood"
    """More never-seen, unregistered pack ids than a station may add (their readings were left out)."""


@dataclass(frozen=True)
class Flag:
    """One thing the hub noticed about a station's event."""

    station_id: str
    kind: FlagKind
    event_id: str | None
    detail: str
    """What was wrong, in plain words."""
    at: datetime | None = None
    """When the hub noticed (filled in when read back)."""

    @property
    def key(self) -> str:
        """What makes a flag the same flag again (a resent event is flagged once)."""
        return f"{self.kind.value}:{self.station_id}:{self.event_id or self.detail[:80]}"


def add_flags(tx: Tx, flags: Sequence[Flag], now: datetime) -> None:
    """Record ``flags`` in the open transaction (those recorded before are left as they are)."""
    if not flags:
        return
    at, at_ms = iso(now), epoch_ms(now)
    tx.executemany(
        "INSERT INTO flags (flag_key, station_id, kind, event_id, detail, at, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (flag_key) DO NOTHING",
        [(f.key, f.station_id, f.kind.value, f.event_id, f.detail, at, at_ms) for f in flags],
    )


class FlagsMixin(StorageBase):
    """Reading the flags back (for the fleet page, the CLI and tests)."""

    def flags(self, *, station_id: str | None = None, limit: int = 100) -> list[Flag]:
        """Flags, newest first, of one station or of all."""
        where = " WHERE station_id = ?" if station_id is not None else ""
        params: tuple[object, ...] = (station_id,) if station_id is not None else ()
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT station_id, kind, event_id, detail, at FROM flags{where}"  # noqa: S608 - only placeholders and constants are put in
                " ORDER BY at_ms DESC, flag_key LIMIT ?",
                (*params, limit),
            )
        return [Flag(str(s), FlagKind(k), e, str(d), from_iso(a)) for s, k, e, d, a in rows]

    def flag_counts(self) -> dict[str, int]:
        """Per station, how many flags the hub holds."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute("SELECT station_id, COUNT(*) FROM flags GROUP BY station_id")
        return {str(s): int(n) for s, n in rows}
