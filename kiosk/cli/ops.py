"""The operations commands of ``kiosk``: ``doctor``, ``install`` and ``uninstall`` (see :func:`add_ops_commands`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kiosk.core.config import DEFAULT_CONFIG_PATH
from kiosk.core.errors import KioskError
from kiosk.ops.install import UI_USER, USER, HostSystem, Installer, Layout, summary


def cmd_doctor(args: argparse.Namespace) -> int:
    """``kiosk doctor``: check this machine for running the station."""
    from kiosk.ops.doctor import doctor

    return doctor(Path(args.config), probe=args.probe)


def _installer(args: argparse.Namespace) -> Installer:
    root = Path(args.root).resolve()
    if root == Path("/") and os.geteuid() != 0:
        raise KioskError("installing into this system needs root: run it with sudo (or use --root DIR)")
    defaults = Layout()
    layout = Layout(
        root=root,
        source=Path(args.source).resolve() if args.source else defaults.source,
        venv=Path(args.venv),
        config_dir=Path(args.config_dir),
        data_dir=Path(args.data_dir),
    )
    station = not args.hub_only
    hub = args.hub or args.hub_only
    token = getattr(args, "hub_token_file", None)
    return Installer(
        layout,
        HostSystem(root),
        station=station,
        hub=hub,
        systemctl=not args.no_systemctl,
        hub_token_file=Path(token) if token else None,
    )


def cmd_install(args: argparse.Namespace) -> int:
    """``kiosk install``: user, folders, config, token, udev rules, units (apt and the venv: install.sh)."""
    for line in summary(_installer(args).install()):
        print(line)
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    """``kiosk uninstall``: remove the units and udev rules; config, tokens and data stay."""
    for kept in _installer(args).uninstall():
        print(f"kept {kept} (remove it yourself if you mean to)")
    if not args.hub_only:
        print(f"kept the users {USER} and {UI_USER} ('userdel {UI_USER}; userdel {USER}' removes them)")
    return 0


def _install_options(p: argparse.ArgumentParser) -> None:
    defaults = Layout()
    p.add_argument("--root", default="/", help="install into this folder instead of the running system (tests)")
    p.add_argument(
        "--source", default=None, help=f"folder of the unit files and udev rules (default {defaults.source})"
    )
    p.add_argument("--venv", default=str(defaults.venv), help=f"the virtual environment (default {defaults.venv})")
    p.add_argument("--config-dir", default=str(defaults.config_dir), help=f"(default {defaults.config_dir})")
    p.add_argument(
        "--data-dir", default=str(defaults.data_dir), help=f"persistent, writable (default {defaults.data_dir})"
    )
    p.add_argument("--hub", action="store_true", help="also install the city hub's unit")
    p.add_argument("--hub-only", action="store_true", help="only the city hub's unit (a server, not a station)")
    p.add_argument("--no-systemctl", action="store_true", help="do not run systemctl or udevadm")


def add_ops_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``doctor``, ``install`` and ``uninstall`` to the ``kiosk`` command's subparsers."""
    p = sub.add_parser("doctor", help="check this Pi for running the station: config, ports, GPIO, disk, hub…")
    p.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help=f"config file (default {DEFAULT_CONFIG_PATH})")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also ask the lock boards for their status (never an unlock) and say which board profile answers",
    )
    p.set_defaults(func=cmd_doctor)
    p = sub.add_parser("install", help="install the station as systemd services (after systemd/install.sh)")
    _install_options(p)
    p.add_argument(
        "--hub-token-file",
        default=None,
        help="the station's token from 'kiosk-hub station add --token-file': installed as [sync] token_file (0600)",
    )
    p.set_defaults(func=cmd_install)
    p = sub.add_parser("uninstall", help="remove the services; config, tokens and data stay")
    _install_options(p)
    p.set_defaults(func=cmd_uninstall)
