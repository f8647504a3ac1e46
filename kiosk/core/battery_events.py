"""Events about battery packs that the hub reads too (so they live in core, which the hub may import).

- ``battery.refused`` — a returned pack was not taken into charging (unknown to the registry, retired, or
  worn below the SoH floor) and the rider was given it back.
- ``battery.readings`` — what the slot controllers reported of each pack in the cabinet over the last
  minutes: its state of health and cycle count as its BMS says them, and its temperatures as sampled.
  The station sends the samples, not their maximum: the hub works the maximum out itself.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kiosk.core.events import Event, event_type

RefusalReason = Literal["unknown", "retired", "low_soh"]
"""Why a returned pack was refused."""

MAX_PACKS_PER_EVENT = 64
MAX_SAMPLES = 120
"""Most temperature samples one pack carries in one ``battery.readings`` event."""

PackId = Annotated[str, Field(min_length=1, max_length=64)]
Percent = Annotated[float, Field(ge=0, le=100)]
Cycles = Annotated[int, Field(ge=0, le=1_000_000)]
Celsius = Annotated[float, Field(ge=-80, le=1000)]


@event_type
class BatteryRefused(Event):
    """A returned pack was refused and the return bay opened again for the rider to take it back."""

    TYPE: ClassVar[str] = "battery.refused"
    swap_id: str
    bay: int
    battery_id: PackId | None
    reason: RefusalReason
    soh_pct: Percent | None = None
    cycles: Cycles | None = None
    temperature_c: Celsius | None = None
    soh_floor_pct: float
    """The floor the pack was judged against."""
    registry: str | None = None
    """The revision of the registry it was judged by."""


class PackReading(BaseModel):
    """What one pack in one bay reported over the period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    battery_id: PackId
    bay: int
    soh_pct: Percent | None = None
    cycles: Cycles | None = None
    temperatures_c: Annotated[list[Celsius], Field(max_length=MAX_SAMPLES)] = []
    """Temperatures sampled over the period, oldest first."""


@event_type
class BatteryReadings(Event):
    """Every pack in the cabinet over the last period (sent every ``[batteries] report_s``)."""

    TYPE: ClassVar[str] = "battery.readings"
    period_s: float
    packs: Annotated[list[PackReading], Field(max_length=MAX_PACKS_PER_EVENT)]


BATTERY_EVENT_TYPES = frozenset({"battery.readings", "battery.refused", "swap.battery_returned"})
"""Event types from which the hub learns a pack's health: its summary is kept on ingest."""
