"""Time, injected: monotonic for every timer, wall clock only for records.

A Raspberry Pi has no real-time clock, so the wall clock may be wrong until NTP has synced;
every record therefore also says whether the wall clock was synchronised.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the station needs to know about time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; only differences mean anything."""
        ...

    def wall(self) -> datetime:
        """The wall-clock time now, timezone-aware UTC."""
        ...

    def wall_synced(self) -> bool:
        """True when the wall clock is known to be synchronised (NTP or similar)."""
        ...


_TIME_ERROR = 5  # adjtimex(2) return value: "clock not synchronized"


def _kernel_says_synced() -> bool | None:
    """Ask the kernel (adjtimex, read-only) whether the clock is synchronised; None if it cannot tell."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        # struct timex is ~208 bytes on 64-bit Linux; modes=0 (first field) means read only.
        buf = ctypes.create_string_buffer(512)
        state = int(libc.adjtimex(buf))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR


class SystemClock:
    """The real clock. Synchronisation comes from the kernel's NTP state, checked at most every 10 s."""

    def __init__(self) -> None:
        self._synced: bool = False
        self._checked_at: float | None = None

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def wall(self) -> datetime:
        """Now, in UTC."""
        return datetime.now(UTC)

    def wall_synced(self) -> bool:
        """The kernel's view of NTP synchronisation (False when it cannot tell)."""
        now = time.monotonic()
        if self._checked_at is None or now - self._checked_at > 10.0:
            self._synced = bool(_kernel_says_synced())
            self._checked_at = now
        return self._synced


class FakeClock:
    """A clock for tests: time moves only when told to.

    ``advance()`` moves both the monotonic and the wall clock; ``set_wall()`` jumps only the wall clock,
    as NTP does on a Pi that booted with a wrong date.
    """

    def __init__(
        self,
        *,
        wall: datetime | None = None,
        monotonic: float = 1000.0,
        synced: bool = True,
    ) -> None:
        self._mono = monotonic
        self._wall = wall or datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
        self.synced = synced

    def monotonic(self) -> float:
        """The fake monotonic time."""
        return self._mono

    def wall(self) -> datetime:
        """The fake wall time."""
        return self._wall

    def wall_synced(self) -> bool:
        """Whatever the test set."""
        return self.synced

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass on both clocks."""
        if seconds < 0:
            raise ValueError("time does not run backwards on a monotonic clock")
        self._mono += seconds
        self._wall += timedelta(seconds=seconds)

    def set_wall(self, wall: datetime, *, synced: bool = True) -> None:
        """Jump the wall clock (as an NTP sync does); the monotonic clock is untouched."""
        if wall.tzinfo is None:
            raise ValueError("wall time must be timezone-aware")
        self._wall = wall
        self.synced = synced
