"""The safety supervisor component against a cabinet that misbehaves (a fake one, on a fake clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gpiozero.pins.mock import MockFactory

from kiosk.core.clock import FakeClock
from kiosk.core.errors import DeviceError
from kiosk.core.events import Event, EventRecord
from kiosk.core.hardware import SafetyIoConfig
from kiosk.core.safety_config import SafetyConfig
from kiosk.devices.air import AirReading
from kiosk.devices.base import BatteryReading
from kiosk.flows.safety import SafetySupervisor
from kiosk.station.safety_events import SafetyAction

IO = SafetyIoConfig(mains_pin="GPIO20", fan_pin="GPIO21")


class FakeCabinet:
    """Records charger writes; ``stuck`` bays refuse to switch."""

    def __init__(self) -> None:
        self.listener: Callable[[dict[int, BatteryReading]], None] | None = None
        self.writes: list[tuple[int, bool]] = []
        self.stuck: set[int] = set()

    def add_battery_listener(self, listener: Callable[[dict[int, BatteryReading]], None]) -> None:
        self.listener = listener

    def add_air_listener(self, listener: Callable[[AirReading], None]) -> None:
        self.air_listener = listener

    def set_safety(self, guard: Callable[[int], str | None], reset: Callable[[int], str | None]) -> None:
        self.guard = guard

    def batteries(self) -> dict[int, BatteryReading]:
        return {}

    async def set_charger(self, bay: int, on: bool) -> None:
        self.writes.append((bay, on))
        if bay in self.stuck:
            raise DeviceError(f"bay {bay}: no answer from slot controller {bay}")


def reading(bay: int, temp: float) -> BatteryReading:
    return BatteryReading(bay=bay, present=True, battery_id="CN0000001", temperature_c=temp, charger_state="charging")


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


def run(body: Callable[[SafetySupervisor, FakeCabinet, list[Event], MockFactory], object]) -> None:
    async def main() -> None:
        cabinet = FakeCabinet()
        events: list[Event] = []
        factory = MockFactory()

        def record(event: Event) -> EventRecord:
            events.append(event)
            return None  # type: ignore[return-value]  # the supervisor only hands it on to urgent()

        supervisor = SafetySupervisor(
            SafetyConfig(),
            IO,
            clock=FakeClock(),
            cabinet=cabinet,
            battery_bays=frozenset({1, 2}),
            record=record,
            pin_factory=factory,
        )
        await supervisor.start()
        try:
            result = body(supervisor, cabinet, events, factory)
            if asyncio.iscoroutine(result):
                await result
        finally:
            await supervisor.close()
        factory.close()

    asyncio.run(main())


def test_the_mains_stay_off_until_the_first_readings_are_judged() -> None:
    async def body(sup: SafetySupervisor, cab: FakeCabinet, events: list[Event], pins: MockFactory) -> None:
        await settle()
        assert pins.pin("GPIO20").state == 0
        assert cab.listener is not None
        cab.listener({1: reading(1, 30), 2: reading(2, 30)})
        await settle()
        assert pins.pin("GPIO20").state == 1

    run(body)


def test_a_charger_that_does_not_switch_off_in_a_bay_in_alarm_gets_the_mains_cut() -> None:
    async def body(sup: SafetySupervisor, cab: FakeCabinet, events: list[Event], pins: MockFactory) -> None:
        assert cab.listener is not None
        cab.listener({1: reading(1, 30), 2: reading(2, 30)})
        await settle()
        cab.stuck.add(1)
        cab.listener({1: reading(1, 63), 2: reading(2, 30)})
        await settle()
        assert (1, False) in cab.writes
        assert pins.pin("GPIO20").state == 0  # mains cut
        assert cab.guard(1) is not None
        failed = [e for e in events if isinstance(e, SafetyAction) and e.phase == "failed"]
        assert failed
        assert failed[0].action == "charger_off"
        assert "bay 1: the charger did not switch off" in sup.get_status()["warnings"]

    run(body)


def test_a_charger_that_switches_off_keeps_the_mains_on() -> None:
    async def body(sup: SafetySupervisor, cab: FakeCabinet, events: list[Event], pins: MockFactory) -> None:
        assert cab.listener is not None
        cab.listener({1: reading(1, 30), 2: reading(2, 30)})
        await settle()
        assert cab.writes == [(1, True), (2, True)]  # after the first readings, each charger written once
        cab.listener({1: reading(1, 63), 2: reading(2, 30)})
        await settle()
        assert cab.writes == [(1, True), (2, True), (1, False)]
        assert pins.pin("GPIO20").state == 1
        assert pins.pin("GPIO21").state == 1  # the fan

    run(body)


def test_a_packs_voltage_is_judged_by_the_chemistry_the_registry_names() -> None:
    """56 V is over an NMC 13S pack's window (54.8 V) but inside an LFP 16S one's (58.6 V)."""

    async def main() -> None:
        cabinet = FakeCabinet()
        factory = MockFactory()
        supervisor = SafetySupervisor(
            SafetyConfig(),
            IO,
            clock=FakeClock(),
            cabinet=cabinet,
            battery_bays=frozenset({1, 2}),
            record=lambda event: None,  # type: ignore[arg-type,return-value]
            pin_factory=factory,
            chemistry_of=lambda pack: "lfp-16s" if pack == "LFP0000001" else None,
        )
        await supervisor.start()
        try:
            await settle()
            assert cabinet.listener is not None
            lfp = BatteryReading(bay=1, present=True, battery_id="LFP0000001", temperature_c=30, voltage_v=56.0)
            nmc = BatteryReading(bay=2, present=True, battery_id="CN0000001", temperature_c=30, voltage_v=56.0)
            cabinet.listener({1: lfp, 2: nmc})
            await settle()
            levels = {bay: part["level"] for bay, part in supervisor.get_status()["bays"].items()}
            assert levels == {"1": "normal", "2": "alarm"}
        finally:
            await supervisor.close()
        factory.close()

    asyncio.run(main())
