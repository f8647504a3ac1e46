"""Swaps (schema v3, ``swaps``): one row per swap, its machine's record written before every physical command.

``record`` is the swap machine's record as JSON (with the boot it ran in), so a restart knows exactly what
was in flight; ``outcome`` is NULL until the swap has ended. Saved in the transaction that appends the
swap's events (and records its code's nonce).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kiosk.store.access import Reads, Writes

_EXISTS = "SELECT 1 FROM swaps WHERE id = ?"
_INSERT = "INSERT INTO swaps (id, rider_id, state, outcome, record, updated, started) VALUES (?, ?, ?, ?, ?, ?, ?)"
_UPDATE = "UPDATE swaps SET rider_id = ?, state = ?, outcome = ?, record = ?, updated = ? WHERE id = ?"
_IN_FLIGHT = "SELECT record FROM swaps WHERE outcome IS NULL ORDER BY started"
_LAST_ENDED = "SELECT updated FROM swaps WHERE rider_id = ? AND outcome = ? ORDER BY updated DESC LIMIT 1"
_OUTCOMES = "SELECT outcome, count(*) FROM swaps WHERE outcome IS NOT NULL GROUP BY outcome"


def save(
    tx: Writes,
    *,
    swap_id: str,
    rider_id: str,
    state: str,
    outcome: str | None,
    record: dict[str, Any],
    wall: datetime,
) -> None:
    """Write the swap's row: ``record`` as JSON, ``wall`` as its update time (and its start, the first time)."""
    text = json.dumps(record)
    updated = wall.isoformat()
    if tx.db.execute(_EXISTS, [swap_id]).fetchone() is not None:
        tx.db.execute(_UPDATE, [rider_id, state, outcome, text, updated, swap_id])
    else:
        tx.db.execute(_INSERT, [swap_id, rider_id, state, outcome, text, updated, updated])


def in_flight(src: Reads) -> list[dict[str, Any]]:
    """The records of swaps not ended, oldest start first."""
    return [json.loads(row[0]) for row in src.db.execute(_IN_FLIGHT).fetchall()]


def last_ended(src: Reads, rider_id: str, outcome: str) -> datetime | None:
    """When the rider's newest swap with ``outcome`` was last written; None when they never had one."""
    row = src.db.execute(_LAST_ENDED, [rider_id, outcome]).fetchone()
    return None if row is None else datetime.fromisoformat(str(row[0]).replace("Z", "+00:00"))


def outcomes(src: Reads) -> dict[str, int]:
    """How many swaps ended with each outcome."""
    return {str(outcome): int(count) for outcome, count in src.db.execute(_OUTCOMES).fetchall()}
