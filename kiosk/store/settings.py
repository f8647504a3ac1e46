"""Values kept by key: ``settings`` (what the station runs by, the hub's bundle) and ``sync_state`` (the relay's).

Schema v2. A value is text; writing a key replaces its value. The trusted time has its own module
(:mod:`kiosk.store.timemark`) over the same ``settings`` table.
"""

from __future__ import annotations

from kiosk.store.access import Reads, Writes

SETTINGS = "settings"
SYNC_STATE = "sync_state"
_TABLES = frozenset({SETTINGS, SYNC_STATE})
_READ = "SELECT value FROM {table} WHERE key = ?"
_WRITE = "INSERT INTO {table} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"


def _table(table: str) -> str:
    if table not in _TABLES:
        raise ValueError(f"no key-value table {table!r}; expected one of {sorted(_TABLES)}")
    return table


def read(src: Reads, key: str, *, table: str = SETTINGS) -> str | None:
    """The value kept under ``key`` in ``table``, or None when there is none."""
    row = src.db.execute(_READ.format(table=_table(table)), [key]).fetchone()
    return None if row is None else str(row[0])


def write(tx: Writes, key: str, value: str, *, table: str = SETTINGS) -> None:
    """Keep ``value`` under ``key`` in ``table`` (inside a transaction), replacing the one before."""
    tx.db.execute(_WRITE.format(table=_table(table)), [key, value])
