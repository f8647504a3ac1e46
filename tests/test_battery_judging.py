"""Judging a returned pack by the registry and its state of health, and the per-pack readings for the hub — pure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from kiosk.core.battery_config import BatteriesConfig
from kiosk.core.battery_events import BatteryReadings
from kiosk.core.battery_registry import PackRow, RegistryIndex, decode_registry, encode_registry
from kiosk.core.clock import FakeClock
from kiosk.core.events import Event, EventRecord
from kiosk.devices.base import BatteryReading
from kiosk.flows.battery_report import BatteryReporter
from kiosk.station.selection import ReturnVerdict, SwapPolicy, is_charged, judge_return

POLICY = SwapPolicy(soh_floor_pct=70.0)
REGISTRY = decode_registry(
    encode_registry(
        [
            PackRow("SH0000001", "TL-48V20", "nmc-13s", retired=False),
            PackRow("SH0000002", "TL-48V20", "nmc-13s", retired=True),
        ]
    )
)


def pack(battery_id: str = "SH0000001", soh: float | None = 92.0, soc: float = 20.0) -> BatteryReading:
    return BatteryReading(bay=3, present=True, battery_id=battery_id, soc_pct=soc, temperature_c=25.0, soh_pct=soh)


@pytest.mark.parametrize(
    ("reading", "registry", "policy", "verdict"),
    [
        (pack(), REGISTRY, POLICY, ReturnVerdict.ACCEPTED),
        (pack("SH0000009"), REGISTRY, POLICY, ReturnVerdict.UNKNOWN),
        (pack("SH0000002"), REGISTRY, POLICY, ReturnVerdict.RETIRED),
        (pack(soh=69.9), REGISTRY, POLICY, ReturnVerdict.LOW_SOH),
        (pack(soh=None), REGISTRY, POLICY, ReturnVerdict.ACCEPTED),  # a BMS without SoH is not judged by it
        (pack("SH0000009"), None, POLICY, ReturnVerdict.ACCEPTED),  # a fresh station accepts (and flags)
        (pack(soh=50.0), None, POLICY, ReturnVerdict.LOW_SOH),  # the floor needs no registry
        (pack("SH0000009"), None, SwapPolicy(without_registry="refuse"), ReturnVerdict.UNKNOWN),
        (pack("xx-1"), REGISTRY, POLICY, ReturnVerdict.FOREIGN),  # not even of the network's id form
    ],
)
def test_a_returned_pack_is_judged_by_the_registry_and_its_health(
    reading: BatteryReading, registry: RegistryIndex | None, policy: SwapPolicy, verdict: ReturnVerdict
) -> None:
    assert judge_return(reading, policy, registry) is verdict


def test_a_refused_pack_left_in_a_bay_is_never_handed_out() -> None:
    assert is_charged(pack(soc=99.0), POLICY, registry=REGISTRY)
    assert not is_charged(pack("SH0000002", soc=99.0), POLICY, registry=REGISTRY)
    assert not is_charged(pack("SH0000009", soc=99.0), POLICY, registry=REGISTRY)
    assert not is_charged(pack(soh=60.0, soc=99.0), POLICY, registry=REGISTRY)


class Source:
    def __init__(self) -> None:
        self.listeners: list[Callable[[dict[int, BatteryReading]], None]] = []

    def add_battery_listener(self, listener: Callable[[dict[int, BatteryReading]], None]) -> None:
        self.listeners.append(listener)


def reporter(clock: FakeClock, recorded: list[Event]) -> BatteryReporter:
    def record(event: Event) -> EventRecord:
        recorded.append(event)
        return None  # type: ignore[return-value]  # the reporter does not look at the stored record

    made = BatteryReporter(
        BatteriesConfig(sample_s=60, report_s=600),
        clock=clock,
        cabinet=Source(),
        battery_bays=frozenset({1, 2}),
        record=record,
    )
    asyncio.run(made.start())
    return made


def test_samples_every_minute_and_reports_every_ten(fake_clock: FakeClock) -> None:
    recorded: list[Event] = []
    made = reporter(fake_clock, recorded)
    for second in range(0, 660, 2):  # a poll every 2 s for 11 minutes, the pack warming
        made.readings({1: BatteryReading(bay=1, present=True, battery_id="SH0000001", temperature_c=25 + second / 60,
                                         soh_pct=91.0, cycles=300),
                       2: BatteryReading(bay=2, present=False)})  # fmt: skip
        fake_clock.advance(2)
    [report] = recorded
    assert isinstance(report, BatteryReadings)
    [one] = report.packs
    assert (one.battery_id, one.bay, one.soh_pct, one.cycles) == ("SH0000001", 1, 91.0, 300)
    assert len(one.temperatures_c) == 11  # minutes 0..10: the sample at the report time goes in this report
    assert one.temperatures_c[0] == 25.0
    assert report.period_s == 600.0


def test_a_silent_bay_or_a_pack_without_an_id_is_not_sampled(fake_clock: FakeClock) -> None:
    recorded: list[Event] = []
    made = reporter(fake_clock, recorded)
    made.readings({1: BatteryReading(bay=1, present=False, error="no answer"), 2: BatteryReading(bay=2, present=True)})
    assert made.report() == 0
    assert recorded == []
