"""The ``[safety]`` section: the battery-safety supervisor's limits, each with its reason.

The defaults follow what lithium e-bike packs tolerate (see docs/safety.md for the sources): charging only
between 0 and 45 °C, storage up to 60 °C, a pack that heats by more than a degree a minute while sitting in a
bay is not behaving like a charging pack any more, and the thermal-runaway criterion of GB 38031 (a rise of
1 °C/s held for 3 s) is a fire. They are starting points for a cabinet's own commissioning, not a
certification.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import Field, model_validator

from kiosk.core.schema import Section


class VoltageWindow(Section):
    """The pack voltage a chemistry may show: outside it the pack or its BMS is wrong."""

    min_v: Annotated[float, Field(gt=0, le=200)]
    """Lowest pack voltage that is still a pack in order (V): below it, over-discharged."""
    max_v: Annotated[float, Field(gt=0, le=200)]
    """Highest pack voltage (V): above it, over-charged."""

    @model_validator(mode="after")
    def _ordered(self) -> VoltageWindow:
        if self.min_v >= self.max_v:
            raise ValueError(f"min_v ({self.min_v}) must be below max_v ({self.max_v})")
        return self


def _default_chemistries() -> dict[str, VoltageWindow]:
    return {
        # 48 V nominal e-bike packs, the common kinds in Chinese swap fleets.
        "nmc-13s": VoltageWindow(min_v=36.4, max_v=54.8),
        "lfp-16s": VoltageWindow(min_v=40.0, max_v=58.6),
    }


class SafetyConfig(Section):
    """The battery-safety supervisor: what it watches for and what it does (docs/safety.md)."""

    enabled: bool = True
    """Watch every pack and the cabinet; turning this off is for bench work on a cabinet without batteries."""
    charge_min_c: Annotated[float, Field(ge=-20, le=20)] = 0.0
    """Below this a pack must not be charged (lithium plating) (°C): charging stops, the bay is watched."""
    charge_watch_c: Annotated[float, Field(ge=20, le=80)] = 45.0
    """A charging pack above this is watched and its charging stops (°C)."""
    storage_watch_c: Annotated[float, Field(ge=20, le=80)] = 50.0
    """A pack that is not charging above this is watched (°C)."""
    alarm_c: Annotated[float, Field(ge=30, le=100)] = 60.0
    """Any pack above this is an alarm: the bay stays shut and out of service (°C)."""
    fire_c: Annotated[float, Field(ge=40, le=150)] = 75.0
    """Any pack above this is treated as a fire (°C)."""
    rise_window_s: Annotated[float, Field(ge=10, le=600)] = 60.0
    """The window over which the temperature rise rate is measured (s)."""
    rise_watch_c_per_min: Annotated[float, Field(gt=0, le=60)] = 1.0
    """A rise faster than this over the window is watched (°C/min); charging heats a pack far slower."""
    rise_alarm_c_per_min: Annotated[float, Field(gt=0, le=60)] = 3.0
    """A rise faster than this over the window is an alarm (°C/min)."""
    runaway_c_per_s: Annotated[float, Field(gt=0, le=10)] = 1.0
    """Thermal runaway: a rise of at least this between readings (°C/s) ..."""
    runaway_hold_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    """... held this long (s) is a fire (GB 38031's criterion)."""
    max_current_a: Annotated[float, Field(gt=0, le=200)] = 15.0
    """A pack current above this, either way, is an alarm (A)."""
    cell_imbalance_watch_mv: Annotated[float, Field(gt=0, le=2000)] = 150.0
    """Where the map reports cells: a spread between cells above this is watched (mV)."""
    cell_imbalance_alarm_mv: Annotated[float, Field(gt=0, le=5000)] = 400.0
    """... and above this is an alarm (mV)."""
    chemistries: dict[str, VoltageWindow] = Field(default_factory=_default_chemistries)
    """Pack voltage windows by chemistry name (the battery registry names a pack's chemistry)."""
    default_chemistry: str = "nmc-13s"
    """The chemistry assumed for a pack the registry does not describe."""
    silent_watch_s: Annotated[float, Field(gt=0, le=600)] = 15.0
    """A charging bay whose controller has not answered for this long is watched and its charging stops (s)."""
    cabinet_watch_c: Annotated[float, Field(ge=20, le=100)] = 45.0
    """Cabinet air above this is watched (°C): the fan runs."""
    cabinet_alarm_c: Annotated[float, Field(ge=20, le=120)] = 60.0
    """Cabinet air above this is an alarm (°C): all charging stops."""
    humidity_watch_pct: Annotated[float, Field(ge=50, le=100)] = 85.0
    """Cabinet air at or above this relative humidity is watched (%): at 85 % the dew point is only about
    2.5 °C below the air, so a pack or a board a little colder than the air gathers condensation. The fan runs."""
    humidity_hysteresis_pct: Annotated[float, Field(ge=0, le=30)] = 5.0
    """Humid air counts as dry again only this far below humidity_watch_pct (%)."""
    hysteresis_c: Annotated[float, Field(ge=0, le=20)] = 3.0
    """A temperature must fall this far below a limit before that limit counts as cleared (°C)."""
    calm_s: Annotated[float, Field(ge=0, le=3600)] = 120.0
    """A watched bay returns to normal only after this long with nothing wrong (s)."""
    fan_at_fire: Literal["on", "off"] = "off"
    """The cabinet fan at fire: off by default so it does not feed the fire or blow out the extinguishing agent."""

    @model_validator(mode="after")
    def _consistent(self) -> SafetyConfig:
        ladder = [("charge_watch_c", self.charge_watch_c), ("alarm_c", self.alarm_c), ("fire_c", self.fire_c)]
        for (low_name, low), (high_name, high) in itertools.pairwise(ladder):
            if low >= high:
                raise ValueError(f"{low_name} ({low}) must be below {high_name} ({high})")
        if self.storage_watch_c >= self.alarm_c:
            raise ValueError(f"storage_watch_c ({self.storage_watch_c}) must be below alarm_c ({self.alarm_c})")
        if self.rise_watch_c_per_min >= self.rise_alarm_c_per_min:
            raise ValueError("rise_watch_c_per_min must be below rise_alarm_c_per_min")
        if self.cell_imbalance_watch_mv >= self.cell_imbalance_alarm_mv:
            raise ValueError("cell_imbalance_watch_mv must be below cell_imbalance_alarm_mv")
        if self.cabinet_watch_c >= self.cabinet_alarm_c:
            raise ValueError("cabinet_watch_c must be below cabinet_alarm_c")
        if self.default_chemistry not in self.chemistries:
            raise ValueError(f"default_chemistry {self.default_chemistry!r} is not one of the chemistries")
        return self
