"""The station's newest trusted time, kept in ``settings`` so a reboot without NTP still knows a lower bound.

The text is :meth:`kiosk.station.trusted_time.TimeMark.to_json` (with its boot id and monotonic reading);
the store only keeps it. Written inside a store transaction (``tx.db``).
"""

from __future__ import annotations

from sqlite_utils import Database

KEY = "trusted_time"
_READ = "SELECT value FROM settings WHERE key = ?"
_WRITE = "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"


def read_time_mark(db: Database) -> str | None:
    """The kept trusted time's text, or None when the station never had one."""
    row = db.execute(_READ, [KEY]).fetchone()
    return None if row is None else str(row[0])


def write_time_mark(db: Database, text: str) -> None:
    """Keep ``text`` as the trusted time (inside a transaction), replacing the one before."""
    db.execute(_WRITE, [KEY, text])
