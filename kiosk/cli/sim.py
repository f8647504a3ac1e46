"""``kiosk sim``: a simulated station on this machine, with its staff account and the touchscreen beside it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from importlib import resources
from pathlib import Path

from kiosk.cli.common import setup_logging
from kiosk.core.clock import SystemClock
from kiosk.core.config import Config, load_config, parse_config
from kiosk.core.errors import KioskError
from kiosk.sim.running import DEFAULT_SIM_DIR, SIM_DIR_ENV
from kiosk.sim.session import UiMode


def _sim_config(args: argparse.Namespace) -> Config:
    if args.config:
        base = load_config(Path(args.config))
    else:
        text = resources.files("kiosk.sim").joinpath("sim.toml").read_text(encoding="utf-8")
        base = parse_config(text, source="built-in sim.toml")
    data_dir = Path(args.data_dir).expanduser().resolve()
    station = base.station.model_copy(update={"data_dir": data_dir})
    api_updates: dict[str, object] = {"ui_token_file": data_dir / "ui-token", "users_file": data_dir / "users.json"}
    if args.port is not None:
        api_updates["port"] = args.port
    if args.host is not None:
        api_updates["host"] = args.host
    api = base.api.model_copy(update=api_updates)
    updates: dict[str, object] = {"station": station, "api": api}
    if args.hub is not None:
        token_file = Path(args.hub_token_file).expanduser() if args.hub_token_file else data_dir / "hub-token"
        sync = {**base.sync.model_dump(), "enabled": True, "hub_url": args.hub.rstrip("/"), "token_file": token_file}
        try:
            updates["sync"] = base.sync.model_validate(sync)
        except ValueError as exc:
            raise KioskError(f"--hub {args.hub}: not a hub address like http://127.0.0.1:8800 ({exc})") from None
        if not token_file.exists():
            raise KioskError(
                f"the hub token file {token_file} does not exist: register the station at the hub with"
                f" 'kiosk-hub station add {base.station.id} --name NAME --token-file {token_file}'"
            )
    return base.model_copy(update=updates)


def _sim_admin_password(config: Config) -> str:
    """The simulated station's staff account 'admin', made at first start; its password kept beside it.

    The password is a few pronounceable words (:func:`kiosk.core.secrets.typeable_password`), to be read off
    the terminal and typed on a phone. One left by an older simulator (43 random characters), or a lost
    password file, is replaced by a new one.
    """
    from kiosk.api.users import UserStore
    from kiosk.core.secrets import ensure_secret_file, read_secret_file, typeable_password

    secret = config.station.data_dir / "admin-password"
    users = UserStore(config.api.users_file)
    if "admin" in users.names():
        with contextlib.suppress(KioskError):
            kept = read_secret_file(secret)
            if _typeable(kept):
                return kept
        secret.unlink(missing_ok=True)
        password = ensure_secret_file(secret, typeable_password)
        users.set_password("admin", password)
        return password
    secret.unlink(missing_ok=True)
    password = ensure_secret_file(secret, typeable_password)
    users.add("admin", password)
    return password


def _typeable(password: str) -> bool:
    return all(word.isalpha() and word.islower() and word.isascii() for word in password.split(" "))


def cmd_sim(args: argparse.Namespace) -> int:
    """``kiosk sim``: a simulated station on this machine, its cabinet behind real ptys and mock pins.

    Without a hub (``[sync] enabled = false``) the demo city (:mod:`kiosk.sim.city`) stands in for the
    hub's bundle: applied at start through the same path, with the goods bays stocked. The touchscreen app
    comes up beside it where ``--ui`` says (:class:`kiosk.sim.session.SimTouchscreen`).
    """
    from kiosk.app.run import run_station
    from kiosk.app.station import Station
    from kiosk.core.secrets import ensure_secret_file
    from kiosk.devices.sim.cabinet import SimCabinet
    from kiosk.sim.city import DEFAULT_STOCK, demo_balances, goods_bays, seed_sim_station
    from kiosk.sim.codes import SimCodeIssuer
    from kiosk.sim.running import announce
    from kiosk.sim.session import SimTouchscreen, UiMode

    config = _sim_config(args)
    setup_logging(config.log_level)
    data_dir = config.station.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    config_file = Path(args.config).resolve() if args.config else None
    with resources.as_file(resources.files("kiosk.sim").joinpath("sim.toml")) as built_in:
        mode = UiMode.OFF if args.no_ui else UiMode(args.ui)
        touchscreen = SimTouchscreen(mode, config_file or built_in, config.api.ui_token_file)
        touchscreen.check()
        token = ensure_secret_file(config.api.ui_token_file)
        sim = SimCabinet(args.cabinet, config.hardware, data_dir / "devices", seed=args.seed)
        clock = SystemClock()
        codes = SimCodeIssuer(data_dir / "codes", clock, demo_balances())
        station = Station(config, clock, sim=sim, sim_codes=codes)
        print(f"Simulated {args.cabinet} cabinet with {len(config.hardware.bays)} bays; its controls: /api/sim")
        if not config.sync.enabled:
            print('A rider code, scanned at once: POST /api/sim/codes {"rider_id": "R1001", "scan": true}')
        print(f"UI token (shown because this is a simulation): {token}", flush=True)
        sign_in = f"sign in as admin, password: {_sim_admin_password(config)}"

        def after_start(running: Station) -> None:
            announce(config, running.api.url)  # so `kiosk ui`, `kiosk sync status` etc. find this sim's port and token
            if not config.sync.enabled:
                try:
                    goods = seed_sim_station(running, [codes.key_entry()], packs=sim.registry_rows())
                except KioskError as exc:
                    print(f"kiosk: the demo city was not applied: {exc}", file=sys.stderr, flush=True)
                else:
                    stocked = ", ".join(f"bay {bay} {item}" for bay, item in sorted(goods.items())) or "no goods bays"
                    print(f"Demo city applied (no hub): services, nearby stations, points; stocked {stocked}")
            else:
                for bay in sorted(goods_bays(config.hardware.bays)):
                    running.rider.restock(bay, DEFAULT_STOCK, None)
                print(
                    f"Synced with the hub at {config.sync.hub_url}: its keys, content and points arrive with the"
                    " bundle; rider codes come from 'kiosk-hub codes issue' (the simulator's own are refused then)"
                )
            print(touchscreen.start(running.api.url), flush=True)
            riders = "riders the hub knows" if config.sync.enabled else "riders R1001 and R-demo have points"
            print(
                "Rider services: on the touchscreen's idle screen tap Services, My points or Feedback"
                f" ({riders}); staff see goods stock under {running.api.url}/devices",
                flush=True,
            )

        try:
            return asyncio.run(
                run_station(station, after_start=after_start, sign_in=sign_in, before_stop=touchscreen.close)
            )
        finally:
            touchscreen.close()


def add_sim_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``kiosk sim``."""
    p = sub.add_parser("sim", help="run a simulated station on this machine")
    p.add_argument("--config", default=None, help="config file (default: the built-in simulator config)")
    p.add_argument(
        "--data-dir",
        default=os.environ.get(SIM_DIR_ENV, DEFAULT_SIM_DIR),
        help="where the simulated station keeps its database and token (default ~/.local/state/kiosk-sim)",
    )
    p.add_argument("--host", default=None, help="address to listen on (default from config: 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port to listen on (default from config: 8080)")
    p.add_argument(
        "--cabinet",
        choices=["kerong", "8a80", "gpio"],
        default="kerong",
        help="which cabinet to simulate: Kerong or 8A/80 lock boards on RS-485, or GPIO relays (default kerong)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated cabinet's initial batteries")
    p.add_argument(
        "--hub", default=None, metavar="URL", help="sync with the city hub at URL (instead of the built-in demo city)"
    )
    p.add_argument(
        "--hub-token-file",
        default=None,
        metavar="FILE",
        help="the station's token for --hub (default: hub-token in the data dir; kiosk-hub station add writes it)",
    )
    p.add_argument(
        "--ui",
        choices=[mode.value for mode in UiMode],
        default=UiMode.AUTO.value,
        help="where the touchscreen app shows: 'auto' (a window when a display exists, default), 'window',"
        " 'xvfb' (a virtual display, to watch through VNC) or 'off'",
    )
    p.add_argument("--no-ui", action="store_true", help="the same as --ui off")
    p.set_defaults(func=cmd_sim)
