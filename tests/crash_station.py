"""The station process the swap crash test kills: a real ``Station`` driving a cabinet served by another process.

Run as a script with ``sys.executable``:

``python tests/crash_station.py zygote``
    Imports the whole station once, then for every ``run <settings.json> <boot-id>`` line on stdin forks a
    worker that runs one station life. A fresh interpreter needs ~0.5 s to import FastAPI, uvicorn,
    pydantic and the drivers; a fork of this already-imported process starts a station in a fraction of
    that, so hundreds of kills fit in the test's budget. The zygote never opens a database, a port or a
    thread before forking (none of them survive a fork safely).

``python tests/crash_station.py run <settings.json> <boot-id>``
    One station life in this process, for trying it by hand.

The settings file (written by the test, see :func:`write_settings`) names the station's data folder,
the cabinet's ``hardware.json`` (``python -m kiosk.devices.sim.serve``), the rider-code key set, and short
time limits so that every wait of a swap ends within about a second.

Every line on stdout is one JSON object written with a single ``os.write`` shorter than PIPE_BUF, so lines
of the zygote and of its worker never interleave. ``k`` says what it is:

- ``started`` — the zygote forked worker ``pid``;
- ``ev`` — an event the station COMMITTED (written from the store's commit listener, the same hand-off
  that feeds the API's live stream): ``seq``, ``id``, ``type``, ``p`` (payload) and ``mono``;
- ``screen`` — the touchscreen feed changed: ``n``, ``name``, ``params``;
- ``error`` — the worker failed before or while running;
- ``exited`` — the zygote reaped the worker: ``code`` is its exit code, or minus the signal number.

The station is ready (recovery done, listening to the cabinet) at its ``station.started`` event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from kiosk.app.run import run_station
from kiosk.app.station import Station
from kiosk.core.clock import SystemClock
from kiosk.core.config import Config
from kiosk.core.events import EventRecord

PIPE_BUF = 4096
STATION_ID = "crash-swap"

POLICY: dict[str, Any] = {
    "charged_soc_pct": 95.0,
    "insert_timeout_s": 0.7,
    "collect_timeout_s": 0.7,
    "door_open_alarm_s": 0.3,
    "unlock_confirm_s": 0.5,
    "min_minutes_between_swaps": 0.0,
    "battery_id_pattern": r"^SH[0-9]{7}$",
    "max_bay_attempts": 2,
}
"""Short limits: every wait of a swap ends within about a second, so kills find swaps in every state."""

HARDWARE: dict[str, Any] = {
    "poll_s": 0.02,
    # Scripted riders open and shut the same bay many times a second; a real door never does.
    "door_flap_max_changes": 1000,
    "door_flap_window_s": 0.5,
}
SLOTS: dict[str, Any] = {"poll_s": 0.1}


def write_settings(path: Path, *, data_dir: Path, hardware_file: Path, keyset_file: Path) -> None:
    """Write the settings file a worker reads: where things are, and the time limits above."""
    settings = {
        "data_dir": str(data_dir),
        "hardware_file": str(hardware_file),
        "keyset_file": str(keyset_file),
        "policy": POLICY,
    }
    path.write_text(json.dumps(settings, indent=2), encoding="utf-8")


def station_config(settings: dict[str, Any]) -> Config:
    """The station's config: the served cabinet's hardware with fast polling, short policy limits."""
    data_dir = Path(settings["data_dir"])
    hardware = json.loads(Path(settings["hardware_file"]).read_text(encoding="utf-8"))
    hardware.update(HARDWARE)
    hardware["slots"].update(SLOTS)
    return Config.model_validate(
        {
            "station": {"id": STATION_ID, "name": "崩溃测试站", "name_en": "Crash Test Station", "data_dir": data_dir},
            "api": {"host": "127.0.0.1", "port": 0, "ui_token_file": data_dir / "ui-token"},
            "policy": settings["policy"],
            "hardware": hardware,
            "codes": {"keyset_file": settings["keyset_file"]},
            "log_level": "warning",
        }
    )


def _say(**fields: Any) -> None:
    line = json.dumps(fields, separators=(",", ":"), default=str)
    if len(line) >= PIPE_BUF:  # keep the write atomic: the ids and type are what the test needs most
        fields["p"] = {k: v for k, v in dict(fields.get("p", {})).items() if k in ("swap_id", "bay", "rider_id")}
        line = json.dumps(fields, separators=(",", ":"), default=str)
    os.write(1, (line + "\n").encode())


async def _life(settings: dict[str, Any], boot_id: str) -> int:
    pid = os.getpid()
    station = Station(station_config(settings), SystemClock(), boot_id=boot_id)
    publish = station.store.on_commit

    def tee(records: list[EventRecord]) -> None:
        # Called only after the commit returned: a line printed here names a durable event.
        for r in records:
            _say(k="ev", pid=pid, seq=r.seq, id=r.id, type=r.type, p=r.payload, mono=r.mono)
        if publish is not None:
            publish(records)

    station.store.on_commit = tee
    screens = station.screen.subscribe()

    async def show_screens() -> None:
        while True:
            screen = await screens.get()
            _say(k="screen", pid=pid, n=screen.number, name=screen.name, params=screen.params)

    shower = asyncio.create_task(show_screens(), name="crash-screens")
    try:
        return await run_station(station, announce=False)
    finally:
        shower.cancel()


def work(settings_file: Path, boot_id: str) -> int:
    """Run one station life until SIGTERM (a clean stop, exit 0) or until killed."""
    settings = json.loads(settings_file.read_text(encoding="utf-8"))
    log_file = Path(settings["data_dir"]) / "station.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    logging.basicConfig(
        level=logging.WARNING, format=f"%(asctime)s {os.getpid()} %(levelname)s %(name)s: %(message)s", force=True
    )
    try:
        return asyncio.run(_life(settings, boot_id))
    except Exception as exc:
        logging.getLogger("crash_station").exception("the station failed")
        _say(k="error", pid=os.getpid(), message=f"{type(exc).__name__}: {exc}")
        return 1


def zygote() -> int:
    """Fork a worker for each ``run`` line on stdin; report when each one ends. Stops at end of input."""
    for raw in sys.stdin.buffer:
        parts = raw.decode().split()
        if len(parts) != 3 or parts[0] != "run":
            _say(k="error", pid=os.getpid(), message=f"bad command {raw!r}")
            continue
        pid = os.fork()
        if pid == 0:
            # The worker must never return into the zygote's loop, whatever happens.
            code = 1
            try:
                code = work(Path(parts[1]), parts[2])
            finally:
                os._exit(code)
        _say(k="started", pid=pid)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        _say(k="exited", pid=pid, code=code)
    return 0


def main(argv: list[str]) -> int:
    """Entry point: ``zygote``, or ``run <settings.json> <boot-id>``."""
    if argv[:1] == ["zygote"]:
        return zygote()
    if len(argv) == 3 and argv[0] == "run":
        return work(Path(argv[1]), argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
