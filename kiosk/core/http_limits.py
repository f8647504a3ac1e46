"""Request bodies bounded before they are read, and half-sent bodies cut off: one ASGI wrapper for core and hub.

:class:`BodyLimit` sits outside the whole web app (before routing, authentication and any buffering):

- a ``Content-Length`` above the limit is answered 413 at once, without reading a byte of the body;
- a chunked body (or one longer than it said) is counted while it streams and answered 413 as soon as
  it passes the limit, so at most one chunk more than the limit is ever held;
- a body that stops arriving for ``idle_timeout_s`` is answered 408;
- either way the answer says ``Connection: close``, so the server drops the connection instead of
  reading the rest.

The limit may depend on the request (an async function of the ASGI scope): the hub gives a station's
own sync routes its batch limit and every anonymous request a small one. Pure Python (asyncio and the
ASGI message shapes only), so both the station and the hub use it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
LimitFor = Callable[[Scope], Awaitable[int]]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024
"""What any request body may be unless a route needs more: every form and JSON body of ours fits."""
DEFAULT_IDLE_TIMEOUT_S = 10.0
"""How long a body may stall between two pieces before the request is given up."""


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower-case bytes) in an ASGI scope, or None."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def fixed(max_bytes: int) -> LimitFor:
    """A limit that is the same for every request."""

    async def limit(scope: Scope) -> int:
        return max_bytes

    return limit


class BodyLimit:
    """An ASGI app around ``app`` that refuses too-big and stalled request bodies (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for: LimitFor | None = None,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.limit_for = limit_for or fixed(DEFAULT_MAX_BYTES)
        self.idle_timeout_s = idle_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = await self.limit_for(scope)
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await refuse(send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                log.info(
                    "a %s body of %s bytes to %s was refused (limit %d)",
                    scope["method"],
                    declared,
                    scope["path"],
                    limit,
                )
                await refuse(send, 413, f"the body is {int(declared)} bytes; this address takes at most {limit}")
                return
        await _Exchange(self, scope, receive, send, limit).run()


class _Exchange:
    """One request going through :class:`BodyLimit`."""

    def __init__(self, owner: BodyLimit, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        self.owner = owner
        self.scope = scope
        self._receive = receive
        self._send = send
        self.limit = limit
        self.received = 0
        self.body_done = False
        self.started = False
        """The app (or we) began a response."""
        self.refused = False
        """We answered in the app's place: whatever the app sends later is dropped."""

    async def run(self) -> None:
        try:
            await self.owner.app(self.scope, self.receive, self.send)
        except Exception:
            if not self.refused:
                raise
            # The app saw a disconnect after our refusal and gave up its own way: nothing to report.
            log.debug("the app ended with an error after its request was refused", exc_info=True)

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        if self.body_done:
            return await self._receive()  # after the body only a disconnect comes: wait as long as it takes
        try:
            message = await asyncio.wait_for(self._receive(), self.owner.idle_timeout_s)
        except TimeoutError:
            log.info(
                "a request to %s sent no body for %.0f s and was given up",
                self.scope["path"],
                self.owner.idle_timeout_s,
            )
            await self._refuse(408, f"the body stopped arriving for {self.owner.idle_timeout_s:.0f} s")
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                log.info("a streamed body to %s passed %d bytes and was refused", self.scope["path"], self.limit)
                await self._refuse(413, f"the body is over {self.limit} bytes; this address takes at most that")
                return {"type": "http.disconnect"}
            if not message.get("more_body", False):
                self.body_done = True
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def _refuse(self, status: int, error: str) -> None:
        if self.started:
            self.refused = True  # too late to answer: the disconnect makes the app stop
            return
        self.refused = True
        self.started = True
        await refuse(self._send, status, error)


async def refuse(send: Send, status: int, error: str) -> None:
    """Answer ``status`` with ``{"error": ...}`` and ask the server to close the connection."""
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
