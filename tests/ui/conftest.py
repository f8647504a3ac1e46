"""The touchscreen app under a virtual X display (Xvfb), in the test process's main thread.

Kivy wants its window and every widget on the main thread, and it can create one window per process.
pytest runs tests on the main thread, so the app runs right here: a test builds a :class:`KioskApp`,
puts its root in the one window and turns Kivy's loop by hand (:func:`pump`, :func:`pump_until`) while
it waits; the UI's own background threads (the core client) post to that loop exactly as in production.
This keeps widget state directly inspectable, which a UI in a subprocess would not.

Kivy is set up (``kiosk.ui.bootstrap.prepare``) when this file is imported, before any test module
imports Kivy; the window opens on first use, once Xvfb runs.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.ui.bootstrap import prepare
from kiosk.ui.settings import UiSettings

FIRST_SIZE = (800, 480)
SCREEN_OF_XVFB = "1280x1280x24"
"""Big enough for every supported window, portrait included."""

SETTINGS = UiSettings(
    api_url="http://127.0.0.1:9",
    token_file=Path("/nonexistent/ui-token"),
    station_name="徐汇骑手驿站",
    station_name_en="Xuhui Rider Station",
    maintenance_pin="2468",
    size=FIRST_SIZE,
    fullscreen=False,
    input="mouse",
)
"""The settings of every UI test (a test changes what it needs on the app, never these)."""

prepare(SETTINGS)


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a display number it picks itself (-displayfd), so parallel runs never collide."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", SCREEN_OF_XVFB, "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        raise RuntimeError("Xvfb did not start (is the xvfb package installed? scripts/bootstrap.sh installs it)")
    return proc, f":{number}"


@pytest.fixture(scope="session")
def window() -> Iterator[Any]:
    """Kivy's one window, on a fresh Xvfb display."""
    proc, display = _start_xvfb()
    os.environ["DISPLAY"] = display
    from kivy.base import EventLoop

    EventLoop.ensure_window()
    from kivy.core.window import Window

    try:
        yield Window
    finally:
        proc.terminate()
        proc.wait(5)
