"""Helpers the tests share: bounded waiting on a condition (never a bare sleep)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

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
