"""The API as a component: uvicorn serving inside kiosk-core's own asyncio loop.

The listening socket is bound here, before uvicorn starts, so "address already in use" is a clear
start failure of this component instead of uvicorn exiting the process. Signal handling stays with
the runtime: uvicorn's own handlers are switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from kiosk.api.app import create_app
from kiosk.api.context import ApiContext
from kiosk.core.errors import ComponentError
from kiosk.core.http_limits import BodyLimit
from kiosk.sync.serving import ConnectionLimits, uvicorn_options

log = logging.getLogger(__name__)


class _InLoopServer(uvicorn.Server):
    """uvicorn without its signal handlers: the runtime owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """Serves :func:`kiosk.api.app.create_app` on ``host:port`` (port 0 picks a free one)."""

    name = "api"
    optional = False

    def __init__(
        self,
        ctx: ApiContext,
        host: str,
        port: int,
        tls: tuple[Path, Path | None] | None = None,
        *,
        limits: ConnectionLimits | None = None,
        body_idle_timeout_s: float = 10.0,
    ) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self.tls = tls
        self.limits = limits or ConnectionLimits()
        # Deadlines and caps on connections and bodies (tests shorten them).
        self.body_idle_timeout_s = body_idle_timeout_s
        self._server: _InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Where the API is reachable."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104 - only for display
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    async def start(self) -> None:
        """Bind, start serving, and return once uvicorn accepts connections."""
        try:
            sock = socket.create_server((self.host, self.port), family=_family(self.host))
        except OSError as exc:
            raise ComponentError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from exc
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            # Outside the whole app: bodies are bounded before routing, sign-in or any buffering.
            BodyLimit(create_app(self.ctx), idle_timeout_s=self.body_idle_timeout_s),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            server_header=False,
            # Nothing stands in front of kiosk-core: the peer's address is the client's, never a header's.
            proxy_headers=False,
            **uvicorn_options(self.limits),
            ssl_certfile=str(self.tls[0]) if self.tls else None,
            ssl_keyfile=str(self.tls[1]) if self.tls and self.tls[1] else None,
        )
        self._server = _InLoopServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="api-server")
        for _ in range(1000):  # bounded: 10 s
            if self._server.started:
                log.info("local API listening on %s", self.url)
                return
            if self._task.done():
                break
            await asyncio.sleep(0.01)
        await self.close()
        raise ComponentError("the API server did not start")

    async def close(self) -> None:
        """Stop serving (idempotent)."""
        server, task = self._server, self._task
        self._server = self._task = None
        if server is not None:
            server.should_exit = True
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=5)
            except (TimeoutError, asyncio.CancelledError, SystemExit):
                task.cancel()
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def get_status(self) -> dict[str, Any]:
        """Where it listens, how many live streams are open, and any alarm of password guessing."""
        warnings = [f"password guessing on the status page: {a.describe()}" for a in self.ctx.limiter.alarms()]
        return {"url": self.url, "live_subscribers": self.ctx.bus.subscribers, "warnings": warnings}


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
