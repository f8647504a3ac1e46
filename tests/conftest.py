"""Fixtures shared by the whole suite: fake clock, temporary data folder, pty ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.devices.sim.pty import PtyPort


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def pty_port(tmp_path: Path) -> Iterator[PtyPort]:
    """A simulated serial port with a stable name under tmp_path (like /dev/serial/by-id/...)."""
    port = PtyPort(tmp_path / "serial-by-id-sim")
    yield port
    port.close()
