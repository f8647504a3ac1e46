"""The simulated cabinet's safety world: packs made hot, heading for thermal runaway or with a silent BMS,
and where its safety pins go."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kiosk.devices.sim.slots import SimSlotControllers

HOT_C = 62.0
"""Temperature of a battery made hot (°C); its BMS flags over-temperature."""
ROOM_C = 25.0

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


def heat_pack(slots: SimSlotControllers, bay: int, on: bool) -> None:
    """The ``battery_hot`` fault: the bay's pack at 62 °C with its BMS's over-temperature flag (off: room)."""
    battery = slots.battery(bay)
    if battery is None:
        raise ValueError(f"bay {bay} is empty: there is no battery to heat")
    if on:
        slots.hot(bay, HOT_C)
    else:
        slots.hot(bay, ROOM_C)
        slots.fault(bay, battery.faults - {"over_temperature"})


def run_away(slots: SimSlotControllers, runaways: Runaways, bay: int, on: bool) -> None:
    """The ``thermal_runaway`` fault: the bay's pack starts (or stops) its runaway climb."""
    battery = slots.battery(bay)
    if battery is None:
        raise ValueError(f"bay {bay} is empty: there is no battery to run away")
    if on:
        runaways.start(bay, battery.temperature_c)
        return
    runaways.stop(bay)
    slots.warm(bay, ROOM_C)


def silence_bms(slots: SimSlotControllers, bay: int, on: bool) -> None:
    """The ``bms_silent`` fault: the controller answers but flags that it lost the pack's BMS."""
    battery = slots.battery(bay)
    if battery is None:
        raise ValueError(f"bay {bay} is empty: there is no BMS to fall silent")
    flags = battery.faults | {"bms_comms_lost"} if on else battery.faults - {"bms_comms_lost"}
    slots.fault(bay, flags)
