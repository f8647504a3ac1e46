"""The ``kiosk`` command: one module per command group (run, sim, ui, config, db, sync, codes, ops, admin)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from kiosk import __version__
from kiosk.cli.config import add_config_commands
from kiosk.cli.db import add_db_commands
from kiosk.cli.run import add_run_command
from kiosk.cli.sim import add_sim_command
from kiosk.cli.sync import add_sync_commands
from kiosk.cli.ui import add_ui_command, run_ui
from kiosk.core.errors import KioskError


def cmd_version(args: argparse.Namespace) -> int:
    """``kiosk version``."""
    print(f"kiosk {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and for ``--help`` documentation)."""
    parser = argparse.ArgumentParser(prog="kiosk", description="Controller of an unattended rider rest station.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_run_command(sub)
    add_sim_command(sub)
    add_config_commands(sub)
    add_db_commands(sub)
    add_sync_commands(sub)
    add_ui_command(sub)

    from kiosk.cli.admin import add_admin_commands
    from kiosk.cli.codes import add_codes_commands  # cryptography and segno: only for these commands
    from kiosk.cli.ops import add_ops_commands

    add_codes_commands(sub)
    add_ops_commands(sub)
    add_admin_commands(sub)

    p = sub.add_parser("version", help="print the version")
    p.set_defaults(func=cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kiosk`` command; errors are printed in plain words, exit code 2."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["ui"]:
        return run_ui(words[1:])
    args = build_parser().parse_args(words)
    try:
        return int(args.func(args))
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
