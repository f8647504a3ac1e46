"""Fan-out of committed events to live subscribers (the UI's stream), on the core loop.

Each subscriber has a bounded queue. One that falls too far behind is dropped rather than letting
memory grow; it reconnects with ``Last-Event-ID`` and replays what it missed from the store.
"""

from __future__ import annotations

import asyncio
import logging

from kiosk.core.events import EventRecord

log = logging.getLogger(__name__)


class Subscription:
    """One live subscriber: iterate it for records; ``dropped`` when it fell behind."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[EventRecord | None] = asyncio.Queue(maxsize=maxsize)
        self.dropped = False

    async def next(self, wait_s: float) -> EventRecord | None:
        """The next record, or None after ``wait_s`` seconds with nothing (or once dropped)."""
        if self.dropped and self.queue.empty():
            return None
        try:
            async with asyncio.timeout(wait_s):
                return await self.queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        """Stop receiving."""
        self._bus.unsubscribe(self)


class EventBus:
    """Publishes records to every subscription. Call ``publish`` only on the loop's thread."""

    def __init__(self, maxsize: int = 1000) -> None:
        self._maxsize = maxsize
        self._subs: set[Subscription] = set()

    def subscribe(self) -> Subscription:
        """A new subscription that receives every record published from now on."""
        sub = Subscription(self, self._maxsize)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a subscription (safe twice)."""
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        """How many are listening."""
        return len(self._subs)

    def publish(self, records: list[EventRecord]) -> None:
        """Hand records to every subscriber; drop those whose queue is full."""
        for sub in list(self._subs):
            for record in records:
                try:
                    sub.queue.put_nowait(record)
                except asyncio.QueueFull:
                    log.warning("a live event subscriber fell behind and was dropped; it will replay on reconnect")
                    sub.dropped = True
                    self._subs.discard(sub)
                    break
