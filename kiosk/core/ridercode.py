"""Rider codes on the wire: the fields, their compact binary layout, the Ed25519 signature, the QR text.

Shared by the hub (which signs codes) and the station (which verifies them offline); the policy that
decides whether a code is accepted lives in :mod:`kiosk.station.codes`. ``docs/rider-codes.md`` is the
format's specification; this module is its implementation. In short::

    text      = "RK1:" + Base45(payload + signature)            # version 1
                "RK2:" + Base45(payload + signature)            # version 2
    payload   = version(1) flags(1) issued_at(4) expires_at(4) nonce(8)
                kid_len(1) kid(1..8) rider_len(1) rider_id(1..20) [points(4) if flag set]
                [covers(1) (station_tag(4) seq(4)) * n          # version 2, with points only]
    signature = Ed25519(private_key, DOMAIN_TAG + payload)      # 64 bytes

Integers are unsigned big-endian; times are whole seconds since the Unix epoch (UTC). Version 2 adds what
the points snapshot includes (:class:`PointsCover`): per station, the seq up to which the hub holds its
events, so a station knows which of its own moves to add on top. The longest version-1 code is 178
characters (exactly what a QR code of version 7 holds in alphanumeric mode at level M); the longest
version-2 code is 216 (QR version 8 holds 221), still a size a cheap scanner reads at once.

Parsing is strict (one text per code and one code per text): anything else is a
:class:`CodeFormatError`, never another exception.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import hashlib
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
"""The first layout (no points cover); still read and written for codes without a points snapshot."""
COVER_VERSION = 2
"""The layout whose points snapshot says what it includes (:class:`PointsCover`)."""
VERSIONS = (FORMAT_VERSION, COVER_VERSION)
TEXT_PREFIX = "RK1:"
"""Starts every version-1 code's text: 'RK' for rider kiosk, the version, a separator."""
TEXT_PREFIXES = {FORMAT_VERSION: TEXT_PREFIX, COVER_VERSION: "RK2:"}
"""Each version's text prefix."""
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

MAX_COVERED = 3
STATION_TAG_SIZE = 4
"""Most stations a points cover lists (the rider's most recent ones): 8 bytes each."""
_COVER = struct.Struct(">4sI")  # station tag, seq
_COVER_COUNT_BITS = 0x07
_COVER_COMPLETE_BIT = 0x80

V1_MAX_PAYLOAD_SIZE = _HEAD.size + 1 + KID_MAX_LENGTH + 1 + RIDER_ID_MAX_LENGTH + _POINTS.size
"""52 bytes."""
MAX_PAYLOAD_SIZE = V1_MAX_PAYLOAD_SIZE + 1 + MAX_COVERED * _COVER.size
"""77 bytes (version 2 with a full points cover)."""
MIN_PAYLOAD_SIZE = _HEAD.size + 1 + 1 + 1 + 1


def _text_length(payload_size: int) -> int:
    raw = payload_size + SIGNATURE_SIZE
    return len(TEXT_PREFIX) + raw // 2 * 3 + (raw % 2) * 2


V1_MAX_TEXT_LENGTH = _text_length(V1_MAX_PAYLOAD_SIZE)
"""178 characters: the longest version-1 code (QR version 7, level M holds exactly 178 alphanumerics)."""
MAX_TEXT_LENGTH = _text_length(MAX_PAYLOAD_SIZE)
"""216 characters: the longest code's text (version 2; QR version 8, level M holds 221 alphanumerics)."""


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


def station_tag(station_id: str) -> bytes:
    """The 4 bytes a points cover names a station by: the start of SHA-256 of its id (ids are up to 64 characters)."""
    return hashlib.sha256(station_id.encode("utf-8")).digest()[:STATION_TAG_SIZE]


@dataclass(frozen=True)
class PointsCover:
    """What a code's points snapshot includes: per station (by :func:`station_tag`), its events up to a seq.

    ``complete``: the list names every station whose events the snapshot holds, so a station not listed has
    none of its events in it. Otherwise (a rider seen at more stations than a code has room for) a station
    not listed cannot tell, and falls back on the code's issue time.
    """

    stations: tuple[tuple[bytes, int], ...] = ()
    """(station tag, seq): that station's events up to this seq are in the balance."""
    complete: bool = True

    def __post_init__(self) -> None:
        if len(self.stations) > MAX_COVERED:
            raise CodeFormatError(f"a points cover lists at most {MAX_COVERED} stations, not {len(self.stations)}")
        for tag, seq in self.stations:
            if not isinstance(tag, bytes) or len(tag) != STATION_TAG_SIZE:
                raise CodeFormatError("a points cover names a station by 4 bytes (station_tag)")
            if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= 0xFFFF_FFFF:
                raise CodeFormatError(f"a points cover's seq must be a whole number from 0 to 4294967295, not {seq!r}")
        if len({tag for tag, _ in self.stations}) != len(self.stations):
            raise CodeFormatError("a points cover names each station once")

    @classmethod
    def of(cls, seqs: dict[str, int], *, complete: bool) -> PointsCover:
        """A cover from station id -> seq."""
        return cls(tuple((station_tag(station), seq) for station, seq in seqs.items()), complete)

    def seq_for(self, station_id: str) -> int | None:
        """Up to which seq the snapshot holds ``station_id``'s events: 0 when complete and not listed; None: unknown."""
        tag = station_tag(station_id)
        listed = next((seq for t, seq in self.stations if t == tag), None)
        if listed is not None:
            return listed
        return 0 if self.complete else None

    def to_bytes(self) -> bytes:
        """The cover's bytes (count and completeness, then each station)."""
        head = len(self.stations) | (_COVER_COMPLETE_BIT if self.complete else 0)
        return bytes([head]) + b"".join(_COVER.pack(tag, seq) for tag, seq in self.stations)


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
    covers: PointsCover | None = None
    """What ``points`` includes (version 2); None: not said (version 1: the station goes by ``issued_at``)."""
    version: int = 0
    """The format version: 1, or 2 when there is a points cover; 0 (the default) picks it from the fields."""

    def __post_init__(self) -> None:
        if self.version == 0:
            object.__setattr__(self, "version", COVER_VERSION if self.covers is not None else FORMAT_VERSION)
        if self.version not in VERSIONS:
            raise CodeFormatError(f"format version {self.version!r} is not supported (this station reads 1 and 2)")
        if self.covers is not None and (self.points is None or self.version != COVER_VERSION):
            raise CodeFormatError("a points cover needs the points field and format version 2")
        if self.version == COVER_VERSION and self.points is not None and self.covers is None:
            raise CodeFormatError("a version-2 code with points must say what they include (a points cover)")
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
        covers: PointsCover | None = None,
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
            covers=covers,
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
        if self.covers is not None:
            tail += self.covers.to_bytes()
        return head + bytes([len(kid)]) + kid + bytes([len(rider)]) + rider + tail

    @property
    def text_prefix(self) -> str:
        """The prefix of this code's text (``RK1:`` or ``RK2:``)."""
        return TEXT_PREFIXES[self.version]

    @classmethod
    def from_bytes(cls, payload: bytes) -> RiderCode:
        """Parse payload bytes; :class:`CodeFormatError` unless they are exactly one well-formed payload."""
        if len(payload) < MIN_PAYLOAD_SIZE:
            raise CodeFormatError("the code is too short")
        version, flags, issued, expires, nonce = _HEAD.unpack_from(payload)
        if version not in VERSIONS:
            raise CodeFormatError(f"format version {version} is not supported (this station reads 1 and 2)")
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
        covers: PointsCover | None = None
        if version == COVER_VERSION and points is not None:
            covers, at = _take_cover(payload, at)
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
            covers=covers,
            version=version,
        )


def _take_cover(payload: bytes, at: int) -> tuple[PointsCover, int]:
    """Read a points cover at ``at``; return it and the offset after it."""
    if at >= len(payload):
        raise CodeFormatError("the code ends before its points cover")
    head = payload[at]
    if head & ~(_COVER_COUNT_BITS | _COVER_COMPLETE_BIT):
        raise CodeFormatError(f"unknown points cover bits 0x{head:02x}")
    count = head & _COVER_COUNT_BITS
    at += 1
    if len(payload) - at < count * _COVER.size:
        raise CodeFormatError("the code ends inside its points cover")
    stations = tuple(_COVER.unpack_from(payload, at + i * _COVER.size) for i in range(count))
    return PointsCover(stations, bool(head & _COVER_COMPLETE_BIT)), at + count * _COVER.size


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
    return fields.text_prefix + b45encode(payload + signature)


def parse_code(text: str) -> SignedCode:
    """Parse a code's text without judging its signature or times.

    Raises :class:`CodeFormatError` (and nothing else) for any text that is not a well-formed code.
    """
    if not isinstance(text, str):
        raise CodeFormatError(f"a code is text, not {type(text).__name__}")
    # Bound the work before looking closer: a scanner can deliver a long run of garbage.
    if len(text) > MAX_TEXT_LENGTH:
        raise CodeFormatError(f"the text is {len(text)} characters long; a rider code has at most {MAX_TEXT_LENGTH}")
    version = next((v for v, prefix in TEXT_PREFIXES.items() if text.startswith(prefix)), None)
    if version is None:
        if re.match(r"RK[0-9]+:", text):
            raise CodeFormatError(
                f"the code is of another format version ({text.split(':', 1)[0]}); this station reads RK1 and RK2"
            )
        raise CodeFormatError(f"the text does not start with {TEXT_PREFIX!r} or {TEXT_PREFIXES[COVER_VERSION]!r}")
    if version == FORMAT_VERSION and len(text) > V1_MAX_TEXT_LENGTH:
        raise CodeFormatError(
            f"the text is {len(text)} characters long; a version-1 rider code has at most {V1_MAX_TEXT_LENGTH}"
        )
    try:
        raw = b45decode(text[len(TEXT_PREFIXES[version]) :])
    except Base45Error as exc:
        raise CodeFormatError(f"the code is damaged: {exc}") from None
    if len(raw) < MIN_PAYLOAD_SIZE + SIGNATURE_SIZE:
        raise CodeFormatError("the code is too short")
    payload, signature = raw[:-SIGNATURE_SIZE], raw[-SIGNATURE_SIZE:]
    code = RiderCode.from_bytes(payload)
    if code.version != version:
        raise CodeFormatError(f"the text says version {version} but the code inside is version {code.version}")
    return SignedCode(code=code, payload=payload, signature=signature)


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
