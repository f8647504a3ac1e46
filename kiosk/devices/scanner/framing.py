"""Cutting a scanner's byte stream into codes — pure: bytes and timestamps in, :class:`Scan` values out.

Scanners end a code with CR, LF, CRLF, or nothing at all (then a pause of a few character times ends
it). :class:`CodeFramer` accepts all of these at once, bounds how long a code may grow, strips control
bytes and reports undecodable or overlong input as a bad scan with a plain reason, so the rider is told
to scan again instead of nothing happening.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kiosk.core.errors import ConfigError
from kiosk.devices.base import Scan

Encoding = Literal["ascii", "utf-8"]

_CR = 0x0D
_LF = 0x0A
_DEL = 0x7F
# Every C0 control byte and DEL except the terminators: scanners put STX/ETX, AIM prefixes' SOH/GS
# separators and the like around codes; none of them belong to a rider code.
_CONTROL = bytes(b for b in range(0x20) if b not in (_CR, _LF)) + bytes([_DEL])


@dataclass(frozen=True, kw_only=True)
class FramerSettings:
    """How a byte stream is cut into codes."""

    idle_gap_s: float | None = 0.05
    """A pause this long after the last byte ends a code that has no terminator; None: terminators only."""
    max_length: int = 512
    """Longest code accepted, in bytes; a longer one is reported as a bad scan and discarded."""
    encoding: Encoding = "utf-8"
    """How the scanner encodes text: 'utf-8' or the stricter 'ascii'."""

    def __post_init__(self) -> None:
        if self.idle_gap_s is not None and not self.idle_gap_s > 0:
            raise ConfigError(f"idle_gap_s must be positive or None, got {self.idle_gap_s!r}")
        if self.max_length < 1:
            raise ConfigError(f"max_length must be at least 1, got {self.max_length!r}")
        if self.encoding not in ("ascii", "utf-8"):
            raise ConfigError(f"encoding must be 'ascii' or 'utf-8', got {self.encoding!r}")


class CodeFramer:
    """Turns bytes, fed as they arrive with the monotonic time of arrival, into :class:`Scan` values.

    ``feed()`` for new bytes, ``poll()`` when nothing arrived (ends a code after the idle gap). Empty
    codes (a lone terminator, CRLF's second half, only control bytes) are ignored. Memory is bounded by
    ``max_length`` whatever arrives.
    """

    def __init__(self, settings: FramerSettings | None = None) -> None:
        self.settings = settings or FramerSettings()
        self._buf = bytearray()
        self._discarding = False
        """True after an overlong code was reported, until that code ends."""
        self._last_byte: float | None = None
        """Monotonic time of the latest bytes of the code in progress."""

    @property
    def pending(self) -> bool:
        """True while a code (or the rest of an overlong one) is in progress."""
        return bool(self._buf) or self._discarding

    def deadline(self) -> float | None:
        """The monotonic time at which ``poll()`` will end the code in progress; None if nothing would end."""
        gap = self.settings.idle_gap_s
        if gap is None or not self.pending or self._last_byte is None:
            return None
        return self._last_byte + gap

    def feed(self, data: bytes, now: float) -> list[Scan]:
        """Take bytes that arrived at ``now``; return the codes they complete, in order."""
        out = self.poll(now)
        if not data:
            return out
        limit = self.settings.max_length
        # Split on both terminators at once; CRLF gives an empty piece between, which ends nothing.
        pieces = data.replace(b"\r", b"\n").split(b"\n")
        for index, piece in enumerate(pieces):
            clean = piece.translate(None, _CONTROL)
            if clean and not self._discarding:
                room = limit - len(self._buf)
                if len(clean) > room:
                    self._buf.clear()
                    self._discarding = True
                    out.append(Scan(text="", mono=now, error=_too_long(limit)))
                else:
                    self._buf += clean
            if index < len(pieces) - 1:  # a terminator followed this piece
                self._end(now, out)
        self._last_byte = now if self.pending else None
        return out

    def poll(self, now: float) -> list[Scan]:
        """End the code in progress if the idle gap has passed by ``now``; return it (or nothing)."""
        out: list[Scan] = []
        deadline = self.deadline()
        if deadline is not None and now >= deadline:
            assert self._last_byte is not None  # deadline() is only set with a last byte
            self._end(self._last_byte, out)
        return out

    def reset(self) -> None:
        """Forget the code in progress (the line went away: what half-arrived is not a code)."""
        self._buf.clear()
        self._discarding = False
        self._last_byte = None

    def _end(self, mono: float, out: list[Scan]) -> None:
        """The code in progress ended at ``mono``: append it to ``out`` unless empty or discarded."""
        raw = bytes(self._buf)
        discarded = self._discarding
        self.reset()
        if discarded or not raw:
            return
        encoding = self.settings.encoding
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            name = "ASCII" if encoding == "ascii" else "UTF-8"
            out.append(Scan(text="", mono=mono, error=f"the code could not be read: it is not {name} text"))
            return
        out.append(Scan(text=text, mono=mono))


def _too_long(limit: int) -> str:
    return f"the code is too long (more than {limit} bytes without an end) and was discarded"
