"""Opening the database file the one safe way, checking it, and moving a damaged one aside.

Every connection gets the same pragmas: WAL (readers never block the writer), ``synchronous=FULL``
(in WAL mode NORMAL can lose a commit that was already acknowledged if the power goes — a swap
record must survive a pulled plug), foreign keys on, and a busy timeout.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from kiosk.core.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
"""How long a statement waits for another connection's lock before failing, in milliseconds."""

SIDE_FILES = ("-wal", "-shm")
"""Files SQLite keeps beside the database in WAL mode; they belong to it and move with it."""

_CORRUPTION_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` with the station's pragmas; raises ``sqlite3.Error`` as SQLite reports it.

    The connection is in explicit-transaction mode (``isolation_level=None``): the store says
    ``BEGIN IMMEDIATE`` itself, so Python's driver never opens or commits a transaction behind its back.
    ``check_same_thread=False`` because the store serialises use with its own lock, and the sync
    relay's thread may read the outbox.
    """
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # The first statement that reads the file: a file that is not a database fails here.
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            # Still durable with synchronous=FULL, only slower; say so once rather than refuse to run.
            log.warning("database %s could not use WAL (journal mode is %s); carrying on", path, mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_readonly(path: Path) -> sqlite3.Connection:
    """Open ``path`` read-only: it sees committed ``-wal`` frames but never writes, checkpoints or deletes.

    Raises ``sqlite3.Error`` (``unable to open database file`` when it does not exist).
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except BaseException:
        conn.close()
        raise
    return conn


def is_corruption(exc: sqlite3.Error) -> bool:
    """True when SQLite says the file is damaged or not a database (not merely locked or unreadable)."""
    code = getattr(exc, "sqlite_errorcode", None)
    # Extended codes (SQLITE_CORRUPT_INDEX …) keep the primary code in the low byte.
    return code is not None and (int(code) & 0xFF) in _CORRUPTION_CODES


def run_check(conn: sqlite3.Connection, pragma: str) -> str:
    """Run ``quick_check`` or ``integrity_check``: "ok", or every problem line joined with "; "."""
    if pragma not in ("quick_check", "integrity_check"):
        raise ValueError(f"not a check pragma: {pragma!r}")
    rows = conn.execute(f"PRAGMA {pragma}").fetchall()
    lines = [str(row[0]) for row in rows]
    return "ok" if lines == ["ok"] else "; ".join(lines)


def check_file(path: Path) -> str:
    """``quick_check`` an existing file through a read-only connection: "ok", or the problem.

    Read-only on purpose: when the last read-write connection to a file closes, SQLite checkpoints
    the ``-wal`` into the main file and deletes it — on a damaged file that would change the very
    bytes we mean to keep. A read-only connection still reads committed frames from the ``-wal``
    (so a crash-recovered file checks as it really is) but cannot write or delete anything.
    Raises ``sqlite3.Error`` for failures that are not damage (see :func:`is_corruption`).
    """
    conn = connect_readonly(path)
    try:
        return run_check(conn, "quick_check")
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            return str(exc)
        raise
    finally:
        conn.close()


def _fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` survive a power cut."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename itself has still happened
    finally:
        os.close(fd)


def corrupt_name(path: Path, when: datetime) -> Path:
    """The first free ``<name>.corrupt-<UTC timestamp>[-n]`` beside ``path``."""
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = path.with_name(f"{path.name}.corrupt-{stamp}")
    candidate, n = base, 1
    while any(Path(f"{candidate}{suffix}").exists() for suffix in ("", *SIDE_FILES)):
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


def move_aside(path: Path, when: datetime) -> Path:
    """Rename a damaged database and its side files to a ``.corrupt-<timestamp>`` name; never delete.

    The side files move first: a stale ``-wal`` left under the live name would be replayed into the
    new database. Returns the new name of the main file.
    """
    kept = corrupt_name(path, when)
    try:
        for suffix in SIDE_FILES:
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{kept}{suffix}"))
        if path.exists():
            os.replace(path, kept)
    except OSError as exc:
        raise StoreError(f"the database {path} is damaged and could not be moved aside: {exc}") from exc
    _fsync_dir(path.parent)
    return kept
