"""Where a running ``kiosk sim`` is, for the CLI commands that talk to a running kiosk-core.

``kiosk sim`` keeps its database, token and staff accounts under its own data folder (``--data-dir``,
default ``$KIOSK_SIM_DIR`` or ``~/.local/state/kiosk-sim``) and may listen on another port than its config
says. Once its API listens it writes ``running.json`` there (its station id, URL, token file, process id);
``kiosk sync now|status`` read it when the config's own token file does not exist, so they work against a
simulated station given its config (``--config kiosk/sim/sim.toml``) or no config at all. A file left by a
sim that is no longer running is ignored (its process is gone).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.config import Config, load_config
from kiosk.core.errors import KioskError
from kiosk.core.secrets import read_secret_file

SIM_DIR_ENV = "KIOSK_SIM_DIR"
DEFAULT_SIM_DIR = "~/.local/state/kiosk-sim"
RUNNING_FILE = "running.json"
MAX_RUNNING_BYTES = 4096
"""``running.json`` is a few hundred bytes; anything bigger is not ours and is not read."""


def sim_dir() -> Path:
    """The data folder ``kiosk sim`` uses unless told otherwise (``$KIOSK_SIM_DIR`` or the default)."""
    return Path(os.environ.get(SIM_DIR_ENV) or DEFAULT_SIM_DIR).expanduser()


@dataclass(frozen=True)
class RunningSim:
    """What a running ``kiosk sim`` says about itself."""

    station_id: str
    url: str
    """Its local API, e.g. ``http://127.0.0.1:8080``."""
    ui_token_file: Path
    pid: int


def announce(config: Config, url: str) -> Path:
    """Write ``running.json`` into the sim's data folder (atomically: a reader never sees half a file)."""
    folder = config.station.data_dir
    target = folder / RUNNING_FILE
    record = {
        "station_id": config.station.id,
        "url": url,
        "ui_token_file": str(config.api.ui_token_file),
        "pid": os.getpid(),
    }
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    partial.replace(target)
    return target


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def find_running_sim(folder: Path | None = None) -> RunningSim | None:
    """The sim running from ``folder`` (default :func:`sim_dir`), or None when none is (or the file is bad)."""
    path = (folder or sim_dir()) / RUNNING_FILE
    try:
        with path.open("rb") as fp:
            raw = fp.read(MAX_RUNNING_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_RUNNING_BYTES:
        return None
    try:
        data = json.loads(raw)
        sim = RunningSim(
            station_id=str(data["station_id"]),
            url=str(data["url"]),
            ui_token_file=Path(str(data["ui_token_file"])),
            pid=int(data["pid"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    return sim if _alive(sim.pid) else None


def _no_core(config: Config | None, folder: Path) -> KioskError:
    where = f"the UI token file {config.api.ui_token_file} does not exist" if config else "no config file"
    return KioskError(
        f"{where}: kiosk-core writes it when it starts; is kiosk-core running with this config? "
        f"No simulated station ('kiosk sim') is running from {folder} either "
        f"(a sim started with --data-dir DIR is found with {SIM_DIR_ENV}=DIR)."
    )


def local_api(config_path: Path, *, default_path: bool) -> tuple[str, str]:
    """The running kiosk-core's local API URL and the UI token to use with it.

    The config's own token file when it exists (a production station); else a running sim of the same
    station id; else — only when no config was named and the default one is missing — any running sim.
    Raises :class:`KioskError` saying what to start otherwise.
    """
    folder = sim_dir()
    if default_path and not config_path.exists():
        sim = find_running_sim(folder)
        if sim is None:
            raise KioskError(
                f"config file {config_path} does not exist (name one with --config), and no simulated station "
                f"('kiosk sim') is running from {folder}; is kiosk-core running?"
            )
        return sim.url, read_secret_file(sim.ui_token_file)
    config = load_config(config_path)
    token_file = config.api.ui_token_file
    if token_file.exists():
        return config.api.local_url(), read_secret_file(token_file)
    sim = find_running_sim(folder)
    if sim is not None and sim.station_id == config.station.id:
        return sim.url, read_secret_file(sim.ui_token_file)
    raise _no_core(config, folder)
