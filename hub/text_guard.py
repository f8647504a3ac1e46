"""Text the hub cannot store is refused at the door: NUL characters and lone surrogates answer 422.

PostgreSQL text cannot hold NUL (``psycopg.DataError``), and a lone UTF-16 surrogate (``\\ud800`` in
JSON, or its UTF-8 bytes in a URL) cannot be encoded as UTF-8 by either engine (``UnicodeEncodeError``).
Neither is ever part of honest input, so rather than guard each route and column, one ASGI middleware
looks at everything a request brings in: the path, the query string, and the body (JSON or form,
after :mod:`hub.bodies` has capped and unpacked it), and answers a clear 422 before any endpoint runs.

The checks are pure functions over bytes; the usual body (no ``\\u`` escape of a NUL or a surrogate)
costs one scan by the regular-expression engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
"""A JSON escape that may be a NUL or a surrogate (or literal text after an escaped backslash)."""
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
"""One JSON string escape: ``\\uXXXX`` (its digits captured) or a backslash and one character."""
NUL_WORDS = "contains a NUL character (\\u0000), which the hub does not store"
SURROGATE_WORDS = "contains a lone UTF-16 surrogate, which is not text"
NOT_UTF8_WORDS = "is not valid UTF-8 text"


def decoded_problem(data: bytes) -> str | None:
    """What is wrong with already-decoded bytes as text (None: nothing)."""
    if b"\x00" in data:
        return NUL_WORDS
    try:
        data.decode("utf-8")  # a surrogate's UTF-8 bytes are not valid UTF-8: this refuses them too
    except UnicodeDecodeError:
        return NOT_UTF8_WORDS
    return None


def urlencoded_problem(data: bytes) -> str | None:
    """What is wrong with a query string or a form body once its %-escapes are undone (None: nothing)."""
    return decoded_problem(unquote_to_bytes(data.replace(b"+", b" ")))


def json_problem(body: bytes) -> str | None:
    """What is wrong with the strings of a JSON body: a raw or escaped NUL, a lone surrogate, bad UTF-8."""
    problem = decoded_problem(body)
    if problem is not None or _SUSPECT.search(body) is None:
        return problem
    pending_high = -1  # where the escape after a high surrogate must begin, or -1
    for match in _ESCAPE.finditer(body):
        digits = match.group(1)
        value = -1 if digits is None else int(digits, 16)
        if pending_high >= 0:
            if match.start() != pending_high or not 0xDC00 <= value <= 0xDFFF:
                return SURROGATE_WORDS
            pending_high = -1
        elif value == 0:
            return NUL_WORDS
        elif 0xD800 <= value <= 0xDBFF:
            pending_high = match.end()
        elif 0xDC00 <= value <= 0xDFFF:
            return SURROGATE_WORDS
    return SURROGATE_WORDS if pending_high >= 0 else None


def body_problem(content_type: str, body: bytes) -> str | None:
    """What is wrong with a request body of ``content_type`` (None: nothing, or a type the hub reads as bytes)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return urlencoded_problem(body)
    if kind == "multipart/form-data":
        return NUL_WORDS if b"\x00" in body else None  # the hub takes no file uploads
    if not body:
        return None
    return json_problem(body)  # JSON, or no type given: FastAPI reads those as JSON


class TextGuardMiddleware:
    """Answer 422 to a request whose path, query string or body holds text the hub cannot store."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8", "surrogatepass")
        problem = _where("the address", decoded_problem(unquote_to_bytes(bytes(raw_path))))
        problem = problem or _where("a query parameter", urlencoded_problem(bytes(scope.get("query_string", b""))))
        if problem is None and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            body, receive = await _read(receive)
            if body is None:
                return  # the client went away
            headers = dict(scope.get("headers", []))
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            problem = _where("the body", body_problem(content_type, body))
        if problem is not None:
            await _refuse(send, problem)
            return
        await self.app(scope, receive, send)


def _where(what: str, problem: str | None) -> str | None:
    return None if problem is None else f"{what} {problem}"


async def _read(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (already capped by the body limit in front), and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, receive
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _refuse(send: Send, problem: str) -> None:
    payload = json.dumps({"error": f"invalid request: {problem}"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
