"""The queries behind the fleet view: events counted per station, type and day."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from hub.storage.base import StorageBase, epoch_ms

_DAY_MS = 86_400_000
SERVICE_VIEWED = "service.viewed"
"""The event a station writes when a rider opens one of the city's services."""


class FleetMixin(StorageBase):
    """Aggregates over all stations' events."""

    def daily_counts(
        self, types: Sequence[str], since: datetime, *, utc_offset_minutes: int = 0
    ) -> dict[tuple[str, str], dict[date, int]]:
        """Events of ``types`` since ``since``, counted per (station, type) and local day.

        Days are counted on the corrected time, shifted by ``utc_offset_minutes`` (the city's time zone),
        in integer milliseconds so both engines floor the same way.
        """
        if not types:
            return {}
        offset_ms = utc_offset_minutes * 60_000
        marks = ", ".join("?" for _ in types)
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT station_id, type, (corrected_ms + ?) / {_DAY_MS}, COUNT(*) FROM events"  # noqa: S608 - only placeholders and constants are put in
                f" WHERE type IN ({marks}) AND corrected_ms >= ? GROUP BY 1, 2, 3",
                (offset_ms, *types, epoch_ms(since)),
            )
        out: dict[tuple[str, str], dict[date, int]] = {}
        for station_id, type_, day, count in rows:
            day_date = date(1970, 1, 1) + timedelta(days=int(day))
            out.setdefault((str(station_id), str(type_)), {})[day_date] = int(count)
        return out

    def service_views(self, since: datetime, *, limit: int = 200_000) -> dict[str, Counter[str]]:
        """Per station, how often each service was viewed since ``since`` (payload ``service_id``)."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT station_id, payload FROM events WHERE type = ? AND corrected_ms >= ? LIMIT ?",
                (SERVICE_VIEWED, epoch_ms(since), limit),
            )
        out: dict[str, Counter[str]] = {}
        for station_id, payload in rows:
            body = json.loads(payload)
            service = body.get("service_id") if isinstance(body, dict) else None
            out.setdefault(str(station_id), Counter())[str(service or "unknown")] += 1
        return out
