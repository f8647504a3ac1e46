"""The battery registry and what the hub has seen of each pack (SoH, cycles, the hottest reading).

The registry (table ``batteries``) is the operator's: loaded from a file, a pack retired by hand.
Retirement is sticky: loading a file again never brings a retired pack back into service.

What the hub has seen comes from stations' events, applied in the transaction that stores them
(:func:`record_pack_readings`, called by ``ingest``; exactly once, since only newly stored events are
applied). Each event's readings are kept (``battery_readings``, the history), and one summary row per
pack (``packs_seen``) holds the latest state of health and cycle count (by the hub's time of the event)
and the hottest temperature in any reading — a maximum the hub computes from the samples themselves.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.anchoring import Placed
from hub.batteries import PackRecord, PackSeen
from hub.storage.base import EPOCH, StorageBase, epoch_ms, iso
from hub.storage.db import Tx
from kiosk.core.battery_events import BATTERY_EVENT_TYPES, MAX_PACKS_PER_EVENT, MAX_SAMPLES
from kiosk.core.battery_registry import BatteryRegistry, PackRow, encode_registry, valid_pack_id
from kiosk.core.events import EventRecord

log = logging.getLogger(__name__)
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class LoadResult:
    """What a registry load changed."""

    added: int
    updated: int
    unchanged: int
    kept_retired: int
    """Packs the file lists without a retirement day that stay retired (retirement is sticky)."""


@dataclass(frozen=True)
class PackHistory:
    """One event's reading of a pack, as the hub keeps it."""

    at: datetime
    station_id: str
    soh_pct: float | None
    cycles: int | None
    max_temp_c: float | None


class UnknownBattery(KeyError):
    """The registry has no pack of that id."""


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _ms_time(ms: int | None) -> datetime | None:
    return None if ms is None else EPOCH + timedelta(milliseconds=int(ms))


class BatteriesMixin(StorageBase):
    """The battery registry, the packs seen, and the registry as the bundle carries it."""

    def load_batteries(self, records: Sequence[PackRecord]) -> LoadResult:
        """Add new packs and update known ones from a checked file, in one transaction."""
        now = iso(self.now())
        added = updated = unchanged = kept = 0
        with self.db.transaction() as tx:
            known = {
                str(r[0]): r[1:]
                for r in tx.execute("SELECT id, model, chemistry, commissioned, retired FROM batteries")
            }
            inserts: list[tuple[Any, ...]] = []
            updates: list[tuple[Any, ...]] = []
            for rec in records:
                retired = rec.retired.isoformat() if rec.retired else None
                old = known.get(rec.battery_id)
                if old is None:
                    inserts.append(
                        (rec.battery_id, rec.model, rec.chemistry, rec.commissioned.isoformat(), retired, now)
                    )
                    added += 1
                    continue
                if retired is None and old[3] is not None:
                    retired = str(old[3])  # a file never un-retires a pack
                    kept += 1
                new = (rec.model, rec.chemistry, rec.commissioned.isoformat(), retired)
                if tuple(old) == new:
                    unchanged += 1
                    continue
                updates.append((*new, now, rec.battery_id))
                updated += 1
            tx.executemany(
                "INSERT INTO batteries (id, model, chemistry, commissioned, retired, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                inserts,
            )
            tx.executemany(
                "UPDATE batteries SET model = ?, chemistry = ?, commissioned = ?, retired = ?, updated_at = ?"
                " WHERE id = ?",
                updates,
            )
        return LoadResult(added, updated, unchanged, kept)

    def retire_battery(self, battery_id: str, day: date) -> PackRecord:
        """Retire a pack from ``day`` on (a pack retired before keeps its first day); UnknownBattery if absent."""
        with self.db.transaction() as tx:
            row = tx.one(
                "SELECT id, model, chemistry, commissioned, retired FROM batteries WHERE id = ?", (battery_id,)
            )
            if row is None:
                raise UnknownBattery(f"the registry has no battery {battery_id!r}")
            commissioned = date.fromisoformat(str(row[3]))
            if day < commissioned:
                raise ValueError(f"battery {battery_id} was commissioned on {commissioned}, after {day}")
            if row[4] is None:
                tx.execute(
                    "UPDATE batteries SET retired = ?, updated_at = ? WHERE id = ?",
                    (day.isoformat(), iso(self.now()), battery_id),
                )
                retired = day
            else:
                retired = date.fromisoformat(str(row[4]))
        return PackRecord(battery_id, str(row[1]), str(row[2]), commissioned, retired)

    def batteries(self, *, in_service_only: bool = False, limit: int | None = None) -> list[PackRecord]:
        """The registry's packs by id."""
        where = " WHERE retired IS NULL" if in_service_only else ""
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        with self.db.transaction(write=False) as tx:
            sql = f"SELECT id, model, chemistry, commissioned, retired FROM batteries{where} ORDER BY id{tail}"  # noqa: S608 - only constants are put in
            rows = tx.execute(sql)
        return [PackRecord(str(r[0]), str(r[1]), str(r[2]), date.fromisoformat(str(r[3])), _day(r[4])) for r in rows]

    def battery_count(self) -> tuple[int, int]:
        """(packs in service, packs retired)."""
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT COUNT(*), COUNT(retired) FROM batteries")
        total, retired = (int(row[0]), int(row[1])) if row else (0, 0)
        return total - retired, retired

    def bundle_registry(self) -> BatteryRegistry | None:
        """The registry as the bundle carries it; None while the hub has no pack registered.

        Encoding 50,000 packs takes a fraction of a second, so the result is kept per process until the
        registry changes (every change sets ``updated_at``; the key is the count and the latest change).
        """
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT COUNT(*), MAX(updated_at) FROM batteries")
        key = (int(row[0]), str(row[1])) if row and row[0] else (0, "")
        with _CACHE_LOCK:
            cached: tuple[tuple[int, str], BatteryRegistry | None] | None = self.__dict__.get("_registry_cache")
            if cached is not None and cached[0] == key:
                return cached[1]
        registry: BatteryRegistry | None = None
        if key[0]:
            with self.db.transaction(write=False) as tx:
                rows = tx.execute("SELECT id, model, chemistry, retired FROM batteries")
            registry = encode_registry(PackRow(str(r[0]), str(r[1]), str(r[2]), retired=r[3] is not None) for r in rows)
        with _CACHE_LOCK:
            self.__dict__["_registry_cache"] = (key, registry)
        return registry

    def packs_seen(self) -> list[PackSeen]:
        """What the hub has seen of every pack stations reported, by id."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT battery_id, last_seen_ms, last_station, soh_pct, cycles, max_temp_c, max_temp_ms, readings"
                " FROM packs_seen ORDER BY battery_id"
            )
        return [
            PackSeen(
                battery_id=str(r[0]),
                last_seen=EPOCH + timedelta(milliseconds=int(r[1])),
                last_station=str(r[2]),
                soh_pct=None if r[3] is None else float(r[3]),
                cycles=None if r[4] is None else int(r[4]),
                max_temp_c=None if r[5] is None else float(r[5]),
                max_temp_at=_ms_time(r[6]),
                readings=int(r[7]),
            )
            for r in rows
        ]

    def battery_history(self, battery_id: str, *, limit: int = 200) -> list[PackHistory]:
        """The newest readings the hub kept of one pack, newest first."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT at_ms, station_id, soh_pct, cycles, max_temp_c FROM battery_readings"
                " WHERE battery_id = ? ORDER BY at_ms DESC LIMIT ?",
                (battery_id, limit),
            )
        return [
            PackHistory(
                at=EPOCH + timedelta(milliseconds=int(r[0])),
                station_id=str(r[1]),
                soh_pct=None if r[2] is None else float(r[2]),
                cycles=None if r[3] is None else int(r[3]),
                max_temp_c=None if r[4] is None else float(r[4]),
            )
            for r in rows
        ]

    def registry_records(self) -> Mapping[str, PackRecord]:
        """Every pack of the registry by id."""
        return {r.battery_id: r for r in self.batteries()}


# --- applied on ingest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    battery_id: str
    soh_pct: float | None
    cycles: int | None
    max_temp_c: float | None


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def _pack_reading(item: Any, temperatures: Iterable[Any]) -> _Reading | None:
    if not isinstance(item, dict):
        return None
    pack = item.get("battery_id")
    if not isinstance(pack, str) or not valid_pack_id(pack):
        return None
    soh = _number(item.get("soh_pct"), 0, 100)
    cycles = _number(item.get("cycles"), 0, 1_000_000)
    temps = [t for t in (_number(v, -80, 1000) for v in list(temperatures)[:MAX_SAMPLES]) if t is not None]
    return _Reading(pack, soh, None if cycles is None else int(cycles), max(temps) if temps else None)


def readings_of(record: EventRecord) -> list[_Reading]:
    """The pack readings an event carries (malformed members are skipped: the event is stored anyway)."""
    body = record.payload
    if record.type == "battery.readings":
        packs = body.get("packs")
        if not isinstance(packs, list):
            return []
        out = []
        for item in packs[:MAX_PACKS_PER_EVENT]:
            temps = item.get("temperatures_c") if isinstance(item, dict) else None
            reading = _pack_reading(item, temps if isinstance(temps, list) else [])
            if reading is not None:
                out.append(reading)
        return out
    reading = _pack_reading(body, [body.get("temperature_c")])
    return [] if reading is None else [reading]


_SUMMARY_UPSERT = """
INSERT INTO packs_seen (battery_id, first_seen_ms, last_seen_ms, last_station, soh_pct, soh_ms, cycles, cycles_ms,
                        max_temp_c, max_temp_ms, readings)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
ON CONFLICT (battery_id) DO UPDATE SET
  first_seen_ms = CASE WHEN excluded.first_seen_ms < packs_seen.first_seen_ms
                       THEN excluded.first_seen_ms ELSE packs_seen.first_seen_ms END,
  last_station = CASE WHEN excluded.last_seen_ms >= packs_seen.last_seen_ms
                      THEN excluded.last_station ELSE packs_seen.last_station END,
  last_seen_ms = CASE WHEN excluded.last_seen_ms > packs_seen.last_seen_ms
                      THEN excluded.last_seen_ms ELSE packs_seen.last_seen_ms END,
  soh_pct = CASE WHEN excluded.soh_ms IS NOT NULL
                      AND (packs_seen.soh_ms IS NULL OR excluded.soh_ms >= packs_seen.soh_ms)
                 THEN excluded.soh_pct ELSE packs_seen.soh_pct END,
  soh_ms = CASE WHEN excluded.soh_ms IS NOT NULL
                     AND (packs_seen.soh_ms IS NULL OR excluded.soh_ms >= packs_seen.soh_ms)
                THEN excluded.soh_ms ELSE packs_seen.soh_ms END,
  cycles = CASE WHEN excluded.cycles_ms IS NOT NULL
                     AND (packs_seen.cycles_ms IS NULL OR excluded.cycles_ms >= packs_seen.cycles_ms)
                THEN excluded.cycles ELSE packs_seen.cycles END,
  cycles_ms = CASE WHEN excluded.cycles_ms IS NOT NULL
                        AND (packs_seen.cycles_ms IS NULL OR excluded.cycles_ms >= packs_seen.cycles_ms)
                   THEN excluded.cycles_ms ELSE packs_seen.cycles_ms END,
  max_temp_c = CASE WHEN excluded.max_temp_c IS NOT NULL
                         AND (packs_seen.max_temp_c IS NULL OR excluded.max_temp_c > packs_seen.max_temp_c)
                    THEN excluded.max_temp_c ELSE packs_seen.max_temp_c END,
  max_temp_ms = CASE WHEN excluded.max_temp_c IS NOT NULL
                          AND (packs_seen.max_temp_c IS NULL OR excluded.max_temp_c > packs_seen.max_temp_c)
                     THEN excluded.max_temp_ms ELSE packs_seen.max_temp_ms END,
  readings = packs_seen.readings + 1
"""


def record_pack_readings(
    tx: Tx, station_id: str, records: Sequence[EventRecord], placed: Mapping[str, Placed], now: datetime
) -> int:
    """Keep the pack readings of newly stored events (inside ``ingest``); how many readings were kept."""
    history: list[tuple[Any, ...]] = []
    summary: list[tuple[Any, ...]] = []
    for record in sorted((r for r in records if r.type in BATTERY_EVENT_TYPES), key=lambda r: r.seq):
        where = placed.get(record.id)
        at_ms = epoch_ms(where.corrected if where is not None else now.astimezone(UTC))
        for reading in readings_of(record):
            history.append(
                (station_id, record.id, reading.battery_id, at_ms, reading.soh_pct, reading.cycles, reading.max_temp_c)
            )
            summary_row = (
                reading.battery_id,
                at_ms,
                at_ms,
                station_id,
                reading.soh_pct,
                None if reading.soh_pct is None else at_ms,
                reading.cycles,
                None if reading.cycles is None else at_ms,
                reading.max_temp_c,
                None if reading.max_temp_c is None else at_ms,
            )
            summary.append(summary_row)
    if not history:
        return 0
    tx.executemany(
        "INSERT INTO battery_readings (station_id, event_id, battery_id, at_ms, soh_pct, cycles, max_temp_c)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        history,
    )
    tx.executemany(_SUMMARY_UPSERT, summary)  # one row after another: a pack read twice folds in order
    return len(history)
