"""Base45 (RFC 9285): bytes as text in the 45-character QR alphanumeric set — pure.

Every two bytes become three characters (``n = c + 45·d + 45²·e``, written c d e), a last single byte
becomes two. QR codes store that character set at 5.5 bits per character, so Base45 text fills a QR
code about as densely as the raw bytes would in byte mode, while staying plain text a cheap scanner
reads and a keyboard-mode scanner types without surprises.

Written here rather than taken from PyPI: the ``base45`` package has had no release since 2022, and the
codec is a few lines. Decoding is strict: characters outside the alphabet, a length of 1 modulo 3, and
groups whose value does not fit (over 65535, or over 255 for a final pair) are all refused, so every
byte string has exactly one text form and every accepted text exactly one byte string.
"""

from __future__ import annotations

from kiosk.core.errors import ProtocolError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
"""The QR alphanumeric character set, in Base45 value order (RFC 9285 table 1)."""

_VALUE = {char: index for index, char in enumerate(ALPHABET)}


class Base45Error(ProtocolError):
    """Text that is not valid Base45."""


def encoded_length(byte_count: int) -> int:
    """How many characters ``byte_count`` bytes become."""
    if byte_count < 0:
        raise ValueError("a byte count cannot be negative")
    return (byte_count // 2) * 3 + (byte_count % 2) * 2


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text."""
    out: list[str] = []
    for start in range(0, len(data) - 1, 2):
        value = data[start] * 256 + data[start + 1]
        e, rest = divmod(value, 45 * 45)
        d, c = divmod(rest, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode Base45 text; raise :class:`Base45Error` for anything that is not its canonical form."""
    if len(text) % 3 == 1:
        raise Base45Error(f"Base45 text cannot be {len(text)} characters long (1 more than a multiple of 3)")
    try:
        values = [_VALUE[char] for char in text]
    except KeyError as exc:
        raise Base45Error(f"{exc.args[0]!r} is not a Base45 character") from None
    out = bytearray()
    full = len(values) - len(values) % 3
    for start in range(0, full, 3):
        c, d, e = values[start : start + 3]
        value = c + d * 45 + e * 45 * 45
        if value > 0xFFFF:
            raise Base45Error(f"Base45 group {text[start : start + 3]!r} is out of range")
        out += value.to_bytes(2, "big")
    if full < len(values):
        c, d = values[full:]
        value = c + d * 45
        if value > 0xFF:
            raise Base45Error(f"Base45 final pair {text[full:]!r} is out of range")
        out.append(value)
    return bytes(out)
