"""Choosing the GPIO pin factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.app.pins import make_pin_factory
from kiosk.core.errors import DeviceError


def on_a_pi() -> bool:
    model = Path("/proc/device-tree/model")
    return model.exists() and "Raspberry Pi" in model.read_text(errors="replace")


def test_off_a_pi_no_factory_is_chosen_and_the_message_says_what_to_do() -> None:
    assert not on_a_pi(), "this test describes a build machine, not a Pi"
    with pytest.raises(DeviceError, match=r"no GPIO pin factory works on this machine \(lgpio: .*kiosk sim"):
        make_pin_factory()


def test_a_named_factory_is_tried_alone() -> None:
    with pytest.raises(DeviceError, match=r"\(native: [^;]*\)"):
        make_pin_factory("native")
