"""``kiosk ui ARGS``: the touchscreen app, with its own options (Kivy is imported only when it runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import resources

from kiosk.core.config import DEFAULT_CONFIG_PATH
from kiosk.core.errors import KioskError


def run_ui(argv: Sequence[str]) -> int:
    """``kiosk ui ARGS``: the touchscreen app (a client of the running kiosk-core); its own options.

    Without ``--config``, on a machine without the station config, the app goes to the simulated station
    running from ``$KIOSK_SIM_DIR`` (default ``~/.local/state/kiosk-sim``) in an 800x480 window with the mouse;
    when none runs it says so and exits 2.
    """
    words = list(argv)
    asks_help = any(word in ("-h", "--help") for word in words)
    names_config = any(word == "--config" or word.startswith("--config=") for word in words)
    if asks_help or names_config or DEFAULT_CONFIG_PATH.exists():
        return _ui_main(words)
    from kiosk.sim.session import UI_WINDOW, answering_sim

    try:
        sim = answering_sim()
    except KioskError as exc:
        print(f"kiosk ui: there is no station config at {DEFAULT_CONFIG_PATH}, and {exc}", file=sys.stderr)
        return 2
    found = ["--api-url", sim.url, "--token-file", str(sim.ui_token_file), "--window", UI_WINDOW, "--mouse"]
    print(f"kiosk ui: the simulated station at {sim.url}", file=sys.stderr)
    with resources.as_file(resources.files("kiosk.sim").joinpath("sim.toml")) as built_in:
        return _ui_main(["--config", str(built_in), *found, *words])  # later options win: the user's own


def _ui_main(argv: list[str]) -> int:
    from kiosk.ui.main import main as ui_main  # Kivy is imported only here

    return ui_main(argv)


def add_ui_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``kiosk ui`` in ``--help`` (main() hands ``kiosk ui …`` to :func:`run_ui`)."""
    # Listed for --help; `kiosk ui …` is handed to the app's own parser in main() (see `kiosk ui --help`).
    sub.add_parser("ui", help="the touchscreen app riders use (needs the ui extra; kiosk ui --help)", add_help=False)
