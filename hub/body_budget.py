"""The hub's memory bounded under concurrency: large request bodies share one budget of bytes.

Each request body is capped (:mod:`hub.bodies`), but a near-cap gzip batch costs far more than its
bytes while it is unpacked, parsed into events and stored, and thirty stations uploading at once would
multiply that. So before a large body is read, the request reserves its *estimated* unpacked size from
one budget (:data:`DEFAULT_BUDGET_BYTES`), waiting its turn in arrival order; once the body is unpacked
the reservation shrinks to the real size, and it is given back when the answer has been sent.

- The estimate comes from the headers alone: ``Content-Length``, times the most gzip can expand
  (:data:`GZIP_MAX_RATIO`) when it is gzip, never more than the body cap; no ``Content-Length``: the cap.
- Bodies estimated under :data:`FREE_BYTES` (heartbeats, live spends, forms, logins) never wait.
- A request that waits longer than :data:`WAIT_S` is answered 503 with ``Retry-After``: the station
  retries later, with the same ids, as it does when the hub is down.

``BodyBudgetMiddleware`` goes in front of the body limit (it reserves before anything is read) and
``BodyWeigher`` behind it (it sees the unpacked length and shrinks the reservation).
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import json
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_BUDGET_BYTES = 16 * 1024 * 1024
"""Unpacked body bytes in flight at once (two near-cap batches); measured in bench/hub_memory.py."""
FREE_BYTES = 256 * 1024
"""Bodies estimated below this pass without reserving."""
GZIP_MAX_RATIO = 1032
"""The most deflate can expand its input (a run of one byte), so the largest a gzip body may unpack to."""
WAIT_S = 30.0
"""How long a request waits for its turn before a 503."""
RETRY_AFTER_S = 5
_HOLD = "kiosk_body_hold"


def trim_memory() -> None:
    """Give the C heap's free memory back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Without it the peak of a burst of uploads stays resident long after the burst, freed but kept.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc: the allocator keeps what it keeps


def estimated_cost(content_length: int | None, gzip: bool, max_bytes: int) -> int:
    """The most a body with these headers can unpack to, within the cap (pure)."""
    if content_length is None:
        return max_bytes
    return min(max_bytes, content_length * GZIP_MAX_RATIO if gzip else content_length)


class BodyBudget:
    """A budget of bytes shared by the requests in flight, handed out in arrival order (one event loop)."""

    def __init__(self, total: int) -> None:
        if total <= 0:
            raise ValueError("the body budget must be positive")
        self.total = total
        self.used = 0
        self.peak = 0
        """The most bytes reserved at once so far."""
        self.most_waiting = 0
        """The most requests waiting at once so far."""
        self.granted = 0
        """Reservations handed out so far."""
        self._queue: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        """Requests waiting for their turn now."""
        return sum(1 for _, f in self._queue if not f.done())

    def _reserve(self, n: int) -> None:
        self.used += n
        self.granted += 1
        self.peak = max(self.peak, self.used)

    def _grant(self) -> None:
        while self._queue:
            n, future = self._queue[0]
            if future.done():  # given up (timed out or cancelled)
                self._queue.popleft()
                continue
            if self.used + n > self.total:
                return
            self._queue.popleft()
            self._reserve(n)
            future.set_result(None)

    async def take(self, n: int, wait_s: float) -> int | None:
        """Reserve ``n`` bytes (at most the whole budget); the bytes reserved, or None after ``wait_s``."""
        n = min(n, self.total)
        if not self._queue and self.used + n <= self.total:
            self._reserve(n)
            return n
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((n, future))
        self.most_waiting = max(self.most_waiting, self.waiting)
        try:
            await asyncio.wait({future}, timeout=wait_s)
        except asyncio.CancelledError:
            self._abandon(n, future)
            raise
        if future.done():
            return n
        self._abandon(n, future)
        return None

    def _abandon(self, n: int, future: asyncio.Future[None]) -> None:
        if future.done() and not future.cancelled():
            self.give(n)  # granted just as the wait ended
        else:
            future.cancel()
            self._grant()

    def give(self, n: int) -> None:
        """Give ``n`` reserved bytes back and let the next requests in."""
        self.used -= n
        self._grant()


class Hold:
    """One request's reservation: shrunk to the real size once known, given back once (safe twice)."""

    def __init__(self, budget: BodyBudget, reserved: int) -> None:
        self.budget = budget
        self.reserved = reserved

    def trim(self, actual: int) -> None:
        """The body turned out to be ``actual`` bytes: give back what was reserved beyond that."""
        if actual < self.reserved:
            self.budget.give(self.reserved - actual)
            self.reserved = actual

    def release(self) -> None:
        """Give everything back."""
        if self.reserved:
            self.budget.give(self.reserved)
            self.reserved = 0


class BodyBudgetMiddleware:
    """Reserve a large body's estimated size before it is read; give it back after the answer."""

    def __init__(self, app: ASGIApp, budget: BodyBudget, max_bytes: int, wait_s: float = WAIT_S) -> None:
        self.app = app
        self.budget = budget
        self.max_bytes = max_bytes
        self.wait_s = wait_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            length: int | None = int(headers["content-length"])
        except (KeyError, ValueError):
            length = None
        gzip = headers.get("content-encoding", "").strip().lower() == "gzip"
        cost = estimated_cost(length, gzip, self.max_bytes)
        if cost < FREE_BYTES or (length is not None and length > self.max_bytes):
            await self.app(scope, receive, send)  # small, or refused by the body limit unread
            return
        reserved = await self.budget.take(cost, self.wait_s)
        if reserved is None:
            await _busy(send)
            return
        hold = Hold(self.budget, reserved)
        scope.setdefault("state", {})[_HOLD] = hold
        try:
            await self.app(scope, receive, send)
        finally:
            hold.release()
            if self.budget.used == 0:
                # The burst is over: hand the freed heap back to the system (off the loop, not awaited).
                asyncio.get_running_loop().run_in_executor(None, trim_memory)


class BodyWeigher:
    """Behind the body limit: shrink the request's reservation to the unpacked body's real length."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        hold = scope.get("state", {}).get(_HOLD)
        if not isinstance(hold, Hold):
            await self.app(scope, receive, send)
            return
        seen = 0

        async def weighed() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if not message.get("more_body", False):
                    hold.trim(seen)
            return message

        await self.app(scope, weighed, send)


async def _busy(send: Send) -> None:
    body = json.dumps({"error": "the hub is busy with other large uploads; try again shortly"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_S).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
