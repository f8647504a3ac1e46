"""The ``[batteries]`` section: which returned packs the station takes into charging, and what it reports."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kiosk.core.schema import Section


class BatteriesConfig(Section):
    """Returned packs are judged by the hub's battery registry and their BMS's state of health (docs/safety.md)."""

    soh_floor_pct: Annotated[float, Field(ge=0, le=100)] = 70.0
    """A returned pack whose BMS reports a state of health below this (%) is refused: handed back, never
    charged. 70 % is where e-bike packs are commonly retired from swap fleets (0 = no floor)."""
    without_registry: Literal["accept", "refuse"] = "accept"
    """What a station that has never received the hub's registry does with a returned pack: ``accept`` it
    (its events say ``unverified``, so the hub can check it later; a fresh station works offline), or
    ``refuse`` every pack until a registry arrives."""
    sample_s: Annotated[float, Field(ge=5, le=3600)] = 60.0
    """How often each pack's temperature is sampled for the hub's history (s)."""
    report_s: Annotated[float, Field(ge=60, le=86400)] = 600.0
    """How often the samples of every pack are sent to the hub as one ``battery.readings`` event (s)."""
