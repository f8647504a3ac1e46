"""Choosing the real GPIO pin factory on a Raspberry Pi (tests and the simulator pass a MockFactory).

Our code never relies on gpiozero's global default factory: the factory is made here once and handed
to every GPIO device, so a test or ``kiosk sim`` can hand in another one.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from kiosk.core.errors import DeviceError

log = logging.getLogger(__name__)

# Preferred first: lgpio works on every Pi including the Pi 5; RPi.GPIO and the pure-Python native
# factory only on older models.
_FACTORIES = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
    "native": ("gpiozero.pins.native", "NativeFactory"),
}


def make_pin_factory(choice: str = "auto") -> Any:
    """The pin factory named by ``choice`` ('auto' tries lgpio, rpigpio, native in turn).

    Raises ``DeviceError`` naming what was tried when none works (not a Pi, or its library missing).
    """
    names = list(_FACTORIES) if choice == "auto" else [choice]
    problems: list[str] = []
    for name in names:
        module_name, class_name = _FACTORIES[name]
        try:
            factory = getattr(importlib.import_module(module_name), class_name)()
        except Exception as exc:  # ImportError, or the library's own "not a Pi" errors
            problems.append(f"{name}: {exc}")
            continue
        log.info("GPIO through the %s pin factory", name)
        return factory
    raise DeviceError(
        "no GPIO pin factory works on this machine (" + "; ".join(problems) + "). On a Raspberry Pi install "
        "python3-lgpio; elsewhere use 'kiosk sim'."
    )
