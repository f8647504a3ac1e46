"""The ``kiosk`` command: run the station, run a simulated one, check config, look into the database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import __version__
from kiosk.core.clock import SystemClock
from kiosk.core.config import DEFAULT_CONFIG_PATH, Config, load_config, parse_config
from kiosk.core.config_example import example_toml
from kiosk.core.errors import KioskError
from kiosk.sim.running import DEFAULT_SIM_DIR, SIM_DIR_ENV
from kiosk.sim.session import UiMode

if TYPE_CHECKING:
    from kiosk.store import Store

log = logging.getLogger("kiosk")


def _setup_logging(level: str) -> None:
    # Under systemd, journald stamps the time itself.
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if os.environ.get("INVOCATION_ID")
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.basicConfig(level=getattr(logging, level.upper()), format=fmt, stream=sys.stderr, force=True)


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


def cmd_run(args: argparse.Namespace) -> int:
    """``kiosk run``: the production station."""
    from kiosk.app.run import run_station  # the server stack is only needed here
    from kiosk.app.station import Station

    config = load_config(Path(args.config))
    _setup_logging(config.log_level)
    return asyncio.run(run_station(Station(config, SystemClock())))


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
    _setup_logging(config.log_level)
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


def _open_store(args: argparse.Namespace) -> Store:
    from kiosk.store import Store

    config = load_config(Path(args.config))
    path = config.database_path()
    if not path.exists():
        raise KioskError(f"there is no database at {path} yet (the station has not run with this config)")
    # Read-only: never migrate or move aside a database that a running kiosk-core may be using.
    return Store.open_readonly(path, station_id=config.station.id, clock=SystemClock())


def cmd_db_info(args: argparse.Namespace) -> int:
    """``kiosk db info``."""
    store = _open_store(args)
    try:
        print(json.dumps(store.stats().as_dict(), indent=2, ensure_ascii=False, default=str))
    finally:
        store.close()
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    """``kiosk db check``: full integrity check."""
    store = _open_store(args)
    try:
        result = store.integrity_check()
    finally:
        store.close()
    print(f"integrity check: {result}")
    return 0 if result == "ok" else 1


def cmd_db_export(args: argparse.Namespace) -> int:
    """``kiosk db export``: events as JSON lines."""
    store = _open_store(args)
    try:
        if args.out == "-":
            count = store.export_jsonl(sys.stdout, since_seq=args.since)
        else:
            with open(args.out, "w", encoding="utf-8") as fp:
                count = store.export_jsonl(fp, since_seq=args.since)
    finally:
        store.close()
    print(f"exported {count} events", file=sys.stderr)
    return 0


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


def cmd_version(args: argparse.Namespace) -> int:
    """``kiosk version``."""
    print(f"kiosk {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and for ``--help`` documentation)."""
    parser = argparse.ArgumentParser(prog="kiosk", description="Controller of an unattended rider rest station.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config", default=str(DEFAULT_CONFIG_PATH), help=f"config file (default {DEFAULT_CONFIG_PATH})"
        )

    p = sub.add_parser("run", help="run the station (production)")
    config_arg(p)
    p.set_defaults(func=cmd_run)

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

    p = sub.add_parser("config", help="check a config file or print an example")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    c = csub.add_parser("check", help="explain every mistake in a config file")
    c.add_argument("file", nargs="?", default=str(DEFAULT_CONFIG_PATH))
    c.set_defaults(func=cmd_config_check)
    c = csub.add_parser("example", help="print a complete commented example config")
    c.set_defaults(func=cmd_config_example)

    p = sub.add_parser("db", help="look into the station database")
    dsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    d = dsub.add_parser("info", help="figures: events, backlog, schema version, size")
    config_arg(d)
    d.set_defaults(func=cmd_db_info)
    d = dsub.add_parser("check", help="full integrity check")
    config_arg(d)
    d.set_defaults(func=cmd_db_check)
    d = dsub.add_parser("export", help="export events as JSON lines")
    config_arg(d)
    d.add_argument("--since", type=int, default=0, help="only events with seq greater than this")
    d.add_argument("--out", default="-", help="file to write (default: standard output)")
    d.set_defaults(func=cmd_db_export)

    p = sub.add_parser("sync", help="sync with the city hub (through the running kiosk-core)")
    ssub = p.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    c = ssub.add_parser("now", help="sync at once and show the result")
    config_arg(c)
    c.set_defaults(func=cmd_sync_now)
    c = ssub.add_parser("status", help="backlog, oldest unsynced event, last success and last error")
    config_arg(c)
    c.set_defaults(func=cmd_sync_status)

    # Listed for --help; `kiosk ui …` is handed to the app's own parser in main() (see `kiosk ui --help`).
    sub.add_parser("ui", help="the touchscreen app riders use (needs the ui extra; kiosk ui --help)", add_help=False)

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
