"""A simulated cabinet in a process of its own, so it outlives the station that drives it (real hardware does).

``python -m kiosk.devices.sim.serve --kind kerong|8a80 --workdir DIR [--bays N] [--seed S] [--charge PCT]``

- starts a :class:`~kiosk.devices.sim.cabinet.SimCabinet` (lock boards, slot controllers and scanner on
  ptys under ``DIR``; no GPIO parts: a board cabinet and no entry door, so nothing lives in a pin factory
  that another process could not reach);
- writes the station-side hardware config it implies (``SimCabinet.hardware_config()``) as JSON to
  ``DIR/hardware.json``;
- serves the world's controls on the unix socket ``DIR/control.sock``: one JSON object per line in, one
  per line out (:attr:`CabinetServer.ops`: ``scan``, ``close_door``, ``door_open``, ``insert_battery``,
  ``take_battery``, ``staff_unload``, ``inject``, ``status``, ``batteries``, ``pulses``, ``stop``);
  :class:`ControlClient` is the client;
- prints one JSON line (``{"ready": true, ...}``) on stdout when all of that is in place, and runs until
  SIGTERM/SIGINT, the ``stop`` operation, or (with ``--until-eof``) the end of its standard input.

A request is ``{"op": "take_battery", "bay": 3}``; the answer ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "bay 3's door is shut: ..."}``. Impossible rider actions are refused the same way
the in-process simulator refuses them (``ValueError``); the socket stays usable.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, cast, get_args

from kiosk.core.hardware import BayConfig, HardwareConfig, SafetyIoConfig
from kiosk.devices.sim.cabinet import Fault, SimCabinet

log = logging.getLogger(__name__)

HARDWARE_FILE = "hardware.json"
CONTROL_SOCKET = "control.sock"
BOARD_KINDS = ("kerong", "8a80")
CHARGE_TICK_S = 0.1
"""How often simulated time passes for the batteries (s)."""
MAX_LINE = 1 << 20
"""Longest request line accepted (bytes): far above any real request."""


class Pulses:
    """Every lock pulse the cabinet saw: ``(bay, time.monotonic())`` in order.

    ``time.monotonic()`` is the system's CLOCK_MONOTONIC, shared by every process on the machine, so a
    test can place pulses between events another process stamped.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[int, float]] = []

    def __call__(self, bay: int) -> None:
        with self._lock:
            self._items.append((bay, time.monotonic()))

    def since(self, start: int) -> list[tuple[int, float]]:
        """Pulses from index ``start`` on."""
        with self._lock:
            return self._items[start:]


def board_hardware(bays: int) -> HardwareConfig:
    """A plain cabinet of ``bays`` numbered bays: the simulator fills in ports, boards and slaves."""
    if not 1 <= bays <= 24:
        raise ValueError(f"a served cabinet has 1-24 bays, not {bays}")
    return HardwareConfig(bays=[BayConfig(number=n) for n in range(1, bays + 1)])


class CabinetServer:
    """One :class:`SimCabinet`, its charging thread and its control socket."""

    def __init__(self, sim: SimCabinet, *, charge_tick_s: float = CHARGE_TICK_S) -> None:
        self.sim = sim
        self.pulses = Pulses()
        self.stopped = threading.Event()
        self._charge_tick_s = charge_tick_s
        self._charger = threading.Thread(target=self._charge, name="sim-charge", daemon=True)
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._serving: threading.Thread | None = None
        self._ops: dict[str, Callable[[dict[str, Any]], Any]] = {
            "scan": lambda r: sim.scan(str(r["text"])),
            "close_door": lambda r: sim.close_door(int(r["bay"])),
            "door_open": lambda r: sim.door_open(int(r["bay"])),
            "insert_battery": self._insert,
            "take_battery": lambda r: sim.take_battery(int(r["bay"])),
            "inject": self._inject,
            "staff_unload": self._staff_unload,
            "status": lambda r: sim.get_status(),
            "batteries": lambda r: self.batteries(),
            "pulses": lambda r: self.pulses.since(int(r.get("since", 0))),
            "stop": lambda r: self.stopped.set(),
        }

    @property
    def ops(self) -> list[str]:
        """The operation names the socket understands."""
        return sorted(self._ops)

    def _insert(self, request: dict[str, Any]) -> None:
        self.sim.insert_battery(
            int(request["bay"]),
            str(request["battery_id"]),
            soc_pct=float(request.get("soc_pct", 20.0)),
            temperature_c=float(request.get("temperature_c", 25.0)),
        )

    def _staff_unload(self, request: dict[str, Any]) -> str | None:
        """A technician opens a shut bay with the key, takes its battery out and shuts it again."""
        bay = int(request["bay"])
        if self.sim.door_open(bay):
            raise ValueError(f"bay {bay} is open: a technician only unloads shut bays")
        # SimCabinet has no public "key" for a bay (only for the entry door); its door model is the one
        # a pulse or a rider changes, so the key is that same call. The lead may want a public
        # SimCabinet.open_with_key(bay) instead.
        self.sim._set_door(bay, True)
        try:
            return self.sim.take_battery(bay)
        finally:
            self.sim.close_door(bay)

    def _inject(self, request: dict[str, Any]) -> None:
        fault = str(request["fault"])
        if fault not in get_args(Fault):
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(get_args(Fault))}")
        bay = request.get("bay")
        self.sim.inject(cast(Fault, fault), None if bay is None else int(bay), bool(request.get("on", True)))

    def batteries(self) -> dict[str, str]:
        """Bay number (as text, JSON keys are text) → id of the battery in it, for every bay holding one."""
        out: dict[str, str] = {}
        for bay in self.sim.get_status()["bays"]:
            battery = bay["battery"]
            if battery is not None and battery.get("battery_id"):
                out[str(bay["bay"])] = str(battery["battery_id"])
        return out

    def answer(self, line: bytes) -> dict[str, Any]:
        """The answer to one request line (never raises: a bad request gets ``ok: false`` and the reason)."""
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError('a request is a JSON object like {"op": "status"}')
            op = request.get("op")
            handler = self._ops.get(str(op))
            if handler is None:
                raise ValueError(f"unknown op {op!r}; known: {', '.join(self.ops)}")
            return {"ok": True, "result": handler(request)}
        except (ValueError, KeyError, TypeError) as exc:
            message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            return {"ok": False, "error": message}

    def start(self, control: Path) -> None:
        """Start the cabinet, the charger and the control socket."""
        self.sim.on_pulse(self.pulses)
        self.sim.start()
        if self.sim.charge_pct_per_s > 0:
            self._charger.start()
        with contextlib.suppress(FileNotFoundError):
            control.unlink()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in iter(lambda: self.rfile.readline(MAX_LINE), b""):
                    if line.strip():
                        reply = json.dumps(server.answer(line), separators=(",", ":")) + "\n"
                        self.wfile.write(reply.encode())

        self._server = socketserver.ThreadingUnixStreamServer(str(control), Handler)
        self._server.daemon_threads = True
        self._serving = threading.Thread(target=self._server.serve_forever, name="sim-control", daemon=True)
        self._serving.start()

    def _charge(self) -> None:
        last = time.monotonic()
        while not self.stopped.wait(self._charge_tick_s):
            now = time.monotonic()
            with contextlib.suppress(ValueError):  # the cabinet is closing
                self.sim.tick(now - last)
            last = now

    def close(self) -> None:
        """Stop serving, then close the cabinet (its ptys go). Safe twice."""
        self.stopped.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self.sim.close()


class ControlClient:
    """The test's side of ``control.sock``: ``call("take_battery", bay=3)`` returns the result.

    A refused request raises ``ValueError`` with the cabinet's reason. One connection, one request at a
    time; use one client per thread.
    """

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(str(path))
        self._file = self._sock.makefile("rwb")

    def call(self, op: str, **fields: Any) -> Any:
        """Send one request and return its result."""
        self._file.write((json.dumps({"op": op, **fields}) + "\n").encode())
        self._file.flush()
        line = self._file.readline(MAX_LINE)
        if not line:
            raise ConnectionError("the simulated cabinet closed the control connection")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise ValueError(str(answer.get("error")))
        return answer.get("result")

    def close(self) -> None:
        """Close the connection (safe twice)."""
        with contextlib.suppress(OSError):
            self._file.close()
        self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kiosk.devices.sim.serve",
        description="Run a simulated lock-board cabinet on its own, controlled over a unix socket.",
    )
    parser.add_argument("--kind", choices=BOARD_KINDS, default="kerong", help="lock boards to simulate")
    parser.add_argument("--workdir", required=True, help="folder for the ptys, hardware.json and control.sock")
    parser.add_argument("--bays", type=int, default=8, help="number of bays (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial batteries (default 0)")
    parser.add_argument(
        "--charge", type=float, default=0.05, help="how fast batteries charge, %% per second (default 0.05)"
    )
    parser.add_argument("--until-eof", action="store_true", help="also stop when standard input ends")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit code 2 with a plain message for a bad argument."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    workdir = Path(args.workdir).expanduser().resolve()
    try:
        sim = SimCabinet(args.kind, board_hardware(args.bays), workdir, seed=args.seed, charge_pct_per_s=args.charge)
    except ValueError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    server = CabinetServer(sim)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        server.stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    control = workdir / CONTROL_SOCKET
    try:
        server.start(control)
        hardware = workdir / HARDWARE_FILE
        tmp = hardware.with_suffix(".tmp")
        # The safety pins are mock pins of this process: a station in another process cannot reach them, so
        # the served cabinet offers only what crosses the process boundary (ptys); its safety is Modbus only.
        served = sim.hardware_config().model_copy(update={"safety": SafetyIoConfig()})
        tmp.write_text(served.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(hardware)  # a reader never sees half a file
        ready = {"ready": True, "hardware": str(hardware), "control": str(control), "ops": server.ops}
        print(json.dumps(ready), flush=True)
        if args.until_eof:
            threading.Thread(target=_stop_at_eof, args=(server.stopped,), name="stdin-eof", daemon=True).start()
        while not server.stopped.wait(1.0):
            pass
    finally:
        server.close()
        with contextlib.suppress(FileNotFoundError):
            control.unlink()
    return 0


def _stop_at_eof(stopped: threading.Event) -> None:
    for _ in sys.stdin.buffer:
        pass
    stopped.set()


if __name__ == "__main__":
    sys.exit(main())
