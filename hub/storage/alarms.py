"""Safety alarms that stations send at once (``POST /v1/stations/{id}/alarms``), kept for the fleet view."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from hub.storage.base import StorageBase, epoch_ms, from_iso, iso
from kiosk.core.events import EventRecord

LEVELS = ("normal", "watch", "alarm", "fire")


@dataclass(frozen=True)
class Alarm:
    """One safety level change of a station's bay (``bay``) or cabinet (``bay`` None)."""

    id: str
    station_id: str
    bay: int | None
    level: str
    before: str
    reasons: list[str]
    temperature_c: float | None
    wall: datetime
    """When it happened, by the station's clock."""
    received_at: datetime
    """When the hub first received it."""


class AlarmError(ValueError):
    """The event is not a safety alarm this hub understands."""


class AlarmsMixin(StorageBase):
    """Safety alarms by the time they arrived."""

    def record_alarm(self, station_id: str, event: EventRecord) -> datetime:
        """Keep ``event`` (a ``safety.level_changed``) once by id; when the hub first received it."""
        body = event.payload
        level, before = body.get("after"), body.get("before")
        bay = body.get("bay")
        reasons = body.get("reasons")
        temperature = body.get("temperature_c")
        if level not in LEVELS or before not in LEVELS:
            raise AlarmError("an alarm's payload needs 'before' and 'after' levels: normal, watch, alarm or fire")
        if bay is not None and (not isinstance(bay, int) or isinstance(bay, bool) or not 0 <= bay <= 9999):
            raise AlarmError("an alarm's 'bay' is a bay number or null")
        if not isinstance(reasons, list) or not all(isinstance(r, str) and len(r) <= 64 for r in reasons[:32]):
            raise AlarmError("an alarm's 'reasons' is a list of short names")
        if temperature is not None and not isinstance(temperature, int | float):
            raise AlarmError("an alarm's 'temperature_c' is a number or null")
        now = self.now()
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO alarms (id, station_id, bay, level, before_level, reasons, temperature_c, wall,"
                " received_at, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    event.id,
                    station_id,
                    bay,
                    level,
                    before,
                    json.dumps(reasons[:32]),
                    float(temperature) if temperature is not None else None,
                    iso(event.wall),
                    iso(now),
                    epoch_ms(now),
                ),
            )
            row = tx.one("SELECT station_id, received_at FROM alarms WHERE id = ?", (event.id,))
        if row is None or row[0] != station_id:
            raise AlarmError(f"alarm id {event.id} belongs to another station")
        return from_iso(row[1])

    def recent_alarms(self, since: datetime, *, limit: int = 200) -> list[Alarm]:
        """Alarms received since ``since``, the newest first."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT id, station_id, bay, level, before_level, reasons, temperature_c, wall, received_at"
                " FROM alarms WHERE received_ms >= ? ORDER BY received_ms DESC, id DESC LIMIT ?",
                (epoch_ms(since), limit),
            )
        return [
            Alarm(
                id=str(r[0]),
                station_id=str(r[1]),
                bay=None if r[2] is None else int(r[2]),
                level=str(r[3]),
                before=str(r[4]),
                reasons=[str(x) for x in json.loads(r[5])],
                temperature_c=None if r[6] is None else float(r[6]),
                wall=from_iso(r[7]),
                received_at=from_iso(r[8]),
            )
            for r in rows
        ]
