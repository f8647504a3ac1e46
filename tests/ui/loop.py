"""Turning Kivy's loop from a test, and keeping screenshots (imports Kivy only when called)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


def pump(frames: int = 1) -> None:
    """Turn Kivy's loop ``frames`` times (input, clock callbacks, layout, drawing)."""
    from kivy.base import EventLoop

    for _ in range(frames):
        EventLoop.idle()


def pump_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Turn Kivy's loop until ``predicate`` is truthy; fail after ``timeout`` seconds (the bound, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        pump()
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def resize(window: Any, size: tuple[int, int]) -> None:
    """Give the window ``size`` and let every layout and fitted label settle."""
    window.size = size
    pump_until(lambda: tuple(window.size) == size, 5, f"window size {size}")
    pump(4)


def screenshot(root: Any, name: str) -> Path:
    """Save the root widget as ``test-artifacts/ui/<name>.png`` (kept for people to look at)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    root.export_to_png(str(path))
    return path
