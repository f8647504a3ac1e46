"""Events of rider-code verification, and the one function that turns a verdict into its event.

The refusal event never carries the scanned text: a code is a bearer credential until it expires, and
events travel to the hub and sit in exports.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from kiosk.core.events import Event, event_type
from kiosk.core.ridercode import Scope, scope_words
from kiosk.station.codes import Accepted, Refusal, Verdict

ScopeWord = Literal["swap", "entry"]


@event_type
class CodeAccepted(Event):
    """A rider code was accepted for an action (its nonce is recorded with this event)."""

    TYPE: ClassVar[str] = "code.accepted"
    rider_id: str
    """The rider."""
    scope: ScopeWord
    """What the code was accepted for."""
    kid: str
    """The hub key that signed it."""
    nonce: str
    """The code's nonce (16 hex digits)."""


@event_type
class CodeRefused(Event):
    """A scanned code was refused."""

    TYPE: ClassVar[str] = "code.refused"
    reason: Refusal
    """The reason code (``bad_encoding``, ``expired``, ...)."""
    scope: ScopeWord
    """What the code was scanned for."""
    kid: str | None = None
    """The key id the code named, when it could be read."""
    rider_id: str | None = None
    """The rider, when the code's signature was good."""


def _word(scope: Scope) -> ScopeWord:
    words = scope_words(scope)
    if len(words) != 1:
        raise ValueError(f"a code is verified for exactly one scope, got {scope!r}")
    return "swap" if words[0] == "swap" else "entry"


def verdict_event(verdict: Verdict, scope: Scope) -> CodeAccepted | CodeRefused:
    """The event recording ``verdict`` for a scan made for ``scope`` (one of swap, entry)."""
    word = _word(scope)
    if isinstance(verdict, Accepted):
        code = verdict.code
        return CodeAccepted(rider_id=code.rider_id, scope=word, kid=code.kid, nonce=code.nonce_hex)
    return CodeRefused(reason=verdict.reason, scope=word, kid=verdict.kid, rider_id=verdict.rider_id)
