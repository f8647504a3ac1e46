"""What the touchscreen should show now: the station logic sets it, kiosk-ui follows it.

Screens are not events (nothing to keep or sync): the latest one is held here, numbered, and every
change is handed to live subscribers. A UI that (re)connects gets the current screen first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue


class Screen(BaseModel):
    """One screen instruction: its name (e.g. ``swap.open_return_bay``) and what it shows."""

    model_config = ConfigDict(frozen=True)

    number: int
    """Increases with every change, so a client can tell new from repeated."""
    name: str
    params: dict[str, JsonValue]
    mono: float
    """Monotonic time it was set (for countdowns: deadlines in params are on the same clock)."""


class ScreenFeed:
    """The current screen and its subscribers. Use only on the loop's thread."""

    def __init__(self) -> None:
        self._current = Screen(number=0, name="idle", params={}, mono=0.0)
        self._waiters: set[asyncio.Queue[Screen]] = set()

    @property
    def current(self) -> Screen:
        """What is shown now."""
        return self._current

    def show(self, name: str, params: dict[str, Any] | None = None, *, mono: float = 0.0) -> Screen:
        """Switch to ``name``; every subscriber hears of it."""
        screen = Screen(number=self._current.number + 1, name=name, params=params or {}, mono=mono)
        self._current = screen
        for queue in list(self._waiters):
            if queue.full():  # a client that stopped reading only needs the newest screen
                queue.get_nowait()
            queue.put_nowait(screen)
        return screen

    def subscribe(self) -> asyncio.Queue[Screen]:
        """A queue that receives every screen from now on (the newest wins if the reader lags)."""
        queue: asyncio.Queue[Screen] = asyncio.Queue(maxsize=1)
        self._waiters.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Screen]) -> None:
        """Stop receiving (safe twice)."""
        self._waiters.discard(queue)
