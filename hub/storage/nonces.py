"""Rider codes' nonces as stations report using them: the hub notices one code used at two stations.

A station refuses a nonce it has seen before, but a station cannot know what another one saw while
offline. Every ``code.accepted`` the hub receives names the code's nonce; the first station and event
to report it are kept, and a report from another station is flagged (:attr:`FlagKind.NONCE_REUSED`),
so an operator sees a copied code (a screenshot passed around, a cloned phone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.storage.base import epoch_ms
from hub.storage.db import Engine, Tx
from hub.storage.flags import Flag, FlagKind

_SQLITE_CHUNK = 10_000
"""Nonces looked up per SQLite statement (its limit is 32,766 bound values)."""


@dataclass(frozen=True, slots=True)
class CodeUse:
    """A ``code.accepted`` event: which rider's code, and its nonce (None when the event has none)."""

    event_id: str
    rider_id: str
    nonce: str | None


def record_nonces(tx: Tx, station_id: str, uses: Sequence[CodeUse], now: datetime) -> list[Flag]:
    """Keep the first report of each nonce; flags for nonces another station reported first."""
    with_nonce = [u for u in uses if u.nonce is not None]
    if not with_nonce:
        return []
    at_ms = epoch_ms(now)
    first = _first_reports(tx, sorted({u.nonce for u in with_nonce if u.nonce is not None}))
    flags: list[Flag] = []
    new_rows = []
    for use in with_nonce:
        assert use.nonce is not None
        seen = first.get(use.nonce)
        if seen is None:
            first[use.nonce] = (station_id, use.event_id)
            new_rows.append((use.nonce, station_id, use.event_id, use.rider_id, at_ms))
        elif seen[0] != station_id:
            flags.append(
                Flag(
                    station_id,
                    FlagKind.NONCE_REUSED,
                    use.event_id,
                    f"rider {use.rider_id}'s code (nonce {use.nonce}) was used at {seen[0]} before"
                    f" (event {seen[1]}): one code, two stations",
                )
            )
    tx.executemany(
        "INSERT INTO code_nonces (nonce, station_id, event_id, rider_id, at_ms) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (nonce) DO NOTHING",
        new_rows,
    )
    return flags


def _first_reports(tx: Tx, nonces: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Per nonce already held: the station and event that reported it first."""
    if tx.engine is Engine.POSTGRES:
        rows = tx.execute(
            "SELECT nonce, station_id, event_id FROM code_nonces WHERE nonce = ANY(%b::text[])", (list(nonces),)
        )
    else:
        rows = []
        for start in range(0, len(nonces), _SQLITE_CHUNK):
            chunk = nonces[start : start + _SQLITE_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows += tx.execute(
                f"SELECT nonce, station_id, event_id FROM code_nonces WHERE nonce IN ({marks})",  # noqa: S608 - only placeholders are put in
                chunk,
            )
    return {str(n): (str(s), str(e)) for n, s, e in rows}
