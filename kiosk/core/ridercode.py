"""Rider codes on the wire: the fields, their compact binary layout, the Ed25519 signature, the QR text.

Shared by the hub (which signs codes) and the station (which verifies them offline); the policy that
decides whether a code is accepted lives in :mod:`kiosk.station.codes`. ``docs/rider-codes.md`` is the
format's specification; this module is its implementation. In short::

    text      = "RK1:" + Base45(payload + signature)
    payload   = version(1) flags(1) issued_at(4) expires_at(4) nonce(8)
                kid_len(1) kid(1..8) rider_len(1) rider_id(1..20) [points(4) if flag set]
    signature = Ed25519(private_key, DOMAIN_TAG + payload)      # 64 bytes

Integers are unsigned big-endian; times are whole seconds since the Unix epoch (UTC). The longest code
is 178 characters, which is exactly what a QR code of version 7 holds in alphanumeric mode at error
correction level M, so every code can be shown at a size a cheap scanner reads at once.

Parsing is strict (one text per code and one code per text): anything else is a
:class:`CodeFormatError`, never another exception.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import os
import re
import secrets
import stat
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.core.base45 import Base45Error, b45decode, b45encode
from kiosk.core.errors import ConfigError, ProtocolError

FORMAT_VERSION = 1
"""The layout this module reads and writes."""
TEXT_PREFIX = "RK1:"
"""Starts every version-1 code's text: 'RK' for rider kiosk, the version, a separator."""
DOMAIN_TAG = b"station-kiosk/rider-code/v1\x00"
"""Prefixed to the payload before signing, so a signature made for a rider code cannot be passed off
as a signature over any other message the same key might ever sign (and vice versa)."""

NONCE_SIZE = 8
"""Random bytes per code; 64 bits make a repeat within one station's nonce table vanishingly rare."""
SIGNATURE_SIZE = 64
"""An Ed25519 signature."""
KID_MAX_LENGTH = 8
"""Longest key id, in characters."""
RIDER_ID_MAX_LENGTH = 20
"""Longest rider id, in characters."""
POINTS_MAX = 0xFFFF_FFFF
"""Largest points-balance snapshot (it is stored in 4 bytes)."""
MAX_LIFETIME = timedelta(days=7)
"""Longest time from issue to expiry a code may have: codes are meant to live minutes, not months."""

_HEAD = struct.Struct(">BBII8s")  # version, flags, issued_at, expires_at, nonce
_POINTS = struct.Struct(">I")
_SCOPE_BITS = 0x03
_POINTS_BIT = 0x80
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""Key ids and rider ids: ASCII letters, digits, '.', '_' and '-', starting with a letter or digit."""

MAX_PAYLOAD_SIZE = _HEAD.size + 1 + KID_MAX_LENGTH + 1 + RIDER_ID_MAX_LENGTH + _POINTS.size
"""52 bytes."""
MIN_PAYLOAD_SIZE = _HEAD.size + 1 + 1 + 1 + 1
MAX_TEXT_LENGTH = len(TEXT_PREFIX) + (MAX_PAYLOAD_SIZE + SIGNATURE_SIZE) // 2 * 3 + (MAX_PAYLOAD_SIZE % 2) * 2
"""178 characters: the longest code's text (QR version 7, level M holds exactly 178 alphanumerics)."""


class CodeFormatError(ProtocolError):
    """Text or fields that are not a well-formed rider code (what is wrong is in the message)."""


class KeyFormatError(ProtocolError):
    """A key's text form is not a valid Ed25519 key of the kind expected."""


class Scope(enum.Flag):
    """What a code lets its rider do; a code carries one or both."""

    SWAP = 0x01
    """Start a battery swap."""
    ENTRY = 0x02
    """Open the entry door."""


SCOPE_NAMES: dict[str, Scope] = {"swap": Scope.SWAP, "entry": Scope.ENTRY, "both": Scope.SWAP | Scope.ENTRY}
"""The words operators and the CLI use for scopes."""


def scope_words(scopes: Scope) -> list[str]:
    """The scope names in a set of scopes, e.g. ``['swap', 'entry']``."""
    return [word for word, member in (("swap", Scope.SWAP), ("entry", Scope.ENTRY)) if member in scopes]


def _epoch(moment: datetime, what: str) -> int:
    if not isinstance(moment, datetime):
        raise CodeFormatError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CodeFormatError(f"{what} must be timezone-aware")
    if moment.microsecond:
        raise CodeFormatError(f"{what} must be whole seconds (the format stores seconds)")
    seconds = int(moment.timestamp())
    if not 0 <= seconds <= 0xFFFF_FFFF:
        raise CodeFormatError(f"{what} {moment.isoformat()} is outside 1970..2106")
    return seconds


def _check_id(value: str, what: str, limit: int) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= limit or not _ID_RE.fullmatch(value):
        raise CodeFormatError(
            f"{what} must be 1-{limit} ASCII letters, digits, '.', '_' or '-' (starting with a letter or digit),"
            f" got {value!r}"
        )


@dataclass(frozen=True, kw_only=True)
class RiderCode:
    """The fields of a rider code. Construction checks every bound, so an instance always encodes.

    Times are timezone-aware whole seconds and are stored normalised to UTC.
    """

    kid: str
    """Id of the hub key that signs the code (1-8 characters)."""
    rider_id: str
    """The rider (1-20 characters)."""
    issued_at: datetime
    """When the hub issued it."""
    expires_at: datetime
    """First moment it is no longer valid (after ``issued_at``, at most :data:`MAX_LIFETIME` later)."""
    nonce: bytes
    """8 random bytes: each code is accepted once per station."""
    scopes: Scope
    """What it allows: swap, entry, or both."""
    points: int | None = None
    """The rider's points balance when issued, for display; None when not included."""
    version: int = FORMAT_VERSION
    """The format version (only 1 exists)."""

    def __post_init__(self) -> None:
        if self.version != FORMAT_VERSION:
            raise CodeFormatError(f"format version {self.version!r} is not supported (this station reads 1)")
        _check_id(self.kid, "key id", KID_MAX_LENGTH)
        _check_id(self.rider_id, "rider id", RIDER_ID_MAX_LENGTH)
        issued = _epoch(self.issued_at, "issued_at")
        expires = _epoch(self.expires_at, "expires_at")
        if expires <= issued:
            raise CodeFormatError("expires_at must be after issued_at")
        if expires - issued > MAX_LIFETIME.total_seconds():
            raise CodeFormatError(f"a code may live at most {MAX_LIFETIME.days} days from issue to expiry")
        if not isinstance(self.nonce, bytes) or len(self.nonce) != NONCE_SIZE:
            raise CodeFormatError(f"nonce must be {NONCE_SIZE} bytes")
        if not isinstance(self.scopes, Scope) or not self.scopes:
            raise CodeFormatError("a code needs at least one scope (swap, entry)")
        if self.points is not None and (
            isinstance(self.points, bool) or not isinstance(self.points, int) or not 0 <= self.points <= POINTS_MAX
        ):
            raise CodeFormatError(f"points must be a whole number from 0 to {POINTS_MAX}, got {self.points!r}")
        # Frozen dataclass: normalising the times means going around the frozen __setattr__.
        object.__setattr__(self, "issued_at", self.issued_at.astimezone(UTC))
        object.__setattr__(self, "expires_at", self.expires_at.astimezone(UTC))

    @classmethod
    def issue(
        cls,
        *,
        kid: str,
        rider_id: str,
        scopes: Scope,
        now: datetime,
        ttl: timedelta,
        points: int | None = None,
    ) -> RiderCode:
        """New fields with a fresh random nonce, issued at ``now`` (rounded down to the second)."""
        issued_at = now.replace(microsecond=0)
        return cls(
            kid=kid,
            rider_id=rider_id,
            issued_at=issued_at,
            expires_at=issued_at + ttl,
            nonce=secrets.token_bytes(NONCE_SIZE),
            scopes=scopes,
            points=points,
        )

    @property
    def nonce_hex(self) -> str:
        """The nonce as 16 lower-case hex digits (how it is stored and logged)."""
        return self.nonce.hex()

    def allows(self, scope: Scope) -> bool:
        """Whether the code carries ``scope``."""
        return scope in self.scopes

    def to_bytes(self) -> bytes:
        """The payload bytes, exactly as signed and sent."""
        flags = self.scopes.value | (_POINTS_BIT if self.points is not None else 0)
        head = _HEAD.pack(
            self.version, flags, _epoch(self.issued_at, "issued_at"), _epoch(self.expires_at, "expires_at"), self.nonce
        )
        kid = self.kid.encode("ascii")
        rider = self.rider_id.encode("ascii")
        tail = _POINTS.pack(self.points) if self.points is not None else b""
        return head + bytes([len(kid)]) + kid + bytes([len(rider)]) + rider + tail

    @classmethod
    def from_bytes(cls, payload: bytes) -> RiderCode:
        """Parse payload bytes; :class:`CodeFormatError` unless they are exactly one well-formed payload."""
        if len(payload) < MIN_PAYLOAD_SIZE:
            raise CodeFormatError("the code is too short")
        version, flags, issued, expires, nonce = _HEAD.unpack_from(payload)
        if version != FORMAT_VERSION:
            raise CodeFormatError(f"format version {version} is not supported (this station reads 1)")
        if flags & ~(_SCOPE_BITS | _POINTS_BIT):
            raise CodeFormatError(f"unknown flags 0x{flags:02x}")
        at = _HEAD.size
        kid, at = _take_id(payload, at, "key id")
        rider_id, at = _take_id(payload, at, "rider id")
        points: int | None = None
        if flags & _POINTS_BIT:
            if len(payload) - at < _POINTS.size:
                raise CodeFormatError("the code ends inside its points field")
            (points,) = _POINTS.unpack_from(payload, at)
            at += _POINTS.size
        if at != len(payload):
            raise CodeFormatError(f"{len(payload) - at} unexpected bytes after the fields")
        return cls(
            kid=kid,
            rider_id=rider_id,
            issued_at=datetime.fromtimestamp(issued, UTC),
            expires_at=datetime.fromtimestamp(expires, UTC),
            nonce=nonce,
            scopes=Scope(flags & _SCOPE_BITS),
            points=points,
            version=version,
        )


def _take_id(payload: bytes, at: int, what: str) -> tuple[str, int]:
    """Read a length-prefixed ASCII id at ``at``; return it and the offset after it."""
    if at >= len(payload):
        raise CodeFormatError(f"the code ends before its {what}")
    length = payload[at]
    raw = payload[at + 1 : at + 1 + length]
    if len(raw) != length:
        raise CodeFormatError(f"the code ends inside its {what}")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CodeFormatError(f"the {what} is not ASCII") from None
    return text, at + 1 + length  # the id's characters and bounds are checked by RiderCode itself


@dataclass(frozen=True)
class SignedCode:
    """A parsed code: its fields, the exact payload bytes it carried, and the signature over them."""

    code: RiderCode
    """The fields."""
    payload: bytes
    """The payload bytes as received (the signature covers ``DOMAIN_TAG + payload``)."""
    signature: bytes
    """The 64-byte Ed25519 signature."""

    @property
    def signing_input(self) -> bytes:
        """The exact bytes the signature is over."""
        return DOMAIN_TAG + self.payload


def sign_code(fields: RiderCode, private_key: Ed25519PrivateKey) -> str:
    """Sign ``fields`` and return the code's text (``RK1:…``, at most :data:`MAX_TEXT_LENGTH` characters)."""
    payload = fields.to_bytes()
    signature = private_key.sign(DOMAIN_TAG + payload)
    return TEXT_PREFIX + b45encode(payload + signature)


def parse_code(text: str) -> SignedCode:
    """Parse a code's text without judging its signature or times.

    Raises :class:`CodeFormatError` (and nothing else) for any text that is not a well-formed code.
    """
    if not isinstance(text, str):
        raise CodeFormatError(f"a code is text, not {type(text).__name__}")
    # Bound the work before looking closer: a scanner can deliver a long run of garbage.
    if len(text) > MAX_TEXT_LENGTH:
        raise CodeFormatError(f"the text is {len(text)} characters long; a rider code has at most {MAX_TEXT_LENGTH}")
    if not text.startswith(TEXT_PREFIX):
        if re.match(r"RK[0-9]+:", text):
            raise CodeFormatError(
                f"the code is of another format version ({text.split(':', 1)[0]}); this station reads RK1"
            )
        raise CodeFormatError(f"the text does not start with {TEXT_PREFIX!r}")
    try:
        raw = b45decode(text[len(TEXT_PREFIX) :])
    except Base45Error as exc:
        raise CodeFormatError(f"the code is damaged: {exc}") from None
    if len(raw) < MIN_PAYLOAD_SIZE + SIGNATURE_SIZE:
        raise CodeFormatError("the code is too short")
    payload, signature = raw[:-SIGNATURE_SIZE], raw[-SIGNATURE_SIZE:]
    return SignedCode(code=RiderCode.from_bytes(payload), payload=payload, signature=signature)


def signature_valid(signed: SignedCode, public_key: Ed25519PublicKey) -> bool:
    """Whether ``signed`` carries a valid signature by ``public_key`` over its payload."""
    try:
        public_key.verify(signed.signature, signed.signing_input)
    except InvalidSignature:
        return False
    return True


# --- keys --------------------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    """A new random signing key."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey) -> str:
    """The private key as unencrypted PKCS#8 PEM text (protect the file it goes into: mode 0600)."""
    data = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    return data.decode("ascii")


def private_key_from_pem(text: str | bytes) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM private key; :class:`KeyFormatError` unless it is Ed25519."""
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"not a readable unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"the key is {type(key).__name__}, not an Ed25519 private key")
    return key


def public_key_to_b64(key: Ed25519PublicKey) -> str:
    """The public key's 32 raw bytes in standard Base64 (44 characters), as key sets carry it."""
    raw = key.public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Load a public key from its Base64 raw form; :class:`KeyFormatError` for anything else."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError):
        raise KeyFormatError("a public key must be Base64 text") from None
    if len(raw) != 32:
        raise KeyFormatError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` as PEM to a new file readable by its owner only (mode 0600).

    Refuses to replace an existing file (``FileExistsError``): overwriting a signing key by mistake
    would invalidate every code signed with it.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, private_key_to_pem(key).encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)  # the mode given to open() is narrowed by the umask, never widened; be explicit


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a signing key file; refuse one that others can read or write (``ConfigError``)."""
    try:
        info = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror or exc}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"key file {path} is readable by others (mode {stat.filemode(info.st_mode)}); chmod 600 it")
    try:
        return private_key_from_pem(data)
    except KeyFormatError as exc:
        raise ConfigError(f"key file {path}: {exc}") from None
