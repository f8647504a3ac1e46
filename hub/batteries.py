"""The battery registry's file format and the retirement rules — pure.

``kiosk-hub batteries load FILE`` reads a CSV file (a header row, then one pack a row) or a JSON file (a
list of objects, or ``{"batteries": [...]}``) with exactly these columns / keys:

- ``battery_id`` — the pack's serial as its BMS reports it (2-32 letters, digits, ``_ . -``);
- ``model`` and ``chemistry`` — the chemistry name the stations' ``[safety] chemistries`` knows
  (``nmc-13s``, ``lfp-16s``, …);
- ``commissioned`` — the day it entered service (``YYYY-MM-DD``);
- ``retired`` — optional: the day it left service (empty or absent: in service).

Any other column or key is an error, and so is a bad value or an id given twice: every mistake is
listed with its line (CSV) or item number (JSON), and nothing is loaded until the whole file is right.

:func:`due_for_retirement` says which packs should leave service, from what the hub has seen of them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kiosk.core.battery_registry import MAX_PACKS, NAME_PATTERN, valid_pack_id

MAX_FILE_BYTES = 32 * 1024 * 1024
"""Largest registry file read (a city's 200,000 packs take about 12 MB of CSV)."""
REQUIRED = ("battery_id", "model", "chemistry", "commissioned")
COLUMNS = (*REQUIRED, "retired")
MAX_ERRORS = 20
"""How many mistakes one load reports before it stops listing them."""
_NAME = re.compile(NAME_PATTERN)

DEFAULT_SOH_FLOOR_PCT = 70.0
"""A pack whose lowest reported state of health is below this (%) is due for retirement (stations refuse it too)."""
DEFAULT_MAX_CYCLES = 1000
"""A pack past this many charge cycles is due (e-bike NMC packs are rated 800-1,000 cycles to 80 %)."""
DEFAULT_MAX_TEMP_C = 60.0
"""A pack that was ever seen at or above this (°C, the stations' alarm limit) is due for inspection."""


class RegistryFileError(ValueError):
    """A registry file that cannot be loaded, with every mistake found (line or item numbers)."""


@dataclass(frozen=True)
class PackRecord:
    """One pack of the registry."""

    battery_id: str
    model: str
    chemistry: str
    commissioned: date
    retired: date | None = None


def read_registry_file(path: Path) -> list[PackRecord]:
    """The packs in a CSV or JSON registry file (by its suffix; ``.json`` or else CSV); see the module doc."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RegistryFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise RegistryFileError(f"{path} has {size} bytes; a registry file may have at most {MAX_FILE_BYTES}")
    with path.open("rb") as fp:
        raw = fp.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise RegistryFileError(f"{path} grew past {MAX_FILE_BYTES} bytes while it was read")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegistryFileError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    if path.suffix.lower() == ".json":
        return parse_registry_json(text)
    return parse_registry_csv(text)


def parse_registry_csv(text: str) -> list[PackRecord]:
    """The packs of CSV text with a header row; :class:`RegistryFileError` listing every mistake."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RegistryFileError("the file is empty: a header row is needed") from None
    except csv.Error as exc:
        raise RegistryFileError(f"line 1: {exc}") from None
    names = [h.strip() for h in header]
    _check_names(names, "column", "line 1")
    items: list[tuple[str, Mapping[str, Any]]] = []
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                items.append((where, {"__cells__": f"has {len(row)} cells, the header has {len(names)}"}))
                continue
            items.append((where, dict(zip(names, row, strict=True))))
    except csv.Error as exc:
        raise RegistryFileError(f"line {reader.line_num}: {exc}") from None
    return _records(items)


def parse_registry_json(text: str) -> list[PackRecord]:
    """The packs of JSON text (a list, or ``{"batteries": [...]}``); :class:`RegistryFileError` otherwise."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryFileError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(data, dict):
        extra = sorted(set(data) - {"batteries"})
        if extra:
            raise RegistryFileError(f"unknown key(s) {', '.join(map(repr, extra))}: the file holds only 'batteries'")
        data = data.get("batteries")
    if not isinstance(data, list):
        raise RegistryFileError('the file must be a list of packs, or {"batteries": [...]}')
    items: list[tuple[str, Mapping[str, Any]]] = []
    problems: list[str] = []
    for number, item in enumerate(data, start=1):
        where = f"item {number}"
        if not isinstance(item, dict):
            problems.append(f"{where}: a pack is an object with {', '.join(REQUIRED)}")
            continue
        try:
            _check_names(list(item), "key", where)
        except RegistryFileError as exc:
            problems.append(str(exc))
            continue
        items.append((where, item))
    return _records(items, problems)


def _check_names(names: Sequence[str], what: str, where: str) -> None:
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise RegistryFileError(
            f"{where}: unknown {what}(s) {', '.join(map(repr, unknown))}; the {what}s are {', '.join(COLUMNS)}"
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise RegistryFileError(f"{where}: missing {what}(s) {', '.join(missing)}")
    twice = sorted({n for n in names if list(names).count(n) > 1})
    if twice:
        raise RegistryFileError(f"{where}: {what}(s) {', '.join(twice)} given twice")


def _day(value: Any, name: str) -> date:
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
    raise ValueError(f"{name} {value!r} is not a day written YYYY-MM-DD")


def _text(value: Any, name: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
        raise ValueError(f"{name} {value!r} is not 1-64 letters, digits, spaces or _./+-")
    return value.strip()


def parse_pack(item: Mapping[str, Any]) -> PackRecord:
    """One pack from a row or object (its names already checked); ValueError naming the bad value."""
    if "__cells__" in item:
        raise ValueError(str(item["__cells__"]))
    pack = item["battery_id"]
    if not isinstance(pack, str) or not valid_pack_id(pack.strip()):
        raise ValueError(f"battery_id {pack!r} is not 2-32 letters, digits, '_', '.' or '-'")
    retired_value = item.get("retired")
    retired = None if retired_value in (None, "") else _day(retired_value, "retired")
    commissioned = _day(item["commissioned"], "commissioned")
    if retired is not None and retired < commissioned:
        raise ValueError(f"retired {retired} is before commissioned {commissioned}")
    return PackRecord(
        battery_id=pack.strip(),
        model=_text(item["model"], "model", _NAME),
        chemistry=_text(item["chemistry"], "chemistry", _NAME),
        commissioned=commissioned,
        retired=retired,
    )


def _records(items: Iterable[tuple[str, Mapping[str, Any]]], problems: list[str] | None = None) -> list[PackRecord]:
    problems = list(problems or [])
    out: list[PackRecord] = []
    first_line: dict[str, str] = {}
    for where, item in items:
        try:
            record = parse_pack(item)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if record.battery_id in first_line:
            problems.append(f"{where}: battery {record.battery_id} is already on {first_line[record.battery_id]}")
            continue
        first_line[record.battery_id] = where
        out.append(record)
    if len(out) > MAX_PACKS:
        problems.append(f"{len(out)} packs: a registry holds at most {MAX_PACKS}")
    if problems:
        shown = problems[:MAX_ERRORS]
        more = f"\n… and {len(problems) - MAX_ERRORS} more" if len(problems) > MAX_ERRORS else ""
        raise RegistryFileError(f"{len(problems)} mistake(s), nothing was loaded:\n" + "\n".join(shown) + more)
    return out


# --- what the hub has seen of a pack, and which are due ----------------------------------------------


@dataclass(frozen=True)
class PackSeen:
    """What the hub worked out from the readings stations sent of one pack."""

    battery_id: str
    last_seen: datetime
    last_station: str
    soh_pct: float | None
    """The lowest state of health any station reported (the BMS's own figure: a pack does not heal)."""
    cycles: int | None
    """The highest cycle count any station reported (the counter does not run back)."""
    max_temp_c: float | None
    """The hottest temperature in any reading the hub received (computed here, not a station's claim)."""
    max_temp_at: datetime | None
    readings: int


@dataclass(frozen=True)
class Limits:
    """When a pack is due for retirement."""

    soh_floor_pct: float = DEFAULT_SOH_FLOOR_PCT
    max_cycles: int = DEFAULT_MAX_CYCLES
    max_temp_c: float = DEFAULT_MAX_TEMP_C


@dataclass(frozen=True)
class DuePack:
    """A pack that should leave service, and every reason why."""

    battery_id: str
    reasons: tuple[str, ...]
    record: PackRecord | None
    seen: PackSeen | None


def due_reasons(record: PackRecord | None, seen: PackSeen | None, limits: Limits, registry_in_use: bool) -> list[str]:
    """Why a pack is due for retirement (empty: it is not)."""
    reasons: list[str] = []
    if seen is None:
        return reasons
    if record is not None and record.retired is not None and seen.last_seen.date() > record.retired:
        reasons.append(
            f"retired on {record.retired} but seen in service at {seen.last_station} on {seen.last_seen:%Y-%m-%d}"
        )
    if record is None and registry_in_use:
        reasons.append(f"not in the registry but seen at {seen.last_station} on {seen.last_seen:%Y-%m-%d}")
    if record is not None and record.retired is not None:
        return reasons  # already retired: its wear no longer matters
    if seen.soh_pct is not None and seen.soh_pct < limits.soh_floor_pct:
        reasons.append(f"state of health {seen.soh_pct:g} % is below {limits.soh_floor_pct:g} %")
    if seen.cycles is not None and seen.cycles > limits.max_cycles:
        reasons.append(f"{seen.cycles} cycles, more than {limits.max_cycles}")
    if seen.max_temp_c is not None and seen.max_temp_c >= limits.max_temp_c:
        when = f" on {seen.max_temp_at:%Y-%m-%d}" if seen.max_temp_at is not None else ""
        reasons.append(f"reached {seen.max_temp_c:g} °C{when} (limit {limits.max_temp_c:g} °C)")
    return reasons


def due_for_retirement(records: Mapping[str, PackRecord], seen: Iterable[PackSeen], limits: Limits) -> list[DuePack]:
    """Packs due for retirement, by id; only packs the hub has seen can be (their wear is known)."""
    registry_in_use = bool(records)
    out = []
    for pack in seen:
        record = records.get(pack.battery_id)
        reasons = due_reasons(record, pack, limits, registry_in_use)
        if reasons:
            out.append(DuePack(pack.battery_id, tuple(reasons), record, pack))
    return sorted(out, key=lambda d: d.battery_id)
