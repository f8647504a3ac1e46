"""Who is asking: staff sessions, CSRF tokens, sign-in rate limits, and the three kinds of credentials.

- **ui** — the touchscreen app's bearer token (``Authorization: Bearer <ui token>``): the whole ``/api``.
- **staff** — a person signed in with name and password: a random session id in an HttpOnly,
  SameSite=Strict cookie; every state-changing request also carries the session's CSRF token (a form
  field or the ``X-CSRF-Token`` header), so a page on another site cannot act with the cookie.
- **monitor** — the fleet monitor's API key (bearer): read-only, ``/metrics`` and ``GET /api/status|events``.

Sessions live in memory: a kiosk-core restart signs everyone out, which is fine on a station. Nothing
here trusts the client's IP address: limits count failures per user name and overall.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
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


class LoginLimiter:
    """Refuses sign-ins after too many failures in a window: per user name, and for the whole station.

    Memory is bounded: at most ``per_user`` failure times per name, at most ``max_names`` names (the
    least recently failed are forgotten first), at most ``overall`` failure times in all. A name that is
    blocked is refused before its password is checked, so guessing stops costing the station hashes.
    """

    def __init__(
        self,
        *,
        per_user: int = 5,
        overall: int = 30,
        window_s: float = 300.0,
        max_names: int = 256,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.overall = overall
        self.window_s = window_s
        self.max_names = max_names
        self._now = monotonic
        self._by_name: OrderedDict[str, deque[float]] = OrderedDict()
        self._all: deque[float] = deque(maxlen=overall)

    def retry_after(self, name: str) -> float | None:
        """Seconds until ``name`` may try again, or None when a try is allowed now."""
        now = self._now()
        waits = []
        times = self._by_name.get(name)
        if times is not None and len(times) >= self.per_user:
            waits.append(times[0] + self.window_s - now)
        if len(self._all) >= self.overall:
            waits.append(self._all[0] + self.window_s - now)
        wait = max(waits, default=0.0)
        return wait if wait > 0 else None

    def failed(self, name: str) -> None:
        """Count a failed sign-in for ``name``."""
        now = self._now()
        times = self._by_name.pop(name, None)
        if times is None:
            times = deque(maxlen=self.per_user)
        times.append(now)
        self._by_name[name] = times
        while len(self._by_name) > self.max_names:
            self._by_name.popitem(last=False)
        self._all.append(now)

    def succeeded(self, name: str) -> None:
        """A right password: forget this name's failures (the overall count stays)."""
        self._by_name.pop(name, None)

    @property
    def tracked_names(self) -> int:
        """How many names have failures remembered (for tests of the memory bound)."""
        return len(self._by_name)
