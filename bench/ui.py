"""kiosk-ui under Xvfb in its own process beside a real ``kiosk sim`` core: idle cost, scan to drawn screen, cold start.

Run: ``python bench/ui.py`` (about five minutes) or ``python bench/ui.py --quick`` (about a minute: 5 s of
idle, one cold start, 5 scans, the walk with 5 s after it: a smoke run whose figures are only indicative). Exit
status: 0 every target met, 3 a target missed (the run itself worked), anything else: the bench is broken.

Everything runs as in production, in processes of their own: a virtual X display (Xvfb, started here
the way ``tests/ui/conftest.py`` does), ``kiosk sim --no-ui`` (kiosk-core with a simulated Kerong
cabinet behind real ptys) and the touchscreen app ``kiosk ui --window 800x480 --mouse`` following
core's API. What is measured:

1. **Idle**: a plain ``python -m kiosk.cli.main ui`` showing the idle screen, linked to core, nobody
   touching it, for 60 s (5 s with ``--quick``): CPU from ``/proc/PID/stat`` (utime + stime of all its
   threads) as % of one core, and ``VmRSS`` from ``/proc/PID/status`` sampled every second.
2. **Scan → screen drawn**: a rider code is issued and scanned by the simulator (``POST /api/sim/codes``
   with ``scan: true``: the simulated scanner writes the code's bytes into the scanner pty and core's
   production scanner driver reads them). The clock starts just BEFORE that POST, so the figure also holds
   the request itself and the signing of the code (the POST's own time is printed beside it); it stops
   when the UI has presented the frame with the new screen (after the buffer swap). The screen measured
   is the first one a rider sees after a scan: the swap screen with the bay number ("bay N is open").
   The rider then shuts the empty bay and the swap ends abandoned after a short insert time (from the
   config written here), and the same code is scanned again: core refuses it (already used) and the
   refusal screen's time is measured too, from the same kind of POST (``/api/sim/scan``).
3. **Cold start**: from spawning ``kiosk ui`` to its first frame presented, and to the first frame of the
   live idle screen (linked to core, status read).
4. **Memory after every screen**: a fresh probed UI walks itself through every screen, in Chinese and then in
   English (``bench/ui_walk.py``: the rider's points, a spend's and a booking's confirmation, the rider's screen,
   services, every kind of core screen, nearby, feedback with its keyboard, maintenance, out of service), with a
   real identification by core. ``VmRSS`` is sampled every 0.1 s during the walk (the peak) and for a while after
   it, back on idle (settled: the mean of that time's last half).

How the UI says when it drew: no line in kiosk-ui's own log has a frame's time, and nothing in
``kiosk/ui`` was changed for this bench. Instead the measured UI process is started as
``python bench/ui_probe.py ARGS``, which runs exactly ``kiosk ui ARGS`` (``kiosk.cli.main.main``)
after wrapping two methods once Kivy is set up: ``KioskApp.refresh`` (notes when the screen shown changes)
and the window's ``flip`` (after the real buffer swap, prints ``kiosk-ui-probe drawn <core screen number>
<screen> <time.monotonic()>`` for a pending change, and ``frame`` for the very first frame). Both
processes share the machine's CLOCK_MONOTONIC, so the times compare directly. The idle figures come from
an unwrapped ``python -m kiosk.cli.main ui``.

Other work on the machine (the CPU is shared) shows in the latencies; the load average is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, TypeVar

import requests

from kiosk.core.config import parse_config

TARGET_IDLE_CPU_PCT = 5.0
TARGET_RSS_MB = 200.0
TARGET_SCAN_P95_S = 0.250
TARGET_MISSED = 3
"""Exit status when the run worked but a figure missed its target (2: BenchError, 1: a crash)."""
WINDOW = "800x480"
XVFB_SCREEN = "1024x768x24"
PROBE = "kiosk-ui-probe"
INSERT_TIMEOUT_S = 2.5
"""Short, so an abandoned swap ends soon after the rider shuts the empty bay."""
START_TIMEOUT_S = 60.0
STEP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 10.0
WALK_PIN = "2468"
"""The staff PIN the walking UI is given, so the walk can open maintenance's status."""
WALK_TIMEOUT_S = 180.0
SETTLE_S = 3.0
"""After the UI reports its link to core: time for its first status and the idle screen's first frames."""
CLK_TCK = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


class BenchError(RuntimeError):
    """Something the bench waited for did not happen (with what was waited for, and where to look)."""


# --- pure parts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeLine:
    """One line of the probe: a frame presented, and which screen it was the first to show."""

    kind: str
    """``frame`` (the very first frame), ``drawn`` (the first frame of a newly shown screen) or ``walked`` (the
    walk through every screen is done; its number is the steps walked)."""
    number: int
    """Core's screen number shown (0 before core said anything)."""
    screen: str
    """The UI screen (``idle``, ``swap``, ``refusal``, ``out_of_service``...)."""
    mono: float
    """``time.monotonic()`` right after the buffer swap."""


def parse_probe_line(line: str) -> ProbeLine | None:
    """The probe's line, or None for any other output."""
    words = line.split()
    if len(words) != 5 or words[0] != PROBE:
        return None
    try:
        return ProbeLine(words[1], int(words[2]), words[3], float(words[4]))
    except ValueError:
        return None


def cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks) from a ``/proc/PID/stat`` line (the command name may hold spaces)."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from 1 before the name


def rss_mb(status: str) -> float:
    """``VmRSS`` in MB (MiB) from ``/proc/PID/status``."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError("no VmRSS line (has the process ended?)")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def bench_config_text() -> str:
    """The built-in ``kiosk sim`` config with a short insert time (and no wait between a rider's swaps)."""
    text = resources.files("kiosk.sim").joinpath("sim.toml").read_text(encoding="utf-8")
    text = text.replace("insert_timeout_s = 120", f"insert_timeout_s = {INSERT_TIMEOUT_S}")
    text = text.replace("[policy]", "[policy]\nmin_minutes_between_swaps = 0")
    config = parse_config(text, source="bench config")
    if config.policy.insert_timeout_s != INSERT_TIMEOUT_S:
        raise BenchError("sim.toml changed: the bench could not set policy.insert_timeout_s")
    return text


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str, pause: float = 0.02) -> T:
    """Poll ``predicate`` until it returns something truthy; BenchError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    rest = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        rest.wait(pause)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL if it has not ended within STOP_TIMEOUT_S (safe on an ended process)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the processes ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A virtual X display on a number Xvfb picks itself (-displayfd); yields ``:N``."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # Xvfb writes it once ready (or closes the pipe when it dies)
        if not number:
            raise BenchError("Xvfb did not start (is the xvfb package installed? scripts/bootstrap.sh installs it)")
        yield f":{number}"
    finally:
        stop_process(proc)


class Core:
    """``kiosk sim --no-ui`` in a subprocess, and HTTP to its API as the simulator's rider and staff."""

    def __init__(self, workdir: Path, config: Path) -> None:
        self.data = workdir / "core"
        self.log_path = workdir / "core.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token_file = self.data / "ui-token"
        hardware = parse_config(config.read_text(encoding="utf-8"), source=str(config)).hardware
        self.battery_bays = {str(bay.number) for bay in hardware.bays if bay.goods is None}
        """Bays that hold batteries; goods bays (water, snacks) have no slot controller and no reading."""
        command = [sys.executable, "-m", "kiosk.cli.main", "sim", "--no-ui", "--config", str(config)]
        command += ["--port", str(self.port), "--data-dir", str(self.data)]
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.session = requests.Session()

    def _alive(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise BenchError(f"kiosk sim exited ({self.proc.returncode}); the end of its log:\n{tail}")

    def get(self, path: str) -> Any:
        """GET ``path`` (JSON)."""
        answer = self.session.get(self.url + path, timeout=HTTP_TIMEOUT_S)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST ``path`` (JSON both ways)."""
        answer = self.session.post(self.url + path, json=body, timeout=HTTP_TIMEOUT_S)
        answer.raise_for_status()
        return answer.json()

    def wait_ready(self) -> None:
        """Wait until core answers and has read every battery bay (it refuses swaps without that)."""

        def token() -> bool:
            self._alive()
            return self.token_file.is_file() and bool(self.token_file.read_text().strip())

        wait_for(token, START_TIMEOUT_S, "kiosk sim's UI token", pause=0.1)
        self.session.headers["Authorization"] = f"Bearer {self.token_file.read_text().strip()}"

        def batteries() -> bool:
            self._alive()
            try:
                bays = self.get("/api/status")["components"]["cabinet"]["bays"]
                read = {str(number) for number, bay in bays.items() if bay.get("battery") is not None}
            except (requests.RequestException, KeyError, TypeError, AttributeError):
                return False
            return bool(self.battery_bays) and self.battery_bays <= read

        wait_for(batteries, START_TIMEOUT_S, "kiosk sim answering with every battery bay read", pause=0.1)

    def swap(self) -> dict[str, Any] | None:
        """The swap in flight (None when none)."""
        swap = self.get("/api/status")["components"]["station"]["swap"]
        return None if swap is None else dict(swap)

    def screen(self) -> dict[str, Any]:
        """What core wants the touchscreen to show."""
        return dict(self.get("/api/screen"))

    def close(self) -> None:
        """Stop core (SIGTERM: it shuts down cleanly) and forget the session."""
        self.session.close()
        stop_process(self.proc)


class Ui:
    """``kiosk ui`` in a subprocess on the Xvfb display; with the probe, its lines arrive on :attr:`lines`."""

    def __init__(
        self, workdir: Path, name: str, core: Core, config: Path, display: str, *, probed: bool, walk: bool = False
    ) -> None:
        args = ["--config", str(config), "--api-url", core.url, "--token-file", str(core.token_file)]
        args += ["--window", WINDOW, "--mouse"]
        if probed:
            command = [
                sys.executable,
                str(Path(__file__).with_name("ui_probe.py")),
                *(["--walk"] if walk else []),
                *args,
            ]
        else:
            command = [sys.executable, "-m", "kiosk.cli.main", "ui", *args]
        self.log_path = workdir / f"{name}.log"
        self.lines: queue.Queue[ProbeLine] = queue.Queue()
        env = {**os.environ, "DISPLAY": display, **({"KIOSK_UI_PIN": WALK_PIN} if walk else {})}
        with self.log_path.open("w") as log:
            self.spawned = time.monotonic()
            self.proc = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE if probed else log, stderr=log, text=True, bufsize=1
            )
        if probed:
            threading.Thread(target=self._read, args=(self.proc.stdout,), name=f"{name}-probe", daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        with self.log_path.open("a") as log:
            for line in stdout:
                parsed = parse_probe_line(line)
                if parsed is not None:
                    self.lines.put(parsed)
                else:
                    log.write(line)

    def _alive(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise BenchError(f"kiosk ui exited ({self.proc.returncode}); the end of its log:\n{tail}")

    def next_line(self, wanted: Callable[[ProbeLine], bool], what: str, timeout: float = STEP_TIMEOUT_S) -> ProbeLine:
        """The next probe line ``wanted`` accepts (earlier ones are dropped)."""
        deadline = time.monotonic() + timeout
        while True:
            self._alive()
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"timed out after {timeout:g} s waiting for the UI to draw {what}")
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if wanted(line):
                return line

    def wait_log(self, text: str, what: str) -> None:
        """Wait until the UI's log (stderr) has ``text``."""

        def seen() -> bool:
            self._alive()
            return text in self.log_path.read_text(errors="replace")

        wait_for(seen, START_TIMEOUT_S, what, pause=0.1)

    def close(self) -> None:
        """Stop the UI."""
        stop_process(self.proc)


# --- the measurements ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Idle:
    """kiosk-ui doing nothing for a while."""

    seconds: float
    cpu_pct: float
    """CPU time of all its threads over wall time, in % of one core."""
    rss_max_mb: float
    rss_mean_mb: float


def measure_idle(pid: int, seconds: float) -> Idle:
    """CPU % and RSS of ``pid`` over ``seconds``, RSS sampled every second."""
    stat, status = Path(f"/proc/{pid}/stat"), Path(f"/proc/{pid}/status")
    rest = threading.Event()
    started, ticks = time.monotonic(), cpu_ticks(stat.read_text())
    samples = [rss_mb(status.read_text())]
    while (left := started + seconds - time.monotonic()) > 0:
        rest.wait(min(1.0, left))
        samples.append(rss_mb(status.read_text()))
    wall = time.monotonic() - started
    used = (cpu_ticks(stat.read_text()) - ticks) / CLK_TCK
    return Idle(wall, 100 * used / wall, max(samples), statistics.fmean(samples))


@dataclass(frozen=True)
class Walked:
    """kiosk-ui's memory while it walked through every screen in both languages, and after."""

    steps: int
    seconds: float
    rss_peak_mb: float
    """The most seen, during the walk and after it."""
    rss_settled_mb: float
    """The mean over the last half of the time after the walk (back on idle)."""
    settle_s: float


def measure_walk(ui: Ui, settle_s: float) -> Walked:
    """Sample ``ui``'s RSS every 0.1 s from its start until it says it has walked, then for ``settle_s``."""
    status = Path(f"/proc/{ui.proc.pid}/status")
    rest = threading.Event()
    samples = [rss_mb(status.read_text())]
    started = time.monotonic()
    walked: ProbeLine | None = None
    while walked is None:
        ui._alive()
        if time.monotonic() - started > WALK_TIMEOUT_S:
            raise BenchError(f"the UI did not finish its walk within {WALK_TIMEOUT_S:g} s (see {ui.log_path})")
        try:
            line = ui.lines.get(timeout=0.1)
            walked = line if line.kind == "walked" else None
        except queue.Empty:
            pass
        samples.append(rss_mb(status.read_text()))
    seconds = time.monotonic() - started
    after: list[float] = []
    end = time.monotonic() + settle_s
    while time.monotonic() < end:
        rest.wait(0.1)
        after.append(rss_mb(status.read_text()))
    settled = after[len(after) // 2 :] or samples[-1:]
    return Walked(walked.number, seconds, max(samples + after), statistics.fmean(settled), settle_s)


@dataclass(frozen=True)
class ColdStart:
    """One start of kiosk-ui."""

    first_frame_s: float
    """Spawn to the first frame presented (whatever it shows: core may not be reached yet)."""
    live_idle_s: float
    """Spawn to the first frame of the idle screen after core was reached."""


def cold_start(ui: Ui) -> ColdStart:
    """Wait for a fresh UI's first frame and its first live idle screen."""
    first = ui.next_line(lambda line: line.kind == "frame", "its first frame", START_TIMEOUT_S)
    live = ui.next_line(lambda line: line.screen == "idle", "the live idle screen", START_TIMEOUT_S)
    return ColdStart(first.mono - ui.spawned, live.mono - ui.spawned)


@dataclass
class Scans:
    """Scan → drawn screen, seconds each."""

    swap: list[float]
    refusal: list[float]
    post: list[float]
    """Time of the POST that scanned (issue + scan), within the figures above."""


def shows(screen: str | None, *, after: int) -> Callable[[ProbeLine], bool]:
    """Accepts a drawn line of ``screen`` (any when None) for a core screen numbered above ``after``."""
    return lambda line: line.kind == "drawn" and line.number > after and screen in (None, line.screen)


def measure_scans(core: Core, ui: Ui, count: int) -> Scans:
    """``count`` rounds of: scan a fresh code (swap screen), let the swap end abandoned, scan it again (refusal)."""
    out = Scans([], [], [])
    last = 0
    for i in range(count):
        sent = time.monotonic()
        text = str(core.post("/api/sim/codes", {"rider_id": f"R-ui-{i:04d}", "scan": True})["text"])
        out.post.append(time.monotonic() - sent)
        drawn = ui.next_line(shows("swap", after=last), "the swap screen")
        out.swap.append(drawn.mono - sent)
        screen = core.screen()
        if screen["name"] != "swap.open_return_bay" and screen["number"] == drawn.number:
            raise BenchError(f"a fresh code did not start a swap: core shows {screen}")
        bay = int(screen["params"]["bay"])
        wait_for(lambda: (s := core.swap()) and s["state"] == "await_return", STEP_TIMEOUT_S, "the bay seen open")
        core.post(f"/api/sim/bays/{bay}/close-door")  # shut empty: the swap ends abandoned at the insert time
        wait_for(lambda: core.swap() is None, STEP_TIMEOUT_S + INSERT_TIMEOUT_S, "the abandoned swap's end")
        ended = int(core.screen()["number"])
        last = ui.next_line(shows(None, after=ended - 1), "the swap's ending").number

        sent = time.monotonic()
        core.post("/api/sim/scan", {"text": text})  # the same code again: already used
        drawn = ui.next_line(shows("refusal", after=last), "the refusal screen")
        out.refusal.append(drawn.mono - sent)
        last = drawn.number
        screen = core.screen()
        if screen["number"] == drawn.number and screen["params"].get("reason") != "nonce_used":
            raise BenchError(f"a used code was not refused as used: core shows {screen}")
    return out


# --- the report ----------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    """How a figure stands against its target."""
    return "met" if ok else "MISSED"


def ms(seconds: float) -> str:
    """Milliseconds, one decimal."""
    return f"{seconds * 1e3:.1f}"


def print_report(idle: Idle, starts: list[ColdStart], scans: Scans, walked: Walked) -> bool:
    """Print every figure beside its target; whether every target was met."""
    cpu_ok = idle.cpu_pct <= TARGET_IDLE_CPU_PCT
    rss_ok = idle.rss_max_mb <= TARGET_RSS_MB
    peak_ok = walked.rss_peak_mb <= TARGET_RSS_MB
    settled_ok = walked.rss_settled_mb <= TARGET_RSS_MB
    swap_p95 = percentile(scans.swap, 95)
    scan_ok = swap_p95 <= TARGET_SCAN_P95_S
    print()
    print(f"kiosk-ui {WINDOW} under Xvfb (software GL), kiosk sim with a simulated Kerong cabinet")
    print()
    print(f"idle over {idle.seconds:.0f} s (plain `kiosk ui`, idle screen, linked to core):")
    print(
        f"  CPU          {idle.cpu_pct:6.2f} % of one core   target <= {TARGET_IDLE_CPU_PCT:g} %  ({verdict(cpu_ok)})"
    )
    print(
        f"  RSS          {idle.rss_max_mb:6.1f} MB max ({idle.rss_mean_mb:.1f} mean)   "
        f"target <= {TARGET_RSS_MB:g} MB  ({verdict(rss_ok)})"
    )
    print()
    print(f"after walking every screen in Chinese and English ({walked.steps} steps in {walked.seconds:.0f} s):")
    print(
        f"  RSS peak     {walked.rss_peak_mb:6.1f} MB (walk and after)   "
        f"target <= {TARGET_RSS_MB:g} MB  ({verdict(peak_ok)})"
    )
    print(
        f"  RSS settled  {walked.rss_settled_mb:6.1f} MB (idle, {walked.settle_s:g} s after)   "
        f"target <= {TARGET_RSS_MB:g} MB  ({verdict(settled_ok)})"
    )
    print()
    print(f"scan -> screen drawn, {len(scans.swap)} scans (clock from just before the POST that scans):")
    print(f"  {'':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    rows = [
        ("fresh code -> swap screen (bay open)", scans.swap),
        ("used code -> refusal screen", scans.refusal),
        ("  (the fresh-code POST alone)", scans.post),
    ]
    for label, values in rows:
        print(
            f"  {label:34} {ms(percentile(values, 50)):>8} {ms(percentile(values, 95)):>8} {ms(max(values)):>8}", end=""
        )
        if values is scans.swap:
            print(f"   target p95 <= {ms(TARGET_SCAN_P95_S)} ms  ({verdict(scan_ok)})", end="")
        print()
    print(f"  first scan after the UI started: {ms(scans.swap[0])} ms")
    print()
    print("cold start, spawn -> first frame presented / -> live idle screen presented:")
    for n, start in enumerate(starts, 1):
        print(f"  start {n}: {ms(start.first_frame_s):>8} ms / {ms(start.live_idle_s):>8} ms")
    print()
    print(f"load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    return cpu_ok and rss_ok and scan_ok and peak_ok and settled_ok


def run(workdir: Path, idle_s: float, scans: int, starts: int, settle_s: float) -> bool:
    """Start everything, measure, stop everything; whether every target was met."""
    config = workdir / "kiosk.toml"
    config.write_text(bench_config_text(), encoding="utf-8")
    with xvfb() as display:
        core = Core(workdir, config)
        uis: list[Ui] = []
        try:
            core.wait_ready()
            print(f"core ready at {core.url}; logs in {workdir}", flush=True)

            plain = Ui(workdir, "ui-idle", core, config, display, probed=False)
            uis.append(plain)
            plain.wait_log("connected to kiosk-core", "the plain UI reaching core")
            threading.Event().wait(SETTLE_S)
            print(f"measuring idle for {idle_s:g} s ...", flush=True)
            idle = measure_idle(plain.proc.pid, idle_s)
            plain.close()

            measured: list[ColdStart] = []
            ui: Ui | None = None
            for n in range(starts):
                if ui is not None:
                    ui.close()
                ui = Ui(workdir, f"ui-probed-{n + 1}", core, config, display, probed=True)
                uis.append(ui)
                measured.append(cold_start(ui))
                print(f"cold start {n + 1}: first frame {ms(measured[-1].first_frame_s)} ms", flush=True)
            assert ui is not None
            print(f"scanning {scans} codes ...", flush=True)
            timed = measure_scans(core, ui, scans)
            ui.close()

            print("walking a fresh UI through every screen in both languages ...", flush=True)
            walker = Ui(workdir, "ui-walk", core, config, display, probed=True, walk=True)
            uis.append(walker)
            walked = measure_walk(walker, settle_s)
        finally:
            for each in uis:
                each.close()
            core.close()
    return print_report(idle, measured, timed, walked)


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the figures beside the targets; exit 3 when one is missed."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 5 s of idle, 1 cold start, 5 scans, 5 s after the walk (instead of 60 s, 3, 40, 30 s)",
    )
    parser.add_argument("--scans", type=int, default=None, help="how many scans (at least 20, but 5 with --quick)")
    parser.add_argument("--starts", type=int, default=None, help="how many cold starts (3; 1 with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, database)")
    args = parser.parse_args(words)
    scans = max(5 if args.quick else 20, args.scans or (5 if args.quick else 40))
    idle_s = 5.0 if args.quick else 60.0
    settle_s = 5.0 if args.quick else 30.0
    starts = args.starts or (1 if args.quick else 3)
    # SIGTERM ends the bench through its finally blocks, so no process is left behind.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    folder = tempfile.mkdtemp(prefix="bench-ui-", dir=Path.cwd())
    try:
        ok = run(Path(folder), idle_s, scans, max(1, starts), settle_s)
    except BenchError as exc:
        print(f"bench/ui.py: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else TARGET_MISSED


if __name__ == "__main__":
    sys.exit(main())
