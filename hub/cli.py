"""The ``kiosk-hub`` command (the city server). Serving, stations and codes arrive with the sync issue."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kiosk import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="kiosk-hub", description="The city hub that stations sync to.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("version", help="print the version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kiosk-hub``."""
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"kiosk-hub {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
