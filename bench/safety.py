"""How fast the safety supervisor acts: smoke, and a pack heating too fast, to charger off and the alarm on record.

Run: ``python bench/safety.py`` (200 runs of each, a few minutes) or ``python bench/safety.py --quick`` (10).

A full kiosk-core (:class:`kiosk.app.station.Station`, simulated Kerong cabinet behind ptys and mock pins)
runs on a loop thread as ``kiosk sim`` runs it. Two things are timed, each ``--runs`` times:

- **smoke**: from the moment the simulated smoke detector's contact opens (its mock pin forced high) to
  (a) the slot controller of bay 1 having received the charger-off write (its register, as the simulated
  Modbus slave decoded it) and (b) the cabinet's ``safety.level_changed`` to ``fire`` committed to SQLite
  (the store's commit hook).
- **rise**: from the moment bay 1's pack reads 5 °C warmer than 45 s earlier (6.7 °C/min, past the
  3 °C/min alarm rate) in the simulated BMS, to the same two points. This one includes the wait for the
  next slot poll: the slot controllers are read every ``SLOTS_POLL_S`` = 0.5 s (8 controllers at 9600 baud
  take about 0.45 s a sweep), which is what keeps it under the 1 s target. The station's monotonic clock
  is a real one shifted forward by the bench (45 s before each rise), so each run does not wait for the
  rise window in real time.

Between runs the fault is cleared, staff reset the alarm, and the bench waits for charging to resume.
The charger register is watched every millisecond, so figures have 1 ms granularity.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from kiosk.app.station import Station
from kiosk.core.clock import SystemClock
from kiosk.core.config import Config, parse_config
from kiosk.core.events import EventRecord
from kiosk.devices.sim.cabinet import SimCabinet

TARGET_P99_S = 1.0
SLOTS_POLL_S = 0.5
TIMEOUT_S = 10.0
BAY = 1
RISE_SHIFT_S = 45.0
T = TypeVar("T")


class ShiftedClock(SystemClock):
    """The real clock, with a monotonic time the bench can move forward."""

    def __init__(self) -> None:
        super().__init__()
        self.shift = 0.0

    def monotonic(self) -> float:
        """Real monotonic time plus the shift."""
        return super().monotonic() + self.shift

    def wall(self) -> datetime:
        """The real wall clock."""
        return super().wall()


def bench_config(data_dir: Path) -> Config:
    """The ``kiosk sim`` config with the slot poll period chosen above."""
    base = parse_config(resources.files("kiosk.sim").joinpath("sim.toml").read_text(encoding="utf-8"))
    slots = base.hardware.slots.model_copy(update={"poll_s": SLOTS_POLL_S})
    hardware = base.hardware.model_copy(update={"slots": slots})
    station = base.station.model_copy(update={"data_dir": data_dir / "data"})
    api = base.api.model_copy(update={"port": 0, "ui_token_file": data_dir / "data" / "ui-token"})
    return base.model_copy(update={"station": station, "api": api, "hardware": hardware})


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


class Bench:
    """One station on a loop thread and probes on its charger register and its commits."""

    def __init__(self, workdir: Path) -> None:
        self.config = bench_config(workdir)
        self.sim = SimCabinet("kerong", self.config.hardware, workdir / "devices", seed=1)
        self.clock = ShiftedClock()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="station-loop", daemon=True)
        self.thread.start()
        self.station: Station = self._run(self._build())
        self._run(self.station.start())
        self.committed: dict[str, float] = {}
        self._watch = asyncio.run_coroutine_threadsafe(self._commits(), self.loop)
        self._wait("the chargers' mains on", lambda: not self.safety()["outputs"]["mains_cut"])

    async def _build(self) -> Station:
        return Station(self.config, self.clock, sim=self.sim)

    async def _commits(self) -> None:
        sub = self.station.bus.subscribe()
        while True:
            record: EventRecord | None = await sub.next(1.0)
            if record is not None and record.type == "safety.level_changed":
                key = f"{record.payload.get('bay')}:{record.payload.get('after')}"
                self.committed.setdefault(key, time.perf_counter())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT_S)

    def _call(self, fn: Callable[[], T]) -> T:
        async def wrapper() -> T:
            return fn()

        return self._run(wrapper())

    def safety(self) -> dict[str, Any]:
        """The supervisor's status (read on the loop)."""
        return self._call(self.station.safety.get_status)

    def _wait(self, what: str, predicate: Callable[[], bool], pause_s: float = 0.001) -> float:
        deadline = time.monotonic() + TIMEOUT_S
        pause = threading.Event()
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what} (safety: {self.safety()['warnings']})")
            pause.wait(pause_s)
        return time.perf_counter()

    def _acted(self, key: str, start: float) -> tuple[float, float]:
        off = self._wait("bay 1's charger off", lambda: not self.sim.charger_enabled(BAY))
        committed = self._wait(f"{key} committed", lambda: key in self.committed) and self.committed[key]
        return off - start, committed - start

    def _recover(self, bay: int | None) -> None:
        def reset() -> bool:
            return self._call(lambda: self.station.safety.reset(bay, by="bench")) is None

        self._wait("the reset accepted", reset, pause_s=0.05)
        self._wait(
            "charging again", lambda: self.sim.charger_enabled(BAY) and not self.safety()["outputs"]["mains_cut"]
        )
        self.committed.clear()

    def smoke(self) -> tuple[float, float]:
        """Smoke: seconds to bay 1's charger-off write and to the fire event on record."""
        start = time.perf_counter()
        self.sim.inject("smoke", on=True)
        acted = self._acted("None:fire", start)
        self.sim.inject("smoke", on=False)
        self._recover(None)
        return acted

    def rise(self) -> tuple[float, float]:
        """A pack warming 6.7 °C/min: seconds to bay 1's charger-off write and to its alarm on record."""
        self.sim.set_temperature(BAY, 30.0)
        seen = self._call(lambda: self.station.safety.state.bays[BAY].last_answer_at) or 0.0
        self._wait("a reading at 30 °C", lambda: (self.station.safety.state.bays[BAY].last_answer_at or 0) > seen)
        self.clock.shift += RISE_SHIFT_S
        start = time.perf_counter()
        self.sim.set_temperature(BAY, 35.0)
        acted = self._acted(f"{BAY}:alarm", start)
        self.sim.set_temperature(BAY, 30.0)
        self.clock.shift += 120.0  # the window forgets the climb
        seen = self._call(lambda: self.station.safety.state.bays[BAY].last_answer_at) or 0.0
        self._wait("a cool reading", lambda: (self.station.safety.state.bays[BAY].last_answer_at or 0) > seen)
        self._recover(BAY)
        return acted

    def close(self) -> None:
        """Stop the station and the loop."""
        try:
            self._watch.cancel()
            self._run(self.station.stop("bench over"))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT_S)
            self.loop.close()


def report(name: str, figures: list[tuple[float, float]]) -> bool:
    """Print p50/p99/max of both measures against the target; True when both p99 meet it."""
    ok = True
    for label, values in (("charger-off write", [f[0] for f in figures]), ("event committed", [f[1] for f in figures])):
        p99 = percentile(values, 99)
        met = p99 <= TARGET_P99_S
        ok = ok and met
        print(
            f"{name:6s} -> {label:17s}: p50 {percentile(values, 50) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms"
            f"  max {max(values) * 1000:7.1f} ms"
            f"  (target p99 <= {TARGET_P99_S * 1000:.0f} ms: {'met' if met else 'NOT met'})"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit 3 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200, help="runs of each measurement (default 200)")
    parser.add_argument("--quick", action="store_true", help="10 runs of each, to check the bench still works")
    args = parser.parse_args(argv)
    runs = 10 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="bench-safety-", dir=Path.cwd()) as tmp:
        bench = Bench(Path(tmp))
        try:
            smoke = [bench.smoke() for _ in range(runs)]
            rise = [bench.rise() for _ in range(runs)]
        finally:
            bench.close()
    print(f"safety supervisor, {runs} runs each, slot poll {SLOTS_POLL_S} s")
    ok = report("smoke", smoke)
    ok = report("rise", rise) and ok
    return 0 if ok else 3  # 3: ran, but a target was missed (scripts/test warns)


if __name__ == "__main__":
    sys.exit(main())
