"""The simulated cabinet's safety world: packs heading for thermal runaway, and where its safety pins go."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

RUNAWAY_SLOW_C_PER_S = 3.0 / 60
"""A pack heading for thermal runaway first warms slowly (°C/s: 3 °C a minute) ..."""
RUNAWAY_ONSET_S = 90.0
"""... for this long (s) ..."""
RUNAWAY_FAST_C_PER_S = 2.0
"""... then climbs fast (°C/s) until it burns."""
RUNAWAY_MAX_C = 400.0

SAFETY_PINS = ("fan_pin", "mains_pin", "extinguisher_pin", "smoke_pin")
"""The cabinet's safety pins the simulator wires when the config names none and the pins suffice."""


def runaway_temperature(start_c: float, elapsed_s: float) -> float:
    """The temperature of a pack ``elapsed_s`` into the simulated thermal runaway."""
    slow = start_c + RUNAWAY_SLOW_C_PER_S * min(elapsed_s, RUNAWAY_ONSET_S)
    fast = RUNAWAY_FAST_C_PER_S * max(0.0, elapsed_s - RUNAWAY_ONSET_S)
    return round(min(RUNAWAY_MAX_C, slow + fast), 1)


def wire_safety_pins(safety: dict[str, Any], pool: list[str], spare: int) -> None:
    """Give ``safety`` (a ``[hardware.safety]`` dump naming no pins) the last free pins of ``pool``.

    Only when ``spare`` pins are left after the bays' own, so a cabinet never loses a bay's switch to them.
    """
    if spare >= len(SAFETY_PINS):
        for name in SAFETY_PINS:
            safety[name] = pool.pop()


class Runaways:
    """The packs running away, and how far each has got; :meth:`tick` heats them along the curve."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bays: dict[int, tuple[float, float]] = {}
        """Bay -> (seconds since the runaway began, starting temperature)."""

    def start(self, bay: int, start_c: float) -> None:
        """Bay ``bay``'s pack, now at ``start_c``, begins to run away (again: it goes on where it was)."""
        with self._lock:
            self._bays.setdefault(bay, (0.0, start_c))

    def stop(self, bay: int) -> None:
        """The pack stops running away."""
        with self._lock:
            self._bays.pop(bay, None)

    def tick(self, seconds: float, warm: Callable[[int, float], None]) -> None:
        """Let ``seconds`` pass: ``warm(bay, °C)`` each running-away pack to its place on the curve."""
        with self._lock:
            now = {bay: (elapsed + seconds, start_c) for bay, (elapsed, start_c) in self._bays.items()}
            self._bays.update(now)
        for bay, (elapsed, start_c) in now.items():
            warm(bay, runaway_temperature(start_c, elapsed))
