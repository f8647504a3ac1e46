"""The battery registry and what the hub has seen of each pack (SoH, cycles, the hottest reading).

The registry (table ``batteries``) is the operator's: loaded from a file, a pack retired by hand.
Retirement is sticky: loading a file again never brings a retired pack back into service.

What the hub has seen comes from stations' events, applied in the transaction that stores them
(:mod:`hub.storage.pack_ingest`, bounded, and never a station's word on wear). Each event's readings are
kept (``battery_readings``, the history), and one summary row per pack (``packs_seen``) holds the lowest
state of health and the highest cycle count reported, and the hottest temperature in any reading.

The due list is worked out by the database (:meth:`BatteriesMixin.due_packs`): a page of it and its
count, so the fleet page of a city with tens of thousands of packs never loads them all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hub.batteries import DuePack, Limits, PackRecord, PackSeen, due_reasons
from hub.storage.base import EPOCH, StorageBase, iso
from hub.storage.db import Engine, Row
from kiosk.core.battery_registry import BatteryRegistry, PackRow, encode_registry

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


_SEEN_DAY = {
    Engine.SQLITE: "date(p.last_seen_ms / 1000, 'unixepoch')",
    Engine.POSTGRES: "to_char(to_timestamp(p.last_seen_ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}
"""The UTC day a pack was last seen, as ``YYYY-MM-DD`` text (how ``batteries.retired`` is written)."""
_DUE_FROM = (
    " FROM packs_seen p LEFT JOIN batteries b ON b.id = p.battery_id"
    " WHERE (b.id IS NULL AND ? = 1) OR (b.retired IS NOT NULL AND {day} > b.retired)"
    " OR (b.retired IS NULL AND (p.soh_pct < ? OR p.cycles > ? OR p.max_temp_c >= ?))"
)
"""What :func:`hub.batteries.due_reasons` says, as SQL: unregistered, seen after retirement, or worn."""
_DUE_COLUMNS = (
    "p.battery_id, p.last_seen_ms, p.last_station, p.soh_pct, p.cycles, p.max_temp_c, p.max_temp_ms, p.readings,"
    " b.id, b.model, b.chemistry, b.commissioned, b.retired"
)


def _seen_of(r: Row) -> PackSeen:
    return PackSeen(
        battery_id=str(r[0]),
        last_seen=EPOCH + timedelta(milliseconds=int(r[1])),
        last_station=str(r[2]),
        soh_pct=None if r[3] is None else float(r[3]),
        cycles=None if r[4] is None else int(r[4]),
        max_temp_c=None if r[5] is None else float(r[5]),
        max_temp_at=_ms_time(r[6]),
        readings=int(r[7]),
    )


def _record_of(r: Row) -> PackRecord | None:
    if r[0] is None:
        return None
    return PackRecord(str(r[0]), str(r[1]), str(r[2]), date.fromisoformat(str(r[3])), _day(r[4]))


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
        return [_seen_of(r) for r in rows]

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

    def due_packs(self, limits: Limits, *, limit: int | None = None) -> tuple[list[DuePack], int]:
        """The packs due for retirement by id (the first ``limit``, or all) and how many are due in all."""
        tail = "" if limit is None else f" LIMIT {int(limit)}"
        with self.db.transaction(write=False) as tx:
            in_use = 1 if tx.one("SELECT 1 FROM batteries LIMIT 1") else 0
            where = _DUE_FROM.format(day=_SEEN_DAY[tx.engine])
            params = (in_use, limits.soh_floor_pct, limits.max_cycles, limits.max_temp_c)
            count_row = tx.one(f"SELECT COUNT(*){where}", params)
            rows = tx.execute(f"SELECT {_DUE_COLUMNS}{where} ORDER BY p.battery_id{tail}", params)
        out = []
        for row in rows:
            seen, record = _seen_of(row[:8]), _record_of(row[8:])
            reasons = due_reasons(record, seen, limits, bool(in_use))
            if reasons:
                out.append(DuePack(seen.battery_id, tuple(reasons), record, seen))
        return out, int(count_row[0]) if count_row else 0

    def registry_records(self) -> Mapping[str, PackRecord]:
        """Every pack of the registry by id."""
        return {r.battery_id: r for r in self.batteries()}
