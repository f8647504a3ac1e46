"""``kiosk run``: the production station."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from kiosk.cli.common import config_arg, setup_logging
from kiosk.core.clock import SystemClock
from kiosk.core.config import load_config


def cmd_run(args: argparse.Namespace) -> int:
    """``kiosk run``: the production station."""
    from kiosk.app.run import run_station  # the server stack is only needed here
    from kiosk.app.station import Station

    config = load_config(Path(args.config))
    setup_logging(config.log_level)
    return asyncio.run(run_station(Station(config, SystemClock())))


def add_run_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``kiosk run``."""
    p = sub.add_parser("run", help="run the station (production)")
    config_arg(p)
    p.set_defaults(func=cmd_run)
