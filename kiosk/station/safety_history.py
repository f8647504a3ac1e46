"""A bay's readings of the last minutes, thinned for a chart — pure.

The supervisor sees a reading every slot poll (0.5 s); the status page draws the last
:data:`WINDOW_S` of them. Keeping one point per :data:`STEP_S` bounds what the status carries
(60 points a bay) while the newest reading is always the last point, so a fast climb shows at once.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_S = 300.0
"""How far back the chart goes (s)."""
STEP_S = 5.0
"""The least time between two kept points (s)."""


@dataclass(frozen=True)
class Point:
    """One reading of a bay at the caller's monotonic time ``at``; None where the reading had no value."""

    at: float
    temperature_c: float | None
    voltage_v: float | None
    current_a: float | None

    def as_list(self) -> list[float | None]:
        """``[at, °C, V, A]`` for the status (times rounded to 0.1 s)."""
        return [round(self.at, 1), self.temperature_c, self.voltage_v, self.current_a]


def keep(
    points: tuple[Point, ...], point: Point, *, step_s: float = STEP_S, window_s: float = WINDOW_S
) -> tuple[Point, ...]:
    """``points`` with ``point`` added: it replaces the newest when that one is less than ``step_s`` after
    the one before it (so the last point is always the newest reading), older ones drop out of the window."""
    kept = tuple(p for p in points if p.at >= point.at - window_s)
    if len(kept) >= 2 and kept[-1].at - kept[-2].at < step_s:
        kept = kept[:-1]
    return (*kept, point)
