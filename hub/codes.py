"""Issuing rider codes: the rider-app API's models and the one function both the API and the CLI use."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field

from hub.storage import Storage
from kiosk.core.errors import KioskError
from kiosk.core.ridercode import (
    MAX_COVERED,
    MAX_LIFETIME,
    POINTS_MAX,
    RIDER_ID_MAX_LENGTH,
    SCOPE_NAMES,
    PointsCover,
    RiderCode,
    scope_words,
    sign_code,
)
from kiosk.sync.protocol import Answer, Request

DEFAULT_TTL = timedelta(minutes=10)
"""How long a code lives unless asked otherwise: long enough to walk up to the station."""


class RiderRevoked(KioskError, PermissionError):
    """The rider is revoked: no code is issued."""


class CodeRequest(Request):
    """``POST /v1/codes``: the rider app asks for a code for one of its riders."""

    rider_id: Annotated[
        str, Field(min_length=1, max_length=RIDER_ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    ]
    scope: Literal["swap", "entry", "both"] = "both"
    ttl_s: Annotated[int, Field(ge=30, le=int(MAX_LIFETIME.total_seconds()))] = int(DEFAULT_TTL.total_seconds())
    """Seconds from issue to expiry."""
    points: Annotated[int, Field(ge=0, le=POINTS_MAX)] | None = None
    """The rider's points balance to show at the station; None: the hub's ledger balance."""


class IssuedCode(Answer):
    """A signed rider code and what it says."""

    code: str
    """The text to show as a QR code (``RK2:…`` with the hub's points snapshot, ``RK1:…`` otherwise)."""
    kid: str
    rider_id: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime


def points_snapshot(storage: Storage, rider_id: str) -> tuple[int, PointsCover]:
    """The rider's balance and which stations' events it holds, read in one transaction.

    Per station where the rider was seen (their points or code events came in), its high-water seq: the
    hub holds every one of its events up to there, so those are in the balance. The most recently seen
    :data:`MAX_COVERED` stations fit in a code; the cover is complete when no other station saw the rider.
    """
    balance, seen = storage.points_snapshot(rider_id, MAX_COVERED + 1)
    seqs = dict(seen[:MAX_COVERED])
    return balance, PointsCover.of(seqs, complete=len(seen) <= MAX_COVERED)


def issue_code(
    storage: Storage, rider_id: str, *, scope: str = "both", ttl: timedelta = DEFAULT_TTL, points: int | None = None
) -> IssuedCode:
    """Sign a new code for ``rider_id`` with the hub's current key; :class:`RiderRevoked` for a revoked rider.

    Without ``points`` the code carries the rider's balance in the hub's ledger (clamped to 0 and up) and
    what it includes (:func:`points_snapshot`, a version-2 code). With ``points`` (the rider app's own
    figure) the hub cannot say what they include: a version-1 code.

    Bad fields raise :class:`kiosk.core.ridercode.CodeFormatError` with the reason.
    """
    if storage.is_revoked(rider_id):
        raise RiderRevoked(f"rider {rider_id} is revoked; no code is issued")
    covers: PointsCover | None = None
    if points is None:
        balance, covers = points_snapshot(storage, rider_id)
        # The balance can be below zero after a correction; a code carries 0 to POINTS_MAX.
        points = min(max(balance, 0), POINTS_MAX)
    key = storage.signing_key()
    fields = RiderCode.issue(
        kid=key.kid,
        rider_id=rider_id,
        scopes=SCOPE_NAMES[scope],
        now=storage.now(),
        ttl=ttl,
        points=points,
        covers=covers,
    )
    return IssuedCode(
        code=sign_code(fields, key.private_key),
        kid=key.kid,
        rider_id=rider_id,
        scopes=scope_words(fields.scopes),
        issued_at=fields.issued_at,
        expires_at=fields.expires_at,
    )
