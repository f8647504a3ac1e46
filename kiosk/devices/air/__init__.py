"""The cabinet's own air sensor: temperature and humidity inside the battery cabinet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AirReading:
    """One read of the cabinet's air; ``error`` says why there are no values (the sensor did not answer)."""

    air_c: float | None = None
    humidity_pct: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for the status."""
        return {"air_c": self.air_c, "humidity_pct": self.humidity_pct, "error": self.error}
