"""The station's newest trusted time, kept in ``settings`` so a reboot without NTP still knows a lower bound.

The text is :meth:`kiosk.station.trusted_time.TimeMark.to_json` (with its boot id and monotonic reading);
the store only keeps it. Read from the open store; written inside a store transaction.
"""

from __future__ import annotations

from kiosk.store.access import Reads, Writes

KEY = "trusted_time"
_READ = "SELECT value FROM settings WHERE key = ?"
_WRITE = "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"


def read_time_mark(src: Reads) -> str | None:
    """The kept trusted time's text, or None when the station never had one."""
    row = src.db.execute(_READ, [KEY]).fetchone()
    return None if row is None else str(row[0])


def write_time_mark(tx: Writes, text: str) -> None:
    """Keep ``text`` as the trusted time (inside a transaction), replacing the one before."""
    tx.db.execute(_WRITE, [KEY, text])
