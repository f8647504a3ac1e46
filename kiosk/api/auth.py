"""Who is asking: staff sessions, CSRF tokens, sign-in rate limits, and the three kinds of credentials.

- **ui** — the touchscreen app's bearer token (``Authorization: Bearer <ui token>``): the whole ``/api``.
- **staff** — a person signed in with name and password: a random session id in an HttpOnly,
  SameSite=Strict cookie; every state-changing request also carries the session's CSRF token (a form
  field or the ``X-CSRF-Token`` header), so a page on another site cannot act with the cookie.
- **monitor** — the fleet monitor's API key (bearer): read-only, ``/metrics`` and ``GET /api/status|events``.

Sessions live in memory: a kiosk-core restart signs everyone out, which is fine on a station. Wrong
passwords are limited by :class:`kiosk.core.guessing.GuessThrottle` per account and connecting client
(the peer address: nothing stands in front of kiosk-core, so no header can claim another one); the
account itself is never locked.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

SESSION_COOKIE = "kiosk_session"
LOGIN_COOKIE = "kiosk_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"


class Role(enum.Enum):
    """What kind of credential a request came with."""

    UI = "ui"
    STAFF = "staff"
    MONITOR = "monitor"


@dataclass(frozen=True)
class Principal:
    """The authenticated party of one request."""

    role: Role
    name: str
    """The staff member's account name; ``ui`` or ``monitor`` for the tokens."""
    session: Session | None = None
    """The staff session (None for bearer credentials)."""


@dataclass
class Session:
    """One signed-in staff member's browser."""

    user: str
    stamp: str
    """The account's stamp when signed in: a new password or a removed account ends the session."""
    csrf: str
    created: float
    last_seen: float
    flash: list[str] = field(default_factory=list)
    """Messages to show on the next page (results of actions)."""


def _digest(session_id: str) -> str:
    # Kept by digest, so the ids themselves are nowhere in memory but in the browsers.
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Staff sessions in memory, bounded in number, ended after idling or after an absolute lifetime."""

    def __init__(
        self,
        *,
        idle_s: float = 2 * 3600.0,
        lifetime_s: float = 12 * 3600.0,
        max_sessions: int = 64,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        self.lifetime_s = lifetime_s
        self.max_sessions = max_sessions
        self._now = monotonic
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def open(self, user: str, stamp: str) -> tuple[str, Session]:
        """A new session for ``user``: its cookie value and the session. The oldest one goes when full."""
        self._expire()
        session_id = secrets.token_urlsafe(32)
        now = self._now()
        session = Session(user=user, stamp=stamp, csrf=secrets.token_urlsafe(32), created=now, last_seen=now)
        self._sessions[_digest(session_id)] = session
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session for a cookie value (touching it), or None."""
        if not session_id:
            return None
        key = _digest(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self._now()
        if now - session.last_seen > self.idle_s or now - session.created > self.lifetime_s:
            del self._sessions[key]
            return None
        session.last_seen = now
        self._sessions.move_to_end(key)
        return session

    def close(self, session_id: str | None) -> None:
        """End a session (safe for an unknown one)."""
        if session_id:
            self._sessions.pop(_digest(session_id), None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expire(self) -> None:
        now = self._now()
        for key, session in list(self._sessions.items()):
            if now - session.last_seen > self.idle_s or now - session.created > self.lifetime_s:
                del self._sessions[key]


def csrf_ok(session: Session, presented: str | None) -> bool:
    """Whether ``presented`` is this session's CSRF token (constant-time)."""
    return presented is not None and hmac.compare_digest(presented.encode(), session.csrf.encode())


def token_matches(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison of a presented bearer token with a configured one (None never matches)."""
    if presented is None or expected is None or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
