"""The identified rider at the screen, as a small state machine — pure: monotonic times in, a new state out.

::

    IDLE ──identify(purpose)──► AWAITING_SCAN ──code accepted──► IDENTIFIED ──end / no touch for a while──► IDLE
      │                            └──── no scan before the deadline ────────────────────────────────► IDLE
      └──────────────────────── a code accepted for a swap or the entry ──► IDENTIFIED

A touch is any call of the rider's part of the local API; ``rider_session_s`` without one ends the session,
so a rider who walks away is not left signed in for the next person.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

PURPOSES = ("rider", "points", "booking", "feedback")
"""Why a rider is asked to scan (the local API's ``Purpose``)."""


class SessionState(enum.Enum):
    """Where the session is."""

    IDLE = "idle"
    AWAITING_SCAN = "awaiting_scan"
    IDENTIFIED = "identified"


@dataclass(frozen=True)
class RiderSession:
    """The session now. Build the next one with the methods; an instance never changes."""

    state: SessionState = SessionState.IDLE
    purpose: str = "rider"
    deadline: float | None = None
    """AWAITING_SCAN: when the wait for a scan ends (monotonic s)."""
    rider_id: str | None = None
    last_touch: float | None = None
    """IDENTIFIED: the last touch (monotonic s)."""
    can_swap: bool = False
    """IDENTIFIED: the code that identified the rider allows a swap (so the screen may start one)."""
    nonce: str | None = None
    """IDENTIFIED: the nonce of that code (the swap it may start is recorded with it)."""
    points: int | None = None
    """IDENTIFIED: the balance snapshot in that code (None: the code carried none)."""
    issued_at: datetime | None = None
    """IDENTIFIED: when that code was issued."""

    @property
    def awaiting_scan(self) -> bool:
        """Whether the next scan is to identify a rider."""
        return self.state is SessionState.AWAITING_SCAN

    @property
    def identified(self) -> bool:
        """Whether a rider is known."""
        return self.state is SessionState.IDENTIFIED

    def await_scan(self, purpose: str, now: float, wait_s: float) -> RiderSession:
        """The screen asked the rider to scan, for ``purpose``; the wait ends ``wait_s`` from ``now``."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r} (expected one of {', '.join(PURPOSES)})")
        return RiderSession(SessionState.AWAITING_SCAN, purpose=purpose, deadline=now + wait_s)

    def identify(
        self,
        rider_id: str,
        now: float,
        *,
        can_swap: bool,
        nonce: str,
        points: int | None = None,
        issued_at: datetime | None = None,
    ) -> RiderSession:
        """A code was accepted: that rider is known now (keeping the purpose asked for, if any)."""
        purpose = self.purpose if self.state is SessionState.AWAITING_SCAN else "rider"
        return RiderSession(
            SessionState.IDENTIFIED,
            purpose=purpose,
            rider_id=rider_id,
            last_touch=now,
            can_swap=can_swap,
            nonce=nonce,
            points=points,
            issued_at=issued_at,
        )

    def touch(self, now: float) -> RiderSession:
        """The rider did something: the session lasts another while (only when someone is identified)."""
        if self.state is not SessionState.IDENTIFIED:
            return self
        return replace(self, last_touch=now)

    def end(self) -> RiderSession:
        """The rider is done (or the wait for a scan is given up)."""
        return RiderSession()

    def expired(self, now: float, session_s: float) -> bool:
        """Whether the session has run out at ``now``."""
        if self.state is SessionState.AWAITING_SCAN:
            return self.deadline is not None and now >= self.deadline
        if self.state is SessionState.IDENTIFIED:
            return self.last_touch is not None and now - self.last_touch >= session_s
        return False

    def expires_in(self, now: float, session_s: float) -> float:
        """Seconds left before the session runs out (0 when idle or already out)."""
        if self.state is SessionState.AWAITING_SCAN and self.deadline is not None:
            return max(0.0, self.deadline - now)
        if self.state is SessionState.IDENTIFIED and self.last_touch is not None:
            return max(0.0, self.last_touch + session_s - now)
        return 0.0

    def as_dict(self, now: float, session_s: float) -> dict[str, object]:
        """JSON-safe view for the status page (no nonce: it is a credential's part)."""
        return {
            "state": self.state.value,
            "purpose": self.purpose,
            "rider_id": self.rider_id,
            "expires_in_s": round(self.expires_in(now, session_s), 1),
        }
