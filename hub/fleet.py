"""The fleet view's data: every station's health and use, gathered once per page, and its CSV export.

Usage is counted from events: ``swap.completed`` (swaps), ``entry.granted`` (entries) and
``service.viewed`` (service demand), per local day on the re-anchored time. Health comes from the
latest heartbeat (backlog, warnings, charged batteries) and from the hub's own view (last seen, gaps).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from hub.batteries import DuePack, Limits
from hub.storage import Alarm, Flag, Gap, LatestHeartbeat, Station, Storage
from hub.storage.fleet import SERVICE_VIEWED

SWAP_COMPLETED = "swap.completed"
ENTRY_GRANTED = "entry.granted"
COUNTED_TYPES = (SWAP_COMPLETED, ENTRY_GRANTED, SERVICE_VIEWED)
"""The event types the fleet view counts per day."""
STALE_AFTER = timedelta(minutes=30)
ALARMS_FOR = timedelta(hours=24)
"""How long a safety alarm stays at the top of the fleet view."""
"""A station not heard from for longer than this is flagged."""
FLAGS_SHOWN = 50
"""How many of the newest flagged events the fleet page lists."""
DUE_SHOWN = 200
"""How many packs due for retirement the fleet page lists (``kiosk-hub batteries due`` lists them all)."""


@dataclass(frozen=True)
class StationRow:
    """One station's line in the fleet view."""

    station: Station
    heartbeat: LatestHeartbeat | None
    gaps: list[Gap]
    swaps: list[int]
    """Per day of :attr:`FleetView.days`."""
    entries: list[int]
    service_views: list[int]
    top_services: list[tuple[str, int]]
    warnings: list[str] = field(default_factory=list)
    flagged: int = 0
    """Events of the station the hub flagged (claims that disagree with its rules, a rewritten log...)."""

    @property
    def last_seen(self) -> datetime | None:
        """When the hub last heard from the station (a heartbeat or an event batch)."""
        moments = [m for m in (self.station.last_event_at, self.heartbeat and self.heartbeat.received_at) if m]
        return max(moments) if moments else None

    @property
    def backlog(self) -> int | None:
        """Events the station had not yet delivered at its last heartbeat."""
        return None if self.heartbeat is None else self.heartbeat.heartbeat.backlog

    @property
    def charged(self) -> int | None:
        """Batteries ready now, as of the last heartbeat."""
        return None if self.heartbeat is None else self.heartbeat.heartbeat.charged_batteries

    @property
    def missing(self) -> int:
        """Events missing in the listed gaps."""
        return sum(g.size for g in self.gaps)


@dataclass(frozen=True)
class FleetView:
    """The whole fleet as of ``generated_at``."""

    generated_at: datetime
    days: list[date]
    utc_offset_minutes: int
    rows: list[StationRow]
    alarms: list[Alarm] = field(default_factory=list)
    """Safety alarms received in the last ALARMS_FOR, newest first: shown above everything else."""
    flags: list[Flag] = field(default_factory=list)
    """The newest flags of all stations."""
    due: list[DuePack] = field(default_factory=list)
    """The first :data:`DUE_SHOWN` packs due for retirement by what stations reported, by id."""
    due_count: int = 0
    """How many packs are due in all."""
    registry: tuple[int, int] = (0, 0)
    """Packs in the battery registry: (in service, retired)."""

    def totals(self, what: str) -> list[int]:
        """Fleet-wide counts per day of ``swaps``, ``entries`` or ``service_views``."""
        return [sum(getattr(r, what)[i] for r in self.rows) for i in range(len(self.days))]


def _warnings(
    station: Station, beat: LatestHeartbeat | None, gaps: list[Gap], now: datetime, flagged: int = 0
) -> list[str]:
    found: list[str] = []
    if flagged:
        found.append(f"{flagged} flagged event{'s' if flagged != 1 else ''} (see Flagged events)")
    last = max([m for m in (station.last_event_at, beat and beat.received_at) if m], default=None)
    if last is None:
        found.append("never heard from")
    elif now - last > STALE_AFTER:
        found.append(f"silent for {_age(now - last)}")
    if gaps:
        found.append(f"{sum(g.size for g in gaps)} events missing (seq {gaps[0].first}…)")
    if beat is not None:
        if not beat.heartbeat.wall_synced:
            found.append("clock not synchronised")
        found.extend(beat.heartbeat.warnings)
    return found


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


def gather(storage: Storage, *, days: int = 14, utc_offset_minutes: int = 0) -> FleetView:
    """Everything the fleet page and CSV show, for the last ``days`` local days including today."""
    now = storage.now()
    local = timezone(timedelta(minutes=utc_offset_minutes))
    today = now.astimezone(local).date()
    day_list = [today - timedelta(days=days - 1 - i) for i in range(days)]
    since = datetime.combine(day_list[0], datetime.min.time(), tzinfo=local).astimezone(UTC)
    counts = storage.daily_counts(COUNTED_TYPES, since, utc_offset_minutes=utc_offset_minutes)
    views = storage.service_views(since)
    beats = storage.heartbeats()
    flagged = storage.flag_counts()
    rows = []
    for station in storage.stations():
        gaps = storage.gaps(station.id)

        def per_day(type_: str, sid: str = station.id) -> list[int]:
            found = counts.get((sid, type_), {})
            return [found.get(d, 0) for d in day_list]

        beat = beats.get(station.id)
        rows.append(
            StationRow(
                station=station,
                heartbeat=beat,
                gaps=gaps,
                swaps=per_day(SWAP_COMPLETED),
                entries=per_day(ENTRY_GRANTED),
                service_views=per_day(SERVICE_VIEWED),
                top_services=views.get(station.id, Counter()).most_common(5),
                warnings=_warnings(station, beat, gaps, now, flagged.get(station.id, 0)),
                flagged=flagged.get(station.id, 0),
            )
        )
    due, due_count = storage.due_packs(Limits(), limit=DUE_SHOWN)
    return FleetView(
        generated_at=now,
        days=day_list,
        utc_offset_minutes=utc_offset_minutes,
        rows=rows,
        alarms=storage.recent_alarms(now - ALARMS_FOR),
        flags=storage.flags(limit=FLAGS_SHOWN) if flagged else [],
        due=due,
        due_count=due_count,
        registry=storage.battery_count(),
    )


CSV_COLUMNS = (
    "station_id",
    "name",
    "name_en",
    "day",
    "swaps",
    "entries",
    "service_views",
    "charged_batteries_now",
    "backlog",
    "last_seen",
    "high_water_seq",
    "missing_events",
    "warnings",
)


def to_csv(view: FleetView) -> str:
    """One row per station and day; the station's current state repeated on each row for easy filtering."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in view.rows:
        last = row.last_seen
        for i, day in enumerate(view.days):
            writer.writerow(
                (
                    row.station.id,
                    row.station.name,
                    row.station.name_en,
                    day.isoformat(),
                    row.swaps[i],
                    row.entries[i],
                    row.service_views[i],
                    "" if row.charged is None else row.charged,
                    "" if row.backlog is None else row.backlog,
                    "" if last is None else last.isoformat(),
                    row.station.high_water_seq,
                    row.missing,
                    "; ".join(row.warnings),
                )
            )
    return out.getvalue()
