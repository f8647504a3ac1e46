"""Request bodies capped in size, compressed and decompressed; ``Content-Encoding: gzip`` unpacked.

A pure ASGI middleware in front of the app: it reads the whole body (at most ``max_bytes`` on the wire),
unpacks gzip while counting (at most ``max_bytes`` unpacked, so a small "gzip bomb" that would expand to
gigabytes is refused after ``max_bytes``), and hands the app a plain body. The endpoints therefore
declare ordinary pydantic bodies, are validated by FastAPI and appear in the OpenAPI document as they
are.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The body is over the cap (on the wire or unpacked)."""


class BadEncoding(Exception):
    """The body claims an encoding it does not have, or one the hub does not read."""


def gunzip_capped(data: bytes, max_bytes: int) -> bytes:
    """Unpack gzip ``data`` (one or more members); :class:`BodyTooLarge` past ``max_bytes`` unpacked."""
    out = bytearray()
    rest = data
    while rest:
        unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            # max_length bounds the work and memory per call; unconsumed_tail keeps what is left to unpack.
            piece = unpacker.decompress(rest, max_bytes + 1 - len(out))
            out += piece
            while unpacker.unconsumed_tail and len(out) <= max_bytes:
                out += unpacker.decompress(unpacker.unconsumed_tail, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise BodyTooLarge(f"the body unpacks to more than {max_bytes} bytes")
            out += unpacker.flush()
        except zlib.error as exc:
            raise BadEncoding(f"the body is not valid gzip: {exc}") from None
        if not unpacker.eof:
            raise BadEncoding("the gzip body ends too early")
        if len(out) > max_bytes:
            raise BodyTooLarge(f"the body unpacks to more than {max_bytes} bytes")
        rest = unpacker.unused_data
    return bytes(out)


class BodyLimitMiddleware:
    """Cap and unpack request bodies before the app sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            await _problem(send, 400, "Content-Length is not a number")
            return
        if declared > self.max_bytes:
            await _problem(send, 413, f"the body is {declared} bytes; the hub takes at most {self.max_bytes}")
            return
        raw = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if len(raw) > self.max_bytes:
                await _problem(send, 413, f"the body is over {self.max_bytes} bytes; the hub takes at most that")
                return
            if not message.get("more_body", False):
                break
        encoding = headers.get("content-encoding", "identity").strip().lower()
        try:
            if encoding == "gzip":
                body = gunzip_capped(bytes(raw), self.max_bytes)
            elif encoding in ("identity", ""):
                body = bytes(raw)
            else:
                raise BadEncoding(f"Content-Encoding {encoding!r} is not supported (use gzip or none)")
        except BodyTooLarge as exc:
            await _problem(send, 413, str(exc))
            return
        except BadEncoding as exc:
            await _problem(send, 415 if encoding not in ("gzip", "identity", "") else 400, str(exc))
            return
        new_headers = [
            (k, v) for k, v in scope.get("headers", []) if k.lower() not in (b"content-encoding", b"content-length")
        ]
        new_headers.append((b"content-length", str(len(body)).encode()))
        scope = dict(scope, headers=new_headers)
        scope.setdefault("state", {})["wire_bytes"] = len(raw)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body, only a disconnect can come

        await self.app(scope, replay, send)


async def _problem(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
