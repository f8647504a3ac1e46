"""``kiosk db info|check|export``: look into the station database, read-only, beside a running station."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import config_arg
from kiosk.core.clock import SystemClock
from kiosk.core.config import load_config
from kiosk.core.errors import KioskError

if TYPE_CHECKING:
    from kiosk.store import Store


def _open_store(args: argparse.Namespace) -> Store:
    from kiosk.store import Store

    config = load_config(Path(args.config))
    path = config.database_path()
    if not path.exists():
        raise KioskError(f"there is no database at {path} yet (the station has not run with this config)")
    # Read-only: never migrate or move aside a database that a running kiosk-core may be using.
    return Store.open_readonly(path, station_id=config.station.id, clock=SystemClock())


def cmd_db_info(args: argparse.Namespace) -> int:
    """``kiosk db info``."""
    store = _open_store(args)
    try:
        print(json.dumps(store.stats().as_dict(), indent=2, ensure_ascii=False, default=str))
    finally:
        store.close()
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    """``kiosk db check``: full integrity check."""
    store = _open_store(args)
    try:
        result = store.integrity_check()
    finally:
        store.close()
    print(f"integrity check: {result}")
    return 0 if result == "ok" else 1


def cmd_db_export(args: argparse.Namespace) -> int:
    """``kiosk db export``: events as JSON lines."""
    store = _open_store(args)
    try:
        if args.out == "-":
            count = store.export_jsonl(sys.stdout, since_seq=args.since)
        else:
            with open(args.out, "w", encoding="utf-8") as fp:
                count = store.export_jsonl(fp, since_seq=args.since)
    finally:
        store.close()
    print(f"exported {count} events", file=sys.stderr)
    return 0


def add_db_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``kiosk db info|check|export``."""
    p = sub.add_parser("db", help="look into the station database")
    dsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    d = dsub.add_parser("info", help="figures: events, backlog, schema version, size")
    config_arg(d)
    d.set_defaults(func=cmd_db_info)
    d = dsub.add_parser("check", help="full integrity check")
    config_arg(d)
    d.set_defaults(func=cmd_db_check)
    d = dsub.add_parser("export", help="export events as JSON lines")
    config_arg(d)
    d.add_argument("--since", type=int, default=0, help="only events with seq greater than this")
    d.add_argument("--out", default="-", help="file to write (default: standard output)")
    d.set_defaults(func=cmd_db_export)
