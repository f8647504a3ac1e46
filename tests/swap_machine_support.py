"""Shared by the swap machine's tests: a small cabinet, a station driving the machine, command summaries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kiosk.devices.base import BatteryReading, BayState, DoorState, LockState
from kiosk.station.selection import Cabinet, SwapPolicy
from kiosk.station.swap import (
    BatteryRead,
    Command,
    DoorChanged,
    Persist,
    Show,
    SwapInput,
    SwapMachine,
    SwapRecord,
    SwapRequested,
    SwapState,
)
from kiosk.station.swap_events import SwapCompleted, SwapEnded

RETURNED = BatteryReading(1, True, battery_id="AB00000099", soc_pct=12.0, temperature_c=30.0)


def full(n: int, soc: float) -> BatteryReading:
    return BatteryReading(n, True, battery_id=f"AB{n:08d}", soc_pct=soc, temperature_c=25.0)


def make_cabinet(readings: dict[int, BatteryReading] | None = None) -> Cabinet:
    readings = readings or {
        1: BatteryReading(1, False),
        2: BatteryReading(2, False),
        3: full(3, 98.0),
        4: full(4, 96.0),
    }
    bays = {n: BayState(n, DoorState.CLOSED, LockState.LOCKED) for n in readings}
    return Cabinet(bays, readings)


class Station:
    """A machine plus the cabinet view the app would keep current."""

    def __init__(self, policy: SwapPolicy | None = None, cabinet: Cabinet | None = None) -> None:
        self.cabinet = cabinet or make_cabinet()
        self.machine = SwapMachine(policy or SwapPolicy(), lambda: self.cabinet)

    def __call__(self, *inputs: SwapInput) -> list[Any]:
        """Feed inputs; a summary of the commands of the last one."""
        out: list[Command] = []
        for event in inputs:
            out = self.machine.handle(event)
        return summary(out)

    def start(self) -> list[Any]:
        return self(SwapRequested("swap-1", "rider-7", "n1", 0.0))

    def at_return_read(self) -> None:
        self.start()
        self(DoorChanged(1, True, 2.0), DoorChanged(1, False, 10.0))

    def at_charged(self) -> None:
        self.at_return_read()
        self(BatteryRead(1, RETURNED, 11.0))

    def at_take_back(self) -> None:
        self.at_return_read()
        self(BatteryRead(1, replace(RETURNED, battery_id="XX-1"), 11.0))

    @property
    def record(self) -> SwapRecord:
        record = self.machine.current or self.machine.last_ended
        assert record is not None
        return record


def summary(commands: list[Command]) -> list[Any]:
    out: list[Any] = []
    for c in commands:
        if isinstance(c, Persist):
            assert c.swap is not None
            out.append(("persist", c.swap.state, [e.TYPE for e in c.events]))
        elif isinstance(c, Show):
            out.append(("show", c.screen, dict(c.params)))
        else:
            out.append(c)
    return out


def ended(commands: list[Command]) -> SwapEnded | SwapCompleted:
    first = commands[0]
    assert isinstance(first, Persist)
    event = first.events[-1]
    assert isinstance(event, SwapEnded | SwapCompleted)
    return event


P = "persist"
S = SwapState
