"""``kiosk config check|example``: explain a config file's mistakes, or print a commented example."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.core.config import DEFAULT_CONFIG_PATH, load_config
from kiosk.core.config_example import example_toml


def cmd_config_check(args: argparse.Namespace) -> int:
    """``kiosk config check [FILE]``."""
    path = Path(args.file)
    config = load_config(path)
    bays = len(config.hardware.bays)
    for warning in config.deprecations:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{path}: OK — station {config.station.id}, cabinet {config.hardware.cabinet} with {bays} bays")
    return 0


def cmd_config_example(args: argparse.Namespace) -> int:
    """``kiosk config example``."""
    sys.stdout.write(example_toml())
    return 0


def add_config_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``kiosk config check|example``."""
    p = sub.add_parser("config", help="check a config file or print an example")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    c = csub.add_parser("check", help="explain every mistake in a config file")
    c.add_argument("file", nargs="?", default=str(DEFAULT_CONFIG_PATH))
    c.set_defaults(func=cmd_config_check)
    c = csub.add_parser("example", help="print a complete commented example config")
    c.set_defaults(func=cmd_config_example)
