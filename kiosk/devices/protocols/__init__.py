"""Pure wire codecs of the RS-485 lock boards: bytes in, frames and values out; no I/O, no clocks, no threads.

Each protocol module offers encoders, decoders that raise only :class:`kiosk.core.errors.ProtocolError`,
and a pure splitter built on :func:`split_stream` that cuts a byte stream into complete frames, skips
garbage up to the next plausible start byte and keeps the unfinished tail. :class:`StreamBuffer` keeps
that tail between reads for code that receives bytes piece by piece.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

NEED_MORE = 0
"""Verdict of a frame test: the bytes so far could start a frame, but it is not complete yet."""
NOT_A_FRAME = -1
"""Verdict of a frame test: no valid frame starts here."""

FrameTest = Callable[[bytes, int], int]
"""``test(buffer, i)``: the length of a complete valid frame starting at ``i``, or NEED_MORE, or NOT_A_FRAME."""


@dataclass(frozen=True)
class Split:
    """The result of cutting a byte stream: complete frames, the unfinished tail, and how many bytes were dropped."""

    frames: tuple[bytes, ...]
    rest: bytes
    skipped: int


def split_stream(buffer: bytes, test: FrameTest) -> Split:
    """Cut ``buffer`` into the frames ``test`` recognises.

    Bytes that start no valid frame are skipped one at a time, so the scan resynchronises on the next
    plausible start byte. An incomplete frame at the end is kept as ``rest`` unless a complete valid
    frame starts after it (then the incomplete start was garbage, and waiting for it would hold up a
    real reply). ``rest`` is therefore never longer than the protocol's longest frame.
    """
    frames: list[bytes] = []
    size = len(buffer)
    i = 0
    skipped = 0
    while i < size:
        verdict = test(buffer, i)
        if verdict > 0:
            frames.append(bytes(buffer[i : i + verdict]))
            i += verdict
            continue
        if verdict == NEED_MORE:
            later = next((j for j in range(i + 1, size) if test(buffer, j) > 0), None)
            if later is None:
                break
            skipped += later - i
            i = later
            continue
        i += 1
        skipped += 1
    return Split(frames=tuple(frames), rest=bytes(buffer[i:]), skipped=skipped)


class StreamBuffer:
    """Feeds arriving bytes through a pure splitter, keeping the unfinished tail between calls.

    The tail is bounded by ``max_bytes`` (oldest bytes dropped and counted as skipped) so a device
    that streams nonsense cannot grow memory.
    """

    def __init__(self, split: Callable[[bytes], Split], *, max_bytes: int = 256) -> None:
        if max_bytes < 16:
            raise ValueError("max_bytes must leave room for at least one frame (16 bytes or more)")
        self._split = split
        self._max = max_bytes
        self._rest = b""
        self.skipped = 0
        """Bytes dropped as garbage since construction (or the last ``clear()``)."""

    @property
    def pending(self) -> bytes:
        """The unfinished tail kept for the next ``feed()``."""
        return self._rest

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return the frames it completes."""
        result = self._split(self._rest + data)
        self.skipped += result.skipped
        rest = result.rest
        if len(rest) > self._max:
            self.skipped += len(rest) - self._max
            rest = rest[-self._max :]
        self._rest = rest
        return list(result.frames)

    def clear(self) -> None:
        """Forget the tail and the skipped count (after flushing the port)."""
        self._rest = b""
        self.skipped = 0
