"""Helpers the tests share: bounded waiting on a condition (never a bare sleep), a station driven over HTTP."""

from __future__ import annotations

import asyncio
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import requests

from kiosk.app.station import Station
from kiosk.core.clock import Clock, SystemClock
from kiosk.core.config import Config, parse_config
from kiosk.devices.base import Scan
from kiosk.devices.sim.cabinet import CabinetSimKind, SimCabinet
from kiosk.sim.codes import SimCodeIssuer

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds.

    Polls on an Event wait so the thread yields; the bound is what matters, not the interval.
    """
    deadline = time.monotonic() + timeout
    idle = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        idle.wait(0.005)


class ScanRecorder:
    """A scan listener that keeps what it was given (it is called on the driver's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scans: list[Scan] = []

    def __call__(self, scan: Scan) -> None:
        with self._lock:
            self._scans.append(scan)

    @property
    def scans(self) -> list[Scan]:
        """Every scan so far, good and bad."""
        with self._lock:
            return list(self._scans)

    @property
    def texts(self) -> list[str]:
        """The good scans' texts."""
        return [s.text for s in self.scans if s.error is None]

    @property
    def errors(self) -> list[str]:
        """The bad scans' reasons."""
        return [s.error for s in self.scans if s.error is not None]


class LoopThread:
    """An asyncio loop in a thread, so a test can speak HTTP to a server running on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the loop and wait (bounded) for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def call(self, fn: Any, *args: Any) -> Any:
        """Call a plain function on the loop's thread and return its result."""

        async def wrapper() -> Any:
            return fn(*args)

        return self.run(wrapper())

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


# --- a station with a simulated cabinet, driven over HTTP -------------------------------------------


def sim_config(
    tmp_path: Path, *, policy: dict[str, Any] | None = None, hardware: dict[str, Any] | None = None
) -> Config:
    """The ``kiosk sim`` config with its data under ``tmp_path``, fast polls, and the given overrides."""
    text = resources.files("kiosk.sim").joinpath("sim.toml").read_text(encoding="utf-8")
    base = parse_config(text)
    slots = base.hardware.slots.model_copy(update={"poll_s": 0.1})
    hw = base.hardware.model_copy(update={"poll_s": 0.05, "slots": slots, **(hardware or {})})
    station = base.station.model_copy(update={"data_dir": tmp_path / "data"})
    api = base.api.model_copy(update={"port": 0, "ui_token_file": tmp_path / "data" / "ui-token"})
    pol = base.policy.model_copy(update=policy or {})
    return base.model_copy(update={"station": station, "api": api, "hardware": hw, "policy": pol})


class LastingSimCabinet(SimCabinet):
    """A simulated cabinet that outlives the stations using it: a station restart leaves the world as it is.

    A stopping station closes its simulator; this one ignores that and ends only at :meth:`end`.
    """

    def close(self) -> None:
        """Ignored: the world goes on while kiosk-core restarts."""

    def end(self) -> None:
        """Really stop the simulated devices."""
        super().close()


class Technician:
    """HTTP as staff, the touchscreen and the simulator's controls (a rider's actions) would use it."""

    def __init__(self, station: Station) -> None:
        self.url = station.api.url
        self.goods_bays = frozenset(str(b.number) for b in station.config.hardware.bays if b.goods is not None)
        """Bays that hand out goods for points: they hold no battery."""
        token = station.config.api.ui_token_file.read_text().strip()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def status(self) -> dict[str, Any]:
        """``/api/status``."""
        return dict(self.session.get(f"{self.url}/api/status", timeout=5).json())

    def batteries_read(self) -> bool:
        """Whether the station has read every battery bay once (before that it refuses swaps for lack of data)."""
        bays = self.status()["components"]["cabinet"]["bays"]
        return all(b["battery"] is not None for n, b in bays.items() if n not in self.goods_bays)

    def bay(self, number: int) -> dict[str, Any]:
        """One bay as the cabinet component sees it."""
        return dict(self.status()["components"]["cabinet"]["bays"][str(number)])

    def swap(self) -> dict[str, Any] | None:
        """The swap in flight as the station controller shows it (None when idle)."""
        swap = self.status()["components"]["station"]["swap"]
        return None if swap is None else dict(swap)

    def screen(self) -> dict[str, Any]:
        """``/api/screen``: what the touchscreen shows now."""
        return dict(self.session.get(f"{self.url}/api/screen", timeout=5).json())

    def world(self) -> dict[str, Any]:
        """``/api/sim``: the simulated world as it really is."""
        return dict(self.session.get(f"{self.url}/api/sim", timeout=5).json())

    def sim(self, path: str, **body: Any) -> requests.Response:
        """POST to a simulator control under ``/api/sim``."""
        return self.session.post(f"{self.url}/api/sim{path}", json=body or None, timeout=5)

    def code(self, rider_id: str, *, scope: str = "swap", ttl_s: int = 300, scan: bool = True) -> str:
        """A signed rider code from the simulator's issuer, shown to the scanner at once unless ``scan`` is False."""
        answer = self.sim("/codes", rider_id=rider_id, scope=scope, ttl_s=ttl_s, scan=scan)
        answer.raise_for_status()
        return str(answer.json()["text"])

    def all_events(self) -> list[dict[str, Any]]:
        """Every event recorded so far, oldest first."""
        return list(self.session.get(f"{self.url}/api/events?since=0&limit=1000", timeout=5).json())

    def events(self, type_name: str) -> list[dict[str, Any]]:
        """The recorded events of one type, oldest first."""
        return [e for e in self.all_events() if e["type"] == type_name]


class RunningStation:
    """kiosk-core on a loop thread with a simulated cabinet; :meth:`restart` starts a new one on the same data."""

    def __init__(self, config: Config, sim: SimCabinet, codes_dir: Path, clock: Clock | None = None) -> None:
        self.config = config
        self.sim = sim
        self.codes_dir = codes_dir
        self.clock = clock
        """The station's clock (None: the system's); :meth:`start` may hand a new one, as a reboot does."""
        self.loop = LoopThread()
        self.stopped = False
        self.station = self._start()
        self.tech = Technician(self.station)

    def _start(self, boot_id: str | None = None) -> Station:
        async def build() -> Station:
            clock = self.clock or SystemClock()
            issuer = SimCodeIssuer(self.codes_dir, clock)
            return Station(self.config, clock, boot_id=boot_id, sim=self.sim, sim_codes=issuer)

        station: Station = self.loop.run(build())
        self.loop.run(station.start())
        return station

    def stop(self) -> None:
        """Stop kiosk-core (the simulated world goes on)."""
        self.loop.run(self.station.stop("test stop"))
        self.stopped = True

    def start(self, boot_id: str | None = None, clock: Clock | None = None) -> None:
        """Start a new kiosk-core on the same data folder and simulated cabinet (``boot_id``: a new boot)."""
        self.clock = clock or self.clock
        self.station = self._start(boot_id)
        self.tech = Technician(self.station)
        self.stopped = False

    def restart(self, boot_id: str | None = None) -> None:
        """Stop kiosk-core and start a new one on the same data folder and simulated cabinet."""
        self.stop()
        self.start(boot_id)

    def close(self) -> None:
        """Stop kiosk-core and the loop (the simulated cabinet is the caller's to end)."""
        try:
            if not self.stopped:
                self.loop.run(self.station.stop("test over"))
        finally:
            self.loop.close()


class ZygotePipe:
    """A long-lived child that forks short-lived workers on request (``<script> zygote``), and its output.

    Crash tests kill hundreds of workers; forking them from one parent that has already imported
    everything makes each start cost milliseconds instead of a fresh interpreter's few hundred.
    """

    def __init__(self, script: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "zygote"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self._stdin = self.proc.stdin
        self._fd = self.proc.stdout.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self.buffer = b""

    def send(self, line: str) -> None:
        """Write one command line to the zygote."""
        self._stdin.write(line.encode() + b"\n")

    def fill(self, wait_s: float) -> bool:
        """Read what arrives within ``wait_s`` into ``buffer``; False if nothing came."""
        if not self._selector.select(wait_s):
            return False
        chunk = os.read(self._fd, 1 << 16)
        if not chunk:
            raise AssertionError(f"the zygote {self.proc.args} ended unexpectedly")
        self.buffer += chunk
        return True

    def close(self) -> None:
        """End the zygote (end of its input) and reap it."""
        self._stdin.close()
        self.proc.wait(timeout=10)
        self._selector.close()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


class SimStation:
    """A running station on a lasting simulated cabinet (ptys, mock pins), every battery read once.

    ``safety()`` is the supervisor's part of the status; :meth:`close` stops the station, then the world.
    """

    def __init__(self, config: Config, tmp_path: Path, kind: CabinetSimKind = "kerong", wait: float = 10.0) -> None:
        self.config = config
        self.sim = LastingSimCabinet(kind, config.hardware, tmp_path / "devices", seed=1)
        self.running = RunningStation(config, self.sim, tmp_path / "codes")
        self.tech: Technician = self.running.tech
        wait_until(self.tech.batteries_read, wait, "every battery read")

    def safety(self) -> dict[str, Any]:
        return dict(self.tech.status()["components"]["safety"])

    def close(self) -> None:
        try:
            self.running.close()
        finally:
            self.sim.end()
