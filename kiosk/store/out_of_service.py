"""Bays out of service (schema v3, ``bays_out_of_service``): taken out by the station or by staff, kept across restarts.

Staff changes are written with their audit event in one transaction; the swap flow never picks a bay listed here.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.store.access import Reads, Writes

_ALL = "SELECT bay, reason FROM bays_out_of_service"
_TAKE_OUT = (
    "INSERT INTO bays_out_of_service (bay, reason, since) VALUES (?, ?, ?)"
    " ON CONFLICT (bay) DO UPDATE SET reason = excluded.reason, since = excluded.since"
)
_BRING_BACK = "DELETE FROM bays_out_of_service WHERE bay = ?"


def bays(src: Reads) -> dict[int, str]:
    """Bay → why it is out of service."""
    return {int(bay): str(reason) for bay, reason in src.db.execute(_ALL).fetchall()}


def take_out(tx: Writes, bay: int, reason: str, since: datetime) -> None:
    """Record ``bay`` as out of service for ``reason`` from ``since`` (a bay already out gets the new reason)."""
    tx.db.execute(_TAKE_OUT, [bay, reason, since.isoformat()])


def bring_back(tx: Writes, bay: int) -> None:
    """``bay`` is in service again (nothing happens for a bay that was not out)."""
    tx.db.execute(_BRING_BACK, [bay])
