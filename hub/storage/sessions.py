"""Operators' browser sessions: a random id in a cookie, kept here by its hash, with a CSRF token and an expiry.

In the database rather than in memory, so every hub process behind one address knows every session
and a restart does not sign the city's operators out. The id itself is never stored (only its
SHA-256, like station tokens): a copy of the database opens no session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.auth import new_token, token_hash
from hub.storage.base import StorageBase, from_iso, iso

SESSION_IDLE = timedelta(hours=2)
"""A session unused this long is over."""
SESSION_LIFETIME = timedelta(hours=12)
"""A session is over this long after sign-in, used or not."""
SESSIONS_PER_OPERATOR = 20
"""At most this many live sessions per operator (the oldest ends first)."""
TOUCH_EVERY = timedelta(minutes=1)
"""How stale ``last_seen`` may get before a request writes it again (one write a minute, not per page)."""


@dataclass(frozen=True)
class OperatorSession:
    """A live session."""

    operator: str
    csrf: str
    """The token every form of this session carries."""
    created_at: datetime
    last_seen: datetime


class SessionsMixin(StorageBase):
    """Operators' sessions."""

    def open_session(self, operator: str) -> tuple[str, OperatorSession]:
        """A new session for ``operator``: the cookie value (shown to nobody else) and the session."""
        session_id = new_token()
        now = self.now()
        session = OperatorSession(operator, secrets.token_hex(32), now, now)
        with self.db.transaction() as tx:
            tx.execute(
                "DELETE FROM operator_sessions WHERE created_at < ? OR last_seen < ?",
                (iso(now - SESSION_LIFETIME), iso(now - SESSION_IDLE)),
            )
            tx.execute(
                "INSERT INTO operator_sessions (id_hash, operator, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
                (token_hash(session_id), operator, session.csrf, iso(now), iso(now)),
            )
            rows = tx.execute(
                "SELECT id_hash FROM operator_sessions WHERE operator = ? ORDER BY created_at DESC, id_hash",
                (operator,),
            )
            for (old,) in rows[SESSIONS_PER_OPERATOR:]:
                tx.execute("DELETE FROM operator_sessions WHERE id_hash = ?", (old,))
        return session_id, session

    def session(self, session_id: str | None) -> OperatorSession | None:
        """The live session of a cookie value (touched), or None (unknown, ended or expired)."""
        if not session_id or len(session_id) > 100 or "\x00" in session_id:
            return None
        key = token_hash(session_id)
        now = self.now()
        with self.db.transaction(write=False) as tx:
            row = tx.one(
                "SELECT s.operator, s.csrf, s.created_at, s.last_seen FROM operator_sessions s"
                " JOIN operators o ON o.name = s.operator WHERE s.id_hash = ?",
                (key,),
            )
        if row is None:
            return None
        session = OperatorSession(str(row[0]), str(row[1]), from_iso(row[2]), from_iso(row[3]))
        if now - session.created_at > SESSION_LIFETIME or now - session.last_seen > SESSION_IDLE:
            self.close_session(session_id)
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            with self.db.transaction() as tx:
                tx.execute("UPDATE operator_sessions SET last_seen = ? WHERE id_hash = ?", (iso(now), key))
        return session

    def close_session(self, session_id: str | None) -> None:
        """End a session (safe for an unknown one)."""
        if session_id and "\x00" not in session_id:
            with self.db.transaction() as tx:
                tx.execute("DELETE FROM operator_sessions WHERE id_hash = ?", (token_hash(session_id),))
