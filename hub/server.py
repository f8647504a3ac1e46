"""Running the hub: in the foreground (``kiosk-hub serve``) or in a background thread (tests, benches, sim).

The listening socket is bound before uvicorn starts, so a port in use is a clear error here, and port
0 gives a free port whose number is known at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from hub.app import create_app
from hub.limits import body_limits
from hub.storage import Storage
from kiosk.core.http_limits import BodyLimit
from kiosk.sync.serving import ConnectionLimits, uvicorn_options

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``OSError`` with the reason when it cannot be had)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=512)
    sock.setblocking(False)
    return sock


def _config(
    storage: Storage, app_options: dict[str, Any], limits: ConnectionLimits | None = None, **options: Any
) -> uvicorn.Config:
    app = create_app(storage, **app_options)
    limits = limits or ConnectionLimits()
    return uvicorn.Config(
        # Outside the whole app: bodies are bounded before routing, authentication or any buffering.
        BodyLimit(app, limit_for=body_limits(storage, app), idle_timeout_s=limits.head_timeout_s * 2),
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=5,
        # The client's address (for sign-in limits) and scheme (Secure cookies) are taken from
        # X-Forwarded-For / -Proto only when the peer is the TLS proxy on loopback (uvicorn's default).
        proxy_headers=True,
        **uvicorn_options(limits),
        **options,
    )


def serve(storage: Storage, host: str, port: int, **app_options: Any) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn's own signal handling)."""
    sock = bind(host, port)
    server = uvicorn.Server(_config(storage, app_options, log_level="info"))
    log.info("kiosk-hub on http://%s:%d with %s", host, sock.getsockname()[1], storage.db.description)
    server.run(sockets=[sock])


class _ThreadServer(uvicorn.Server):
    """uvicorn without signal handlers: the thread that started it decides when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HubServer:
    """The hub on a background thread with its own event loop: ``start()``, ``url``, ``close()``."""

    def __init__(
        self,
        storage: Storage,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: ConnectionLimits | None = None,
        **app_options: Any,
    ) -> None:
        self.storage = storage
        self.host = host
        self.port = port
        self._server = _ThreadServer(_config(storage, app_options, limits, log_level="warning"))
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """Where the hub answers."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Bind, start serving on the thread, and return once connections are accepted."""
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]

        def run() -> None:
            try:
                asyncio.run(self._server.serve(sockets=[sock]))
            except BaseException as exc:  # handed to start() / close(): a thread cannot raise to its creator
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"kiosk-hub:{self.port}", daemon=True)
        self._thread.start()
        started = threading.Event()
        for _ in range(int(timeout / 0.01)):  # bounded wait for uvicorn's "started" flag
            if self._server.started or not self._thread.is_alive():
                break
            started.wait(0.01)
        if not self._server.started:
            self.close()
            raise RuntimeError(f"the hub did not start: {self._error!r}")

    def close(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread (safe twice)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> HubServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
