"""What the command groups of ``kiosk`` share: the logging set-up and the ``--config`` option."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from kiosk.core.config import DEFAULT_CONFIG_PATH


def setup_logging(level: str) -> None:
    """Log to standard error at ``level``; under systemd without the time (journald stamps it itself)."""
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if os.environ.get("INVOCATION_ID")
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.basicConfig(level=getattr(logging, level.upper()), format=fmt, stream=sys.stderr, force=True)


def config_arg(p: argparse.ArgumentParser) -> None:
    """The station config option (default the installed one)."""
    p.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help=f"config file (default {DEFAULT_CONFIG_PATH})")
