"""How the station's local API and the hub serve HTTP: limits on connections that the ASGI app cannot see.

uvicorn's keep-alive timeout only starts after a response, and any byte that arrives stops it; a
client that opens a connection and sends half a request (or one byte every few seconds) would hold a
connection, a file descriptor and some memory for ever. :class:`GuardedH11Protocol` gives every request
head a deadline from the moment the connection opened (or the previous response ended) that incoming
bytes do not extend, and refuses connections past a cap by closing them at once, so the process never
runs out of file descriptors (whose accept errors would otherwise fill the log) and ``/api/health``
keeps answering. Stalled *bodies* are cut by :class:`kiosk.core.http_limits.BodyLimit`.

Shared by kiosk-core (kiosk.api.server) and kiosk-hub (hub.server), which both run uvicorn on h11.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

FD_RESERVE = 128
"""File descriptors kept free of client connections: the database, serial ports, logs, outgoing sync."""


@dataclass(frozen=True)
class ConnectionLimits:
    """The numbers (defaults suit a Pi; the hub takes the same)."""

    head_timeout_s: float = 5.0
    """A connection must deliver a complete request head this soon after it opened or after the previous
    response; otherwise it is closed."""
    keep_alive_s: int = 5
    """An idle connection between requests is closed after this long (uvicorn ``timeout_keep_alive``)."""
    max_connections: int = 4096
    """Open client connections at most (lowered to what the file-descriptor limit allows)."""
    max_head_bytes: int = 16 * 1024
    """The largest request line plus headers h11 buffers."""


def raise_open_files_limit() -> int:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit; returns the soft limit now in force.

    The default soft limit (often 1024) is far below what the units allow (``LimitNOFILE=``); a
    server that holds many connections needs the room, and raising the soft limit needs no privilege.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= hard:
        return int(soft if soft != resource.RLIM_INFINITY else hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-files limit from %d to %d: %s", soft, hard, exc)
        return int(soft)
    return int(hard)


def connection_cap(wanted: int, open_files: int) -> int:
    """How many client connections fit: ``wanted``, but never more than the descriptors left after the reserve."""
    return max(16, min(wanted, open_files - FD_RESERVE))


class _OncePerMinute(logging.Filter):
    """Lets a repeating record through once a minute: an accept error under a flood must not fill the log."""

    def __init__(self, needle: str, period_s: float = 60.0) -> None:
        super().__init__()
        self.needle = needle
        self.period_s = period_s
        self._last = -period_s

    def filter(self, record: logging.LogRecord) -> bool:
        if self.needle not in record.getMessage():
            return True
        now = time.monotonic()
        if now - self._last < self.period_s:
            return False
        self._last = now
        return True


_ACCEPT_FILTER = _OncePerMinute("socket.accept() out of system resource")


def quiet_accept_errors() -> None:
    """Install (once) the filter that keeps asyncio's accept errors to one line a minute."""
    logger = logging.getLogger("asyncio")
    if _ACCEPT_FILTER not in logger.filters:
        logger.addFilter(_ACCEPT_FILTER)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head deadline and a cap on open connections."""

    limits = ConnectionLimits()
    """Replaced per server by :func:`protocol_for`."""
    _refused_logged = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection; close it at once past the cap; else start the head deadline."""
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            now = time.monotonic()
            if now - GuardedH11Protocol._refused_logged > 60:
                GuardedH11Protocol._refused_logged = now
                log.warning(
                    "more than %d connections are open: new ones are closed at once", self.limits.max_connections
                )
            transport.abort()
            return
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        """Feed h11; once a whole request head is in, the head deadline is over."""
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        """After a response the next request's head has its own deadline."""
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline with the connection."""
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.limits.head_timeout_s, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """A protocol class bound to ``limits`` (uvicorn takes a class, not an instance)."""
    return type("GuardedH11", (GuardedH11Protocol,), {"limits": limits})


def uvicorn_options(limits: ConnectionLimits | None = None) -> dict[str, Any]:
    """The ``uvicorn.Config`` keyword arguments that apply ``limits`` (and raise the open-files limit)."""
    limits = limits or ConnectionLimits()
    cap = connection_cap(limits.max_connections, raise_open_files_limit())
    quiet_accept_errors()
    bound = ConnectionLimits(limits.head_timeout_s, limits.keep_alive_s, cap, limits.max_head_bytes)
    return {
        "http": protocol_for(bound),
        "timeout_keep_alive": limits.keep_alive_s,
        "h11_max_incomplete_event_size": limits.max_head_bytes,
        # Requests in flight beyond this get a quick 503 from uvicorn instead of piling up.
        "limit_concurrency": cap + 1,
        "backlog": 2048,
    }
