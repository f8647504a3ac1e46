"""``kiosk sync now|status``: through the running kiosk-core's local API (it owns the database)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.cli.common import config_arg
from kiosk.core.config import DEFAULT_CONFIG_PATH
from kiosk.core.errors import KioskError


def _local_api(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    from kiosk.sim.running import local_api  # a running `kiosk sim` is found where the config's token is not

    url, token = local_api(Path(args.config), default_path=args.config == str(DEFAULT_CONFIG_PATH))
    return url, {"Authorization": f"Bearer {token}"}


def _ask_core(method: str, path: str, args: argparse.Namespace, timeout_s: float) -> dict[str, object]:
    import requests

    base, headers = _local_api(args)
    try:
        answer = requests.request(method, base + path, headers=headers, timeout=timeout_s)
    except requests.RequestException as exc:
        raise KioskError(f"kiosk-core is not answering at {base} ({type(exc).__name__}); is it running?") from exc
    if answer.status_code != 200:
        raise KioskError(f"kiosk-core answered HTTP {answer.status_code}: {answer.text[:200]}")
    result: dict[str, object] = answer.json()
    return result


def cmd_sync_now(args: argparse.Namespace) -> int:
    """``kiosk sync now``: ask the running kiosk-core to sync at once (it owns the database)."""
    result = _ask_core("POST", "/api/sync/now", args, timeout_s=120)
    if not result.get("ran"):
        print(
            f"kiosk: nothing was sent: {result.get('reason') or 'the sync round did not finish in time'}",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if not result.get("last_error") else 1


def cmd_sync_status(args: argparse.Namespace) -> int:
    """``kiosk sync status``: backlog, last success, last error."""
    status = _ask_core("GET", "/api/status", args, timeout_s=10)
    print(json.dumps(status.get("sync", {}), indent=2, ensure_ascii=False))
    return 0


def add_sync_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``kiosk sync now|status``."""
    p = sub.add_parser("sync", help="sync with the city hub (through the running kiosk-core)")
    ssub = p.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    c = ssub.add_parser("now", help="sync at once and show the result")
    config_arg(c)
    c.set_defaults(func=cmd_sync_now)
    c = ssub.add_parser("status", help="backlog, oldest unsynced event, last success and last error")
    config_arg(c)
    c.set_defaults(func=cmd_sync_status)
