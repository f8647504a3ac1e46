"""Debouncing and flap detection for mechanical switches, against an injected monotonic time.

gpiozero's own ``bounce_time`` is not simulated by its MockFactory and hides what the switch did, so
the station debounces itself: every raw reading (from an edge callback or a poll) goes through a
:class:`Debouncer`, and every raw change through a :class:`FlapDetector`. Both are pure: no clock,
no threads, no I/O — the caller passes ``now`` (seconds on a monotonic clock).
"""

from __future__ import annotations

from collections import deque

# Monotonic times are large floats (1000.05 - 1000.0 < 0.05); a nanosecond of slack makes
# "steady for exactly stable_s" count as steady.
_EPSILON_S = 1e-9


class Debouncer:
    """Turn raw switch readings into stable values.

    A value is stable once the raw reading has stayed at it for ``stable_s`` seconds. Feed every raw
    reading (and feed the current reading again now and then, e.g. from a poll, so a change that was
    followed by silence is confirmed): :meth:`update` returns the new stable value when it changes,
    else None.
    """

    def __init__(self, stable_s: float, *, initial: bool | None = None, now: float = 0.0) -> None:
        if stable_s < 0:
            raise ValueError(f"stable_s must not be negative, got {stable_s}")
        self.stable_s = stable_s
        self._stable: bool | None = initial
        self._candidate: bool | None = initial
        self._since = now

    @property
    def value(self) -> bool | None:
        """The stable value (None until the first reading has been stable for ``stable_s``)."""
        return self._stable

    @property
    def settling(self) -> bool:
        """True while a raw reading differs from the stable value and has not been confirmed yet."""
        return self._candidate is not None and self._candidate != self._stable

    def update(self, raw: bool, now: float) -> bool | None:
        """Take one raw reading taken at ``now``; return the new stable value if it just changed.

        A candidate that had already been steady long enough before this reading is confirmed first,
        so a change followed by a long quiet spell and then another edge is never lost.
        """
        changed = self._confirm(now)
        if raw != self._candidate:
            self._candidate = raw
            self._since = now
        if changed is None:
            changed = self._confirm(now)
        return changed

    def poll(self, now: float) -> bool | None:
        """No new reading, only time passing: return the new stable value if it just changed."""
        return self._confirm(now)

    def reset(self, raw: bool | None, now: float) -> None:
        """Forget history and take ``raw`` as the stable value (used after a fault is cleared)."""
        self._stable = raw
        self._candidate = raw
        self._since = now

    def _confirm(self, now: float) -> bool | None:
        if self._candidate is None or self._candidate == self._stable:
            return None
        if now - self._since >= self.stable_s - _EPSILON_S:
            self._stable = self._candidate
            return self._stable
        return None


class FlapDetector:
    """Say when a switch changes too often: more than ``max_changes`` raw changes within ``window_s``.

    A flapping reed switch (loose wire, magnet out of line) would otherwise make the bay look opened
    and closed many times a second; the owner marks the bay faulted instead (Klipper does the same
    with noisy inputs).
    """

    def __init__(self, max_changes: int, window_s: float) -> None:
        if max_changes < 1:
            raise ValueError(f"max_changes must be at least 1, got {max_changes}")
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        self.max_changes = max_changes
        self.window_s = window_s
        self._changes: deque[float] = deque()

    def record(self, now: float) -> bool:
        """Note one raw change at ``now``; True when the switch is flapping."""
        self._changes.append(now)
        self._forget_before(now - self.window_s)
        return len(self._changes) > self.max_changes

    def count(self, now: float) -> int:
        """How many changes fell within the window ending at ``now``."""
        self._forget_before(now - self.window_s)
        return len(self._changes)

    def reason(self, what: str) -> str:
        """A plain explanation for the status page, e.g. 'door switch flapping: …'."""
        return f"{what} flapping: more than {self.max_changes} changes within {self.window_s:g} s"

    def reset(self) -> None:
        """Forget every recorded change."""
        self._changes.clear()

    def _forget_before(self, cutoff: float) -> None:
        while self._changes and self._changes[0] <= cutoff:
            self._changes.popleft()
