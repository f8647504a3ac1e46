"""Used code nonces: one code, one use — the statements the station's flows run on ``code_nonces``.

A nonce is recorded the first time the station acts on its code in any way (a swap started or refused,
the entry, a rider session at the screen) and never again accepted. The row's ``scope`` column says what
the code was used for; a session opened by an identifying scan (:data:`SESSION`) may start ONE swap later,
which :func:`claim_session_swap` turns into :data:`SWAP` in the swap's own transaction, so no path gets a
second swap out of one code. Reads take the open store; writes take an open transaction.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.store.access import Reads, Writes
from kiosk.store.outbox import iso_utc

SWAP = "swap"
"""The code was scanned for a swap (started or refused): it can start nothing more."""
ENTRY = "entry"
"""The code opened (or was refused at) the entry door."""
SESSION = "session"
"""The code identified a rider at the screen; that session may still start one swap."""
USES = frozenset({SWAP, ENTRY, SESSION})

_SEEN = "SELECT 1 FROM code_nonces WHERE nonce = ?"
_SPEND = "INSERT OR IGNORE INTO code_nonces (nonce, rider_id, scope, used) VALUES (?, ?, ?, ?)"
_USE = "SELECT scope FROM code_nonces WHERE nonce = ?"
_CLAIM = "UPDATE code_nonces SET scope = ? WHERE nonce = ? AND scope = ?"


def nonce_used(src: Reads, nonce: str) -> bool:
    """Whether this station already acted on a code with ``nonce``."""
    return src.db.execute(_SEEN, [nonce]).fetchone() is not None


def nonce_use(src: Reads, nonce: str) -> str | None:
    """What the code with ``nonce`` was used for (one of :data:`USES`), or None when it never was."""
    row = src.db.execute(_USE, [nonce]).fetchone()
    return None if row is None else str(row[0])


def spend_nonce(tx: Writes, nonce: str, *, rider_id: str, use: str, at: datetime) -> bool:
    """Record ``nonce`` as used for ``use`` (inside a transaction); False when it already was (nothing changes).

    The caller refuses the action on False: the check before it and this insert are one decision only
    when both run in the same transaction as the action.
    """
    if use not in USES:
        raise ValueError(f"unknown nonce use {use!r}; expected one of {sorted(USES)}")
    return tx.db.execute(_SPEND, [nonce, rider_id, use, iso_utc(at)]).rowcount == 1


def claim_session_swap(tx: Writes, nonce: str) -> bool:
    """Let the session opened by ``nonce``'s code start its one swap (inside the swap's transaction).

    True exactly once per nonce, and only for a code recorded as :data:`SESSION`; a code already used for
    a swap, the entry, or a session's swap gives False.
    """
    return tx.db.execute(_CLAIM, [SWAP, nonce, SESSION]).rowcount == 1
