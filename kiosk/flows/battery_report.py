"""Every pack's health for the hub: state of health, cycle count and sampled temperatures, as events.

The cabinet reads every bay each poll; this component keeps one sample per pack every ``sample_s`` and
writes them as one ``battery.readings`` event every ``report_s`` (the relay syncs it like any event).
It sends the samples themselves, not their maximum: the hub computes a pack's hottest reading from what
it receives and never takes a station's word for a figure it can work out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.core.battery_config import BatteriesConfig
from kiosk.core.battery_events import MAX_PACKS_PER_EVENT, MAX_SAMPLES, BatteryReadings, PackReading
from kiosk.core.clock import Clock
from kiosk.core.events import Event, EventRecord
from kiosk.devices.base import BatteryReading

log = logging.getLogger(__name__)


class ReadingSource(Protocol):
    """What the reporter needs of the cabinet component."""

    def add_battery_listener(self, listener: Callable[[dict[int, BatteryReading]], None]) -> None:
        """Be called on the loop with every batch of battery readings."""
        ...


@dataclass
class _Pack:
    battery_id: str
    bay: int
    soh_pct: float | None = None
    cycles: int | None = None
    temperatures: list[float] = field(default_factory=list)


class BatteryReporter:
    """Samples every pack's readings and reports them to the hub as ``battery.readings`` events."""

    name = "battery_report"
    optional = True  # the hub learning of wear later is no reason to stop swaps

    def __init__(
        self,
        config: BatteriesConfig,
        *,
        clock: Clock,
        cabinet: ReadingSource,
        battery_bays: frozenset[int],
        record: Callable[[Event], EventRecord],
    ) -> None:
        self.config = config
        self.clock = clock
        self.cabinet = cabinet
        self.battery_bays = battery_bays
        self._record = record
        self._packs: dict[tuple[int, str], _Pack] = {}
        self._last_sample: float | None = None
        self._period_start = 0.0
        self._reports = 0

    async def start(self) -> None:
        """Listen to the cabinet's readings."""
        self._period_start = self.clock.monotonic()
        self.cabinet.add_battery_listener(self.readings)

    async def close(self) -> None:
        """Nothing to release (samples not yet reported are dropped: the next period starts afresh)."""

    def readings(self, batch: dict[int, BatteryReading]) -> None:
        """A batch of readings (on the loop): sample when due, report when due."""
        now = self.clock.monotonic()
        if self._last_sample is None or now - self._last_sample >= self.config.sample_s:
            self._last_sample = now
            self._sample(batch)
        full = any(len(p.temperatures) >= MAX_SAMPLES for p in self._packs.values())
        if now - self._period_start >= self.config.report_s or full:
            self.report(now)

    def _sample(self, batch: dict[int, BatteryReading]) -> None:
        for bay, reading in sorted(batch.items()):
            if bay not in self.battery_bays or reading.error is not None or not reading.present:
                continue
            if reading.battery_id is None:
                continue  # a pack without an id cannot be told apart from the next one
            pack = self._packs.setdefault((bay, reading.battery_id), _Pack(reading.battery_id, bay))
            pack.soh_pct = reading.soh_pct if reading.soh_pct is not None else pack.soh_pct
            pack.cycles = reading.cycles if reading.cycles is not None else pack.cycles
            if reading.temperature_c is not None:
                pack.temperatures.append(round(reading.temperature_c, 1))

    def report(self, now: float | None = None) -> int:
        """Write the samples so far as ``battery.readings`` events (64 packs each); how many were written."""
        now = self.clock.monotonic() if now is None else now
        period = max(0.0, now - self._period_start)
        packs = [
            PackReading(
                battery_id=p.battery_id,
                bay=p.bay,
                soh_pct=p.soh_pct,
                cycles=p.cycles,
                temperatures_c=p.temperatures[:MAX_SAMPLES],
            )
            for p in self._packs.values()
        ]
        self._packs = {}
        self._period_start = now
        written = 0
        for start in range(0, len(packs), MAX_PACKS_PER_EVENT):
            self._record(BatteryReadings(period_s=round(period, 1), packs=packs[start : start + MAX_PACKS_PER_EVENT]))
            written += 1
        self._reports += written
        return written

    def get_status(self) -> dict[str, Any]:
        """How many packs are being sampled and how many reports were written."""
        return {"packs_sampled": len(self._packs), "reports": self._reports, "warnings": []}
