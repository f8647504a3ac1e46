"""When to try the hub again: exponential backoff with full jitter and a cap, and Retry-After honoured.

Pure: the random source is passed in, so tests and the simulator get repeatable waits.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Full-jitter exponential backoff: the n-th wait is uniform in [0, min(cap, base * 2**n)].

    Full jitter spreads a fleet of stations that lost the hub at the same moment, so they do not all
    come back at once (the "thundering herd").
    """

    def __init__(self, base_s: float, cap_s: float, rand: Callable[[], float] = random.random) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError(f"backoff needs 0 < base_s <= cap_s, got base {base_s}, cap {cap_s}")
        self.base_s = base_s
        self.cap_s = cap_s
        self._rand = rand
        self.failures = 0

    def next_wait(self, retry_after_s: float | None = None) -> float:
        """Note one more failure and return how long to wait; a server's Retry-After is a floor (capped)."""
        ceiling = min(self.cap_s, self.base_s * 2.0**self.failures)
        self.failures += 1
        wait = float(self._rand()) * ceiling
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.cap_s))
        return wait

    def reset(self) -> None:
        """A success: start again from the base."""
        self.failures = 0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; None if absent or not a number.

    (The HTTP-date form is not used by our hub; a date would be wall-clock time, which a station
    without a synchronised clock cannot trust anyway.)
    """
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
