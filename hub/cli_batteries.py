"""``kiosk-hub batteries``: load the registry, list and retire packs, list the packs due for retirement."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path

from hub.batteries import (
    DEFAULT_MAX_CYCLES,
    DEFAULT_MAX_TEMP_C,
    DEFAULT_SOH_FLOOR_PCT,
    DuePack,
    Limits,
    read_registry_file,
)
from hub.storage import Storage

Handler = Callable[[Storage, argparse.Namespace], int]
Leaf = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]", str, Handler, str], argparse.ArgumentParser]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD") from None


def _load(storage: Storage, args: argparse.Namespace) -> int:
    records = read_registry_file(args.file)
    result = storage.load_batteries(records)
    in_service, retired = storage.battery_count()
    print(
        f"{len(records)} packs read: {result.added} added, {result.updated} updated, {result.unchanged} unchanged;"
        f" the registry holds {in_service} in service and {retired} retired. Stations get it with their next bundle."
    )
    if result.kept_retired:
        print(f"{result.kept_retired} pack(s) the file lists without a retirement day stay retired (retiring is final)")
    return 0


def _list(storage: Storage, args: argparse.Namespace) -> int:
    records = storage.batteries(in_service_only=args.in_service, limit=args.limit)
    for rec in records:
        retired = f"retired {rec.retired}" if rec.retired else "in service"
        print(f"{rec.battery_id:<32} {rec.model:<20} {rec.chemistry:<10} since {rec.commissioned}  {retired}")
    in_service, retired_count = storage.battery_count()
    print(f"{in_service} in service, {retired_count} retired")
    return 0


def _retire(storage: Storage, args: argparse.Namespace) -> int:
    day = args.on or storage.now().date()
    record = storage.retire_battery(args.id, day)
    if record.retired != day:
        print(f"battery {record.battery_id} was already retired on {record.retired}")
    else:
        print(f"battery {record.battery_id} retired from {day}; stations refuse it from their next bundle")
    return 0


def due_packs(storage: Storage, limits: Limits) -> list[DuePack]:
    """The packs due for retirement by what the hub has seen of them."""
    return storage.due_packs(limits)[0]


def _due(storage: Storage, args: argparse.Namespace) -> int:
    limits = Limits(soh_floor_pct=args.soh_floor, max_cycles=args.max_cycles, max_temp_c=args.max_temp)
    due = due_packs(storage, limits)
    for pack in due:
        print(f"{pack.battery_id}: " + "; ".join(pack.reasons))
    print(f"{len(due)} pack(s) due for retirement")
    return 0


def _show(storage: Storage, args: argparse.Namespace) -> int:
    record = storage.registry_records().get(args.id)
    if record is None:
        print(f"{args.id}: not in the registry")
    else:
        state = f"retired {record.retired}" if record.retired else "in service"
        print(f"{record.battery_id}: {record.model}, {record.chemistry}, commissioned {record.commissioned}, {state}")
    history = storage.battery_history(args.id, limit=args.limit)
    for h in history:
        soh = "-" if h.soh_pct is None else f"{h.soh_pct:g} %"
        cycles = "-" if h.cycles is None else str(h.cycles)
        temp = "-" if h.max_temp_c is None else f"{h.max_temp_c:g} °C"
        print(f"  {h.at:%Y-%m-%d %H:%M}  {h.station_id:<20} SoH {soh:<8} cycles {cycles:<6} hottest {temp}")
    if not history:
        print("  no station has reported it")
    return 0


def add_battery_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], leaf: Leaf) -> None:
    """Add ``batteries load/list/retire/due/show`` to the ``kiosk-hub`` parser."""
    group = sub.add_parser("batteries", help="the battery registry and packs due for retirement").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = leaf(group, "load", _load, "add or update packs from a CSV or JSON file (nothing loads if a line is wrong)")
    p.add_argument("file", type=Path, help="CSV with battery_id,model,chemistry,commissioned[,retired], or JSON")
    p = leaf(group, "list", _list, "list the registry's packs")
    p.add_argument("--in-service", action="store_true", help="leave retired packs out")
    p.add_argument("--limit", type=int, default=None, help="at most this many")
    p = leaf(group, "retire", _retire, "retire a pack (stations refuse it from their next bundle)")
    p.add_argument("id", help="the pack's id")
    p.add_argument("--on", type=_day, default=None, help="the day it leaves service (default: today)")
    p = leaf(group, "due", _due, "list packs due for retirement by what stations reported")
    dflt = " (default %(default)s)"
    p.add_argument("--soh-floor", type=float, default=DEFAULT_SOH_FLOOR_PCT, help="state of health floor, %%" + dflt)
    p.add_argument("--max-cycles", type=int, default=DEFAULT_MAX_CYCLES, help="most charge cycles" + dflt)
    p.add_argument("--max-temp", type=float, default=DEFAULT_MAX_TEMP_C, help="hottest temperature allowed, °C" + dflt)
    p = leaf(group, "show", _show, "a pack's registry entry and the readings the hub kept of it")
    p.add_argument("id")
    p.add_argument("--limit", type=int, default=20, help="at most this many readings (default 20)")
