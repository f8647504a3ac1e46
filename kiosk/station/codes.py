"""Deciding whether a scanned rider code is accepted — pure: the parsed scan, key set and time in, a verdict out.

A scan's text is parsed once, where it enters the station (:func:`read_scan`); what that gives — the
:class:`~kiosk.core.ridercode.SignedCode`, or :class:`Unreadable` with the format error — is what
:func:`verify` checks, for each scope it is tried for, and what the flows hand on.

:func:`verify` never raises on any scan and never records anything: the app records the nonce in the
same database transaction that starts the swap or the entry, so a crash between the two cannot burn a
code without using it, nor use one twice.

Checks run in a fixed order and the first failure is the verdict: encoding → key known → signature →
key window → time window → scope → revoked → nonce. Nothing about the code's contents is trusted until
its signature is, and the cheap local look-ups (revocation, nonce) come last so a forged code never
touches the database.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.core.errors import ProtocolError
from kiosk.core.ridercode import (
    CodeFormatError,
    KeyFormatError,
    RiderCode,
    Scope,
    SignedCode,
    parse_code,
    public_key_from_b64,
    scope_words,
    signature_valid,
)


class Refusal(enum.Enum):
    """Why a code was refused; the value is the reason code recorded in events."""

    BAD_ENCODING = "bad_encoding"
    UNKNOWN_KEY = "unknown_key"
    KEY_NOT_VALID = "key_not_valid"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_SCOPE = "wrong_scope"
    REVOKED = "revoked"
    NONCE_USED = "nonce_used"

    @property
    def message_zh(self) -> str:
        """What the rider reads, in Chinese: what happened and what to do."""
        return _MESSAGES[self][0]

    @property
    def message_en(self) -> str:
        """What the rider reads, in English: what happened and what to do."""
        return _MESSAGES[self][1]


_MESSAGES: dict[Refusal, tuple[str, str]] = {
    Refusal.BAD_ENCODING: (
        "无法识别此二维码。请打开骑手App中的驿站码再扫一次。",
        "This is not a station code. Open the code in your rider app and scan again.",
    ),
    Refusal.UNKNOWN_KEY: (
        "本站暂不认识此码。请在App中刷新驿站码后再试。",
        "This station does not know this code yet. Refresh the code in your app and try again.",
    ),
    Refusal.KEY_NOT_VALID: (
        "此码已不能在本站使用。请在App中刷新驿站码后再试。",
        "This code can no longer be used here. Refresh the code in your app and try again.",
    ),
    Refusal.BAD_SIGNATURE: (
        "此码无效。请在App中刷新驿站码后再试。",
        "This code is not valid. Refresh the code in your app and try again.",
    ),
    Refusal.EXPIRED: (
        "此码已过期。请在App中刷新驿站码后再扫。",
        "This code has expired. Refresh it in your app and scan again.",
    ),
    Refusal.NOT_YET_VALID: (
        "此码还未生效。请检查手机时间，刷新驿站码后再试。",
        "This code is not valid yet. Check your phone's time, refresh the code and try again.",
    ),
    Refusal.WRONG_SCOPE: (
        "此码不能用于这里。请在App中选择正确的驿站码（换电或进门）。",
        "This code is not for this. Choose the right code in your app (battery swap or entry).",
    ),
    Refusal.REVOKED: (
        "您的账号暂时不能使用本站。请联系站点客服。",
        "Your account cannot use the station right now. Please contact station support.",
    ),
    Refusal.NONCE_USED: (
        "此码已经用过。请在App中刷新驿站码后再扫。",
        "This code was already used. Refresh it in your app and scan again.",
    ),
}


@dataclass(frozen=True)
class KeyInfo:
    """One hub signing key as the station knows it: id, public key, and when it may be used."""

    kid: str
    """The key id that codes carry."""
    public_key_b64: str
    """The Ed25519 public key: 32 raw bytes in standard Base64."""
    valid_from: datetime
    """First moment codes signed with this key are accepted (timezone-aware)."""
    valid_until: datetime | None = None
    """First moment they no longer are; None while the key has no planned end."""

    def __post_init__(self) -> None:
        for name, moment in (("valid_from", self.valid_from), ("valid_until", self.valid_until)):
            if moment is not None and (not isinstance(moment, datetime) or moment.utcoffset() is None):
                raise ProtocolError(f"key {self.kid!r}: {name} must be a timezone-aware time")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ProtocolError(f"key {self.kid!r}: valid_until must be after valid_from")

    def covers(self, moment: datetime, skew: timedelta) -> bool:
        """Whether ``moment`` lies in the key's window, widened by ``skew`` at both ends."""
        if moment < self.valid_from - skew:
            return False
        return self.valid_until is None or moment < self.valid_until + skew


class KeySet:
    """The hub keys a station accepts codes from, by key id. Immutable; build a new one to change it.

    Public keys are decoded once here, so a bad key fails when the key set is loaded, not at a scan.
    """

    def __init__(self, keys: Iterable[KeyInfo] = ()) -> None:
        infos: dict[str, KeyInfo] = {}
        decoded: dict[str, Ed25519PublicKey] = {}
        for info in keys:
            if info.kid in infos:
                raise ProtocolError(f"key id {info.kid!r} appears twice in the key set")
            try:
                decoded[info.kid] = public_key_from_b64(info.public_key_b64)
            except KeyFormatError as exc:
                raise ProtocolError(f"key {info.kid!r}: {exc}") from None
            infos[info.kid] = info
        self._infos = infos
        self._keys = decoded

    def __len__(self) -> int:
        return len(self._infos)

    def __iter__(self) -> Iterator[KeyInfo]:
        return iter(self._infos.values())

    def get(self, kid: str) -> KeyInfo | None:
        """The key with id ``kid``, or None."""
        return self._infos.get(kid)

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The decoded public key with id ``kid``, or None."""
        return self._keys.get(kid)

    @classmethod
    def from_json(cls, text: str) -> KeySet:
        """Parse a key set file (see ``docs/rider-codes.md``); ``ProtocolError`` naming what is wrong.

        ``{"keys": [{"kid": "k1", "public_key": "<base64>", "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": null}, ...]}``
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProtocolError(f"the key set is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or set(data) - {"keys"}:
            raise ProtocolError('a key set is a JSON object with one member, "keys": a list of keys')
        return cls(_key_from_json(index, item) for index, item in enumerate(data["keys"]))

    def to_json(self) -> str:
        """The key set in the form :meth:`from_json` reads."""
        return json.dumps({"keys": [key_to_json(info) for info in self]}, indent=2)


def key_to_json(info: KeyInfo) -> dict[str, Any]:
    """One key set entry as JSON-safe data."""
    return {
        "kid": info.kid,
        "public_key": info.public_key_b64,
        "valid_from": info.valid_from.isoformat(),
        "valid_until": info.valid_until.isoformat() if info.valid_until is not None else None,
    }


def _key_from_json(index: int, item: object) -> KeyInfo:
    where = f"key set entry {index + 1}"
    fields = {"kid", "public_key", "valid_from", "valid_until"}
    if not isinstance(item, dict) or set(item) - fields or not {"kid", "public_key", "valid_from"} <= set(item):
        raise ProtocolError(f"{where}: expected an object with kid, public_key, valid_from and valid_until")
    kid, public_key = item["kid"], item["public_key"]
    if not isinstance(kid, str) or not kid or not isinstance(public_key, str):
        raise ProtocolError(f"{where}: kid and public_key must be text")
    valid_until = item.get("valid_until")
    return KeyInfo(
        kid=kid,
        public_key_b64=public_key,
        valid_from=_time_from_json(item["valid_from"], f"{where} valid_from"),
        valid_until=None if valid_until is None else _time_from_json(valid_until, f"{where} valid_until"),
    )


def _time_from_json(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError(f"{where}: expected an ISO 8601 time with a zone, like '2026-01-01T00:00:00Z'")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError(f"{where}: {value!r} is not an ISO 8601 time") from None
    if moment.utcoffset() is None:
        raise ProtocolError(f"{where}: {value!r} has no time zone (add 'Z' for UTC)")
    return moment


@dataclass(frozen=True)
class Accepted:
    """The code is good for the asked scope. Record ``code.nonce_hex`` with the action it starts."""

    code: RiderCode
    """The verified fields."""


@dataclass(frozen=True)
class Refused:
    """The code is refused; ``kid`` and ``rider_id`` are set when the code got far enough to know them."""

    reason: Refusal
    """Why (with the rider's messages)."""
    kid: str | None = None
    """The key id the code named, if it could be read."""
    rider_id: str | None = None
    """The rider, only once the signature proved the code genuine (a forged id is not worth recording)."""
    detail: str = field(default="", compare=False)
    """More for technicians (e.g. what is malformed); never shown to riders."""


Verdict = Accepted | Refused
"""What :func:`verify` decides."""


@dataclass(frozen=True)
class Unreadable:
    """A scan that is not a rider code at all."""

    problem: str
    """What is malformed (the format error's words), for technicians."""


Scanned = SignedCode | Unreadable
"""A scan's text, parsed once: the signed code (not yet checked), or why it is not one."""


def read_scan(text: str) -> Scanned:
    """Parse a scanned text once; never raises on any text."""
    try:
        return parse_code(text)
    except CodeFormatError as exc:
        return Unreadable(str(exc))


def verify(
    scanned: Scanned,
    *,
    scope: Scope,
    keyset: KeySet,
    revoked_riders: Container[str],
    nonce_seen: Callable[[str], bool],
    now: datetime,
    skew_s: float,
    lower_bound: bool = False,
) -> Verdict:
    """Decide whether the scanned code is good for ``scope`` at this station at ``now``.

    ``revoked_riders`` answers ``rider_id in revoked_riders``; ``nonce_seen(nonce_hex)`` says whether
    this station already accepted that nonce. ``skew_s`` (``policy.code_clock_skew_s``) widens the
    code's validity window and the key's window at both ends to allow for clocks that disagree.
    ``lower_bound``: ``now`` is only the earliest the real time can be (a station without NTP, see
    :mod:`kiosk.station.trusted_time`); the code's signed issue time — the hub's clock — then lifts it, so a
    code is never refused as not yet valid for a lag of the station's own estimate, while one that expired
    before ``now`` still is.
    Never raises because of the scan; exceptions from ``nonce_seen`` (a database failure) propagate.
    """
    if isinstance(scanned, str):  # a caller that has not parsed the scan: parsing is read_scan's, once
        raise TypeError("verify takes the parsed scan, read_scan(text), not its text")
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if skew_s < 0:
        raise ValueError("skew_s cannot be negative")
    if not scope:
        raise ValueError("scope must name at least one scope")
    skew = timedelta(seconds=skew_s)
    if isinstance(scanned, Unreadable):
        return Refused(Refusal.BAD_ENCODING, detail=scanned.problem)
    signed = scanned
    code = signed.code
    kid = code.kid
    info = keyset.get(kid)
    public_key = keyset.public_key(kid)
    if info is None or public_key is None:
        return Refused(Refusal.UNKNOWN_KEY, kid=kid, detail=f"no key {kid!r} in the key set")
    if not signature_valid(signed, public_key):
        return Refused(Refusal.BAD_SIGNATURE, kid=kid)
    rider = code.rider_id
    if lower_bound:
        now = max(now, code.issued_at)
    if not info.covers(now, skew):
        return Refused(Refusal.KEY_NOT_VALID, kid=kid, rider_id=rider, detail=f"key {kid!r} is not valid now")
    if not info.covers(code.issued_at, skew):
        detail = f"code issued {code.issued_at.isoformat()}, outside key {kid!r}'s window"
        return Refused(Refusal.KEY_NOT_VALID, kid=kid, rider_id=rider, detail=detail)
    if now < code.issued_at - skew:
        return Refused(Refusal.NOT_YET_VALID, kid=kid, rider_id=rider, detail=f"issued {code.issued_at.isoformat()}")
    if now >= code.expires_at + skew:
        return Refused(Refusal.EXPIRED, kid=kid, rider_id=rider, detail=f"expired {code.expires_at.isoformat()}")
    if not code.allows(scope):
        return Refused(Refusal.WRONG_SCOPE, kid=kid, rider_id=rider, detail=_scope_detail(code.scopes))
    if rider in revoked_riders:
        return Refused(Refusal.REVOKED, kid=kid, rider_id=rider)
    if nonce_seen(code.nonce_hex):
        return Refused(Refusal.NONCE_USED, kid=kid, rider_id=rider, detail=f"nonce {code.nonce_hex}")
    return Accepted(code)


def check_scan(
    scanned: Scanned,
    *,
    keyset: KeySet,
    revoked_riders: Container[str],
    nonce_seen: Callable[[str], bool],
    now: datetime,
    skew_s: float,
    lower_bound: bool = False,
) -> tuple[Verdict, Scope]:
    """What a scan at the station is for, and the verdict: a swap, or the entry when it is an entry code.

    Tried for a swap first; a code refused only for its scope is tried for the entry. A code refused before
    its scope was looked at (expired, unknown key…) that reads as an entry-only code is an entry refusal,
    recorded and shown as such. The checks are :func:`verify`'s, on the one parsed scan.
    """

    def check(scope: Scope) -> Verdict:
        return verify(
            scanned,
            scope=scope,
            keyset=keyset,
            revoked_riders=revoked_riders,
            nonce_seen=nonce_seen,
            now=now,
            skew_s=skew_s,
            lower_bound=lower_bound,
        )

    verdict = check(Scope.SWAP)
    if isinstance(verdict, Refused) and verdict.reason is Refusal.WRONG_SCOPE:
        return check(Scope.ENTRY), Scope.ENTRY
    if isinstance(verdict, Refused) and isinstance(scanned, SignedCode) and Scope.SWAP not in scanned.code.scopes:
        return verdict, Scope.ENTRY
    return verdict, Scope.SWAP


def _scope_detail(scopes: Scope) -> str:
    return "the code is for " + " and ".join(scope_words(scopes)) + " only"
