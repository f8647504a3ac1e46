"""``kiosk ui``: start the touchscreen app for the station described by the config file."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from kiosk.core.config import DEFAULT_CONFIG_PATH, load_config
from kiosk.core.errors import KioskError
from kiosk.ui.i18n import Language
from kiosk.ui.settings import check_token_file, from_config, parse_size


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``kiosk ui``."""
    parser = argparse.ArgumentParser(prog="kiosk ui", description="The touchscreen app (a client of kiosk-core).")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, help="station config (TOML)")
    parser.add_argument("--api-url", help="kiosk-core's local API (default: from the config's [api])")
    parser.add_argument(
        "--config-base",
        type=Path,
        help="folder that relative paths in the config are relative to (default: the config file's own;"
        " kiosk-ui.service reads a copy of the config, so it says /etc/kiosk)",
    )
    parser.add_argument("--token-file", type=Path, help="the UI token file (default: api.ui_token_file)")
    parser.add_argument("--window", metavar="WxH", help="a window of this size instead of fullscreen (e.g. 800x480)")
    parser.add_argument("--mouse", action="store_true", help="use the mouse (desktop, Xvfb) instead of the touchscreen")
    parser.add_argument("--lang", choices=[lang.value for lang in Language], help="starting language")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until its window closes; configuration mistakes are printed plainly (exit 2)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = from_config(load_config(args.config, args.config_base))
        if args.api_url:
            settings = replace(settings, api_url=args.api_url)
        if args.token_file:
            settings = replace(settings, token_file=args.token_file)
        if args.window:
            settings = replace(settings, size=parse_size(args.window), fullscreen=False)
        if args.mouse or args.window:
            settings = replace(settings, input="mouse")
        if args.lang:
            settings = replace(settings, language=Language(args.lang))
        from kiosk.ui.bootstrap import prepare

        prepare(settings)
        check_token_file(settings.token_file)
    except KioskError as exc:
        print(f"kiosk ui: {exc}", file=sys.stderr)
        return 2
    from kiosk.ui.app import KioskApp
    from kiosk.ui.client import CoreClient

    def link(listener: object, post: object) -> CoreClient:
        return CoreClient(settings.api_url, settings.token_file, listener, post)  # type: ignore[arg-type]

    KioskApp(settings, link).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
