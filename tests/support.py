"""Helpers the tests share: bounded waiting on a condition (never a bare sleep)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from kiosk.devices.base import Scan

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds.

    Polls on an Event wait so the thread yields; the bound is what matters, not the interval.
    """
    deadline = time.monotonic() + timeout
    idle = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        idle.wait(0.005)


class ScanRecorder:
    """A scan listener that keeps what it was given (it is called on the driver's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scans: list[Scan] = []

    def __call__(self, scan: Scan) -> None:
        with self._lock:
            self._scans.append(scan)

    @property
    def scans(self) -> list[Scan]:
        """Every scan so far, good and bad."""
        with self._lock:
            return list(self._scans)

    @property
    def texts(self) -> list[str]:
        """The good scans' texts."""
        return [s.text for s in self.scans if s.error is None]

    @property
    def errors(self) -> list[str]:
        """The bad scans' reasons."""
        return [s.error for s in self.scans if s.error is not None]


class LoopThread:
    """An asyncio loop in a thread, so a test can speak HTTP to a server running on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the loop and wait (bounded) for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def call(self, fn: Any, *args: Any) -> Any:
        """Call a plain function on the loop's thread and return its result."""

        async def wrapper() -> Any:
            return fn(*args)

        return self.run(wrapper())

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
