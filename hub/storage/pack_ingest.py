"""What the hub keeps of the pack readings in newly stored events — applied inside ``ingest``, bounded.

Called by ``ingest`` in the transaction that stores the events (exactly once: only newly stored events
are applied). Each event's readings are kept (``battery_readings``, the history) and one summary row per
pack (``packs_seen``) is folded from them. A station is trusted for *what it read*, as little as that
allows:

- **The hub computes the wear it lists.** The hottest temperature is the maximum of the samples; the
  state of health kept is the *lowest* any station reported and the cycle count the *highest* (a pack
  does not heal and its counter does not run back), so one station claiming a worn pack is new cannot
  take it off the due list. Numbers outside what a pack can read (a SoH of 250 %, 6553.5 °C) are dropped.
- **A reading is never later than the hub's clock.** An event's time is the hub's placement of it, and
  a station claiming a synced clock in 2099 has its readings placed at the time the hub received them.
- **Never-seen, unregistered pack ids are bounded** — per batch (:data:`MAX_NEW_PACKS_PER_BATCH`), per
  station per day (:data:`MAX_NEW_PACKS_PER_STATION_DAY`) and per station in all
  (:data:`MAX_NEW_PACKS_PER_STATION`). Readings of ids past the bound are left out (the events are
  stored all the same) and the batch is flagged. Packs in the registry, and packs the hub has seen
  before, are never left out: a real cabinet's packs keep reporting whatever a flood did.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.anchoring import Placed
from hub.storage.base import epoch_ms
from hub.storage.db import Tx
from hub.storage.flags import Flag, FlagKind, add_flags
from kiosk.core.battery_events import BATTERY_EVENT_TYPES, MAX_PACKS_PER_EVENT, MAX_SAMPLES
from kiosk.core.battery_registry import MAX_PACKS, valid_pack_id
from kiosk.core.events import EventRecord

MAX_NEW_PACKS_PER_BATCH = 2000
"""Most never-seen, unregistered pack ids one batch may add (a week offline at a busy station fits)."""
MAX_NEW_PACKS_PER_STATION_DAY = 5000
"""Most never-seen, unregistered pack ids one station may add in 24 hours of the hub's clock."""
MAX_NEW_PACKS_PER_STATION = MAX_PACKS
"""Most never-seen, unregistered pack ids one station may ever add (a city's whole registry)."""
_DAY_MS = int(timedelta(days=1) / timedelta(milliseconds=1))
_IN_CHUNK = 500


@dataclass(frozen=True)
class Reading:
    """What one event says of one pack, as far as the hub believes it."""

    battery_id: str
    soh_pct: float | None
    cycles: int | None
    max_temp_c: float | None


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def _cycles(value: Any) -> int | None:
    number = _number(value, 0, 1_000_000)
    return None if number is None or number != int(number) else int(number)


def _pack_reading(item: Any, temperatures: Iterable[Any]) -> Reading | None:
    if not isinstance(item, dict):
        return None
    pack = item.get("battery_id")
    if not isinstance(pack, str) or not valid_pack_id(pack):
        return None
    soh = _number(item.get("soh_pct"), 0, 100)
    temps = [t for t in (_number(v, -80, 1000) for v in list(temperatures)[:MAX_SAMPLES]) if t is not None]
    return Reading(pack, soh, _cycles(item.get("cycles")), max(temps) if temps else None)


def readings_of(record: EventRecord) -> list[Reading]:
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
                        max_temp_c, max_temp_ms, readings, first_station, added_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (battery_id) DO UPDATE SET
  first_seen_ms = CASE WHEN excluded.first_seen_ms < packs_seen.first_seen_ms
                       THEN excluded.first_seen_ms ELSE packs_seen.first_seen_ms END,
  last_station = CASE WHEN excluded.last_seen_ms >= packs_seen.last_seen_ms
                      THEN excluded.last_station ELSE packs_seen.last_station END,
  last_seen_ms = CASE WHEN excluded.last_seen_ms > packs_seen.last_seen_ms
                      THEN excluded.last_seen_ms ELSE packs_seen.last_seen_ms END,
  soh_pct = CASE WHEN excluded.soh_pct IS NOT NULL
                      AND (packs_seen.soh_pct IS NULL OR excluded.soh_pct < packs_seen.soh_pct)
                 THEN excluded.soh_pct ELSE packs_seen.soh_pct END,
  soh_ms = CASE WHEN excluded.soh_pct IS NOT NULL
                     AND (packs_seen.soh_pct IS NULL OR excluded.soh_pct < packs_seen.soh_pct)
                THEN excluded.soh_ms ELSE packs_seen.soh_ms END,
  cycles = CASE WHEN excluded.cycles IS NOT NULL
                     AND (packs_seen.cycles IS NULL OR excluded.cycles > packs_seen.cycles)
                THEN excluded.cycles ELSE packs_seen.cycles END,
  cycles_ms = CASE WHEN excluded.cycles IS NOT NULL
                        AND (packs_seen.cycles IS NULL OR excluded.cycles > packs_seen.cycles)
                   THEN excluded.cycles_ms ELSE packs_seen.cycles_ms END,
  max_temp_c = CASE WHEN excluded.max_temp_c IS NOT NULL
                         AND (packs_seen.max_temp_c IS NULL OR excluded.max_temp_c > packs_seen.max_temp_c)
                    THEN excluded.max_temp_c ELSE packs_seen.max_temp_c END,
  max_temp_ms = CASE WHEN excluded.max_temp_c IS NOT NULL
                          AND (packs_seen.max_temp_c IS NULL OR excluded.max_temp_c > packs_seen.max_temp_c)
                     THEN excluded.max_temp_ms ELSE packs_seen.max_temp_ms END,
  readings = packs_seen.readings + 1
"""


def _present(tx: Tx, table: str, column: str, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows = tx.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk)  # noqa: S608 - only constants and placeholders are put in
        found.update(str(r[0]) for r in rows)
    return found


def _allowance(tx: Tx, station_id: str, now_ms: int) -> int:
    """How many never-seen, unregistered pack ids this station may still add now."""
    row = tx.one(
        "SELECT COUNT(*), COUNT(CASE WHEN added_ms >= ? THEN 1 END) FROM packs_seen"
        " WHERE first_station = ? AND added_ms IS NOT NULL",
        (now_ms - _DAY_MS, station_id),
    )
    total, today = (int(row[0]), int(row[1])) if row else (0, 0)
    return max(
        0, min(MAX_NEW_PACKS_PER_BATCH, MAX_NEW_PACKS_PER_STATION_DAY - today, MAX_NEW_PACKS_PER_STATION - total)
    )


def record_pack_readings(
    tx: Tx, station_id: str, records: Sequence[EventRecord], placed: Mapping[str, Placed], now: datetime
) -> int:
    """Keep the pack readings of newly stored events (inside ``ingest``); how many readings were kept."""
    now_ms = epoch_ms(now.astimezone(UTC))
    items: list[tuple[str, int, Reading]] = []
    for record in sorted((r for r in records if r.type in BATTERY_EVENT_TYPES), key=lambda r: r.seq):
        where = placed.get(record.id)
        at_ms = min(now_ms, epoch_ms(where.corrected) if where is not None else now_ms)
        items.extend((record.id, at_ms, reading) for reading in readings_of(record))
    if not items:
        return 0
    ids = list(dict.fromkeys(reading.battery_id for _, _, reading in items))
    seen = _present(tx, "packs_seen", "battery_id", ids)
    registered = _present(tx, "batteries", "id", [i for i in ids if i not in seen])
    new = [i for i in ids if i not in seen and i not in registered]
    admitted = set(new[: _allowance(tx, station_id, now_ms)]) if new else set()
    if len(admitted) < len(new):
        left_out = [i for i in new if i not in admitted]
        first_event = next(event for event, _, reading in items if reading.battery_id == left_out[0])
        why = (
            f"{len(left_out)} never-seen pack id(s) not in the registry were left out (first {left_out[0]}):"
            f" a station adds at most {MAX_NEW_PACKS_PER_BATCH} a batch and {MAX_NEW_PACKS_PER_STATION_DAY} a day"
        )
        add_flags(tx, [Flag(station_id, FlagKind.PACKS_FLOOD, first_event, why)], now)
    history: list[tuple[Any, ...]] = []
    summary: list[tuple[Any, ...]] = []
    for event_id, at_ms, r in items:
        if r.battery_id not in seen and r.battery_id not in registered and r.battery_id not in admitted:
            continue
        history.append((station_id, event_id, r.battery_id, at_ms, r.soh_pct, r.cycles, r.max_temp_c))
        added = now_ms if r.battery_id in admitted else None
        summary.append(
            (
                r.battery_id,
                at_ms,
                at_ms,
                station_id,
                r.soh_pct,
                None if r.soh_pct is None else at_ms,
                r.cycles,
                None if r.cycles is None else at_ms,
                r.max_temp_c,
                None if r.max_temp_c is None else at_ms,
                station_id,
                added,
            )
        )
    if not history:
        return 0
    tx.executemany(
        "INSERT INTO battery_readings (station_id, event_id, battery_id, at_ms, soh_pct, cycles, max_temp_c)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        history,
    )
    tx.executemany(_SUMMARY_UPSERT, summary)  # one row after another: a pack read twice folds in order
    return len(history)
