"""Scan-to-unlock latency through the production drivers: scanner pty -> scanner driver -> locker driver.

Run: ``python bench/devices.py`` (1000 scans per backend, about 10-20 s) or ``python bench/devices.py --quick``.

Each case starts a simulated cabinet (:class:`kiosk.devices.sim.cabinet.SimCabinet`), builds the real
drivers from its config with :func:`kiosk.devices.build.build_devices`, and wires a tiny glue listener
(``on_scan`` -> ``lockers.unlock(bay)``, no authorisation). One scan at a time, it measures from the moment
the last byte of a signed rider code has been written into the scanner's pty (stamped just before the
single write that carries the whole code, so the write's few microseconds are included) to:

- **kerong**: the unlock frame arriving on the lock board's pty (the simulated board's unlock hook fires
  as soon as it has read and decoded the frame);
- **gpio**: the bay's relay pin changing level on gpiozero's MockFactory.

Codes are sent with CRLF, so the framer cuts them at once instead of waiting out the idle gap
(``idle_gap_s``, 50 ms by default, would be added to every scan sent without a terminator). A pty has no
baud rate: the time the code itself takes on a real 9600-baud line is printed beside the results, for
reference; on real hardware it comes on top.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.core.clock import SystemClock
from kiosk.core.hardware import BayConfig, HardwareConfig, LockerSettings
from kiosk.core.ridercode import RiderCode, Scope, generate_key, sign_code
from kiosk.devices.base import Scan
from kiosk.devices.build import Devices, build_devices
from kiosk.devices.lockers.gpio import GpioLockerBank
from kiosk.devices.sim.cabinet import CabinetSimKind, SimCabinet
from kiosk.devices.sim.gpio import sim_pin

BAY = 3
WARMUP = 20
TIMEOUT_S = 5.0
SCANNER_BAUD = 9600
KERONG_BAUD = 19200
TARGET = "target: none set — reported for the swap budget (bench/swap.py p99 ≤ 15 ms)"


def rider_code() -> str:
    """A real signed rider code, as a rider's phone shows it."""
    fields = RiderCode.issue(
        kid="hub2026a", rider_id="R00012345", scopes=Scope.SWAP, now=datetime.now(UTC), ttl=timedelta(minutes=5)
    )
    return sign_code(fields, generate_key())


def station_hw() -> HardwareConfig:
    """Eight bays with default settings, but GPIO pulses short so that each scan can pulse the relay again.

    The simulator adds its scanner, slot controllers (idle here) and lock bus.
    """
    return HardwareConfig(bays=[BayConfig(number=n) for n in range(1, 9)], gpio=LockerSettings(pulse_s=0.001))


@dataclass(frozen=True)
class Result:
    """Latencies of one backend (seconds)."""

    name: str
    latencies: list[float]

    def percentile(self, q: float) -> float:
        """The q-th percentile (0-100), nearest rank."""
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank]


class Glue:
    """on_scan -> lockers.unlock(BAY), and a signal when the unlock call has returned."""

    def __init__(self) -> None:
        self.devices: Devices | None = None
        self.done = threading.Event()
        self.returned_at = 0.0
        """When the last unlock call returned (perf_counter): for Kerong, the board's reply has been read."""
        self.errors: list[str] = []

    def __call__(self, scan: Scan) -> None:
        try:
            if scan.error is not None:
                self.errors.append(scan.error)
            elif self.devices is not None and self.devices.lockers is not None:
                self.devices.lockers.unlock(BAY)
                self.returned_at = time.perf_counter()
        except Exception as exc:
            self.errors.append(str(exc))
        finally:
            self.done.set()


def run_case(
    kind: CabinetSimKind,
    scans: int,
    workdir: Path,
    code: str,
    arm: Callable[[SimCabinet, Devices, threading.Event, list[float]], Callable[[], None]],
) -> tuple[Result, Result]:
    """Scan ``code`` ``scans`` times after a warm-up; time each to ``arm``'s probe and to unlock returning."""
    with SimCabinet(kind, station_hw(), workdir / kind) as sim:
        sim.start()
        glue = Glue()
        with build_devices(
            sim.hardware_config(), clock=SystemClock(), on_scan=glue, pin_factory=sim.pin_factory
        ) as devices:
            glue.devices = devices
            fired = threading.Event()
            stamp: list[float] = [0.0]
            reset = arm(sim, devices, fired, stamp)
            scanner = devices.scanner
            assert scanner is not None
            scanner.start()
            deadline = time.monotonic() + TIMEOUT_S
            while not scanner.connected:
                if time.monotonic() > deadline:
                    raise SystemExit("the scanner driver did not connect to the simulated scanner")
                threading.Event().wait(0.01)
            latencies: list[float] = []
            returned: list[float] = []
            for i in range(WARMUP + scans):
                fired.clear()
                glue.done.clear()
                # Stamped just before the one write (code + CRLF): stamping after it could come late, since
                # the scanner's thread may take the GIL as soon as the bytes land. Includes the write (µs).
                sent = time.perf_counter()
                sim.scan(code)
                if not fired.wait(TIMEOUT_S) or not glue.done.wait(TIMEOUT_S):
                    raise SystemExit(f"{kind}: scan {i} never reached the lock ({glue.errors[-1:]})")
                if i >= WARMUP:
                    latencies.append(stamp[0] - sent)
                    returned.append(glue.returned_at - sent)
                reset()
            if glue.errors:
                raise SystemExit(f"{kind}: {len(glue.errors)} scans failed, e.g. {glue.errors[0]}")
    return Result(kind, latencies), Result(f"{kind}-returned", returned)


def arm_kerong(sim: SimCabinet, devices: Devices, fired: threading.Event, stamp: list[float]) -> Callable[[], None]:
    """Probe: the simulated board has read an unlock frame for BAY."""

    def on_pulse(bay: int) -> None:
        if bay == BAY:
            stamp[0] = time.perf_counter()
            fired.set()

    sim.on_pulse(on_pulse)
    return lambda: None  # the board relocks by itself; the door may stay open


def arm_gpio(sim: SimCabinet, devices: Devices, fired: threading.Event, stamp: list[float]) -> Callable[[], None]:
    """Probe: BAY's relay pin goes to its active level; reset: let the driver end the pulse."""
    hw = sim.hardware_config()
    pin_name = next(bay.lock_pin for bay in hw.bays if bay.number == BAY)
    assert pin_name is not None
    relay = sim_pin(sim.pin_factory, pin_name)
    active = hw.gpio.relay_active_high

    def on_level(level: bool) -> None:
        if level == active:
            stamp[0] = time.perf_counter()
            fired.set()

    relay.watch(on_level)
    bank = devices.lockers
    assert isinstance(bank, GpioLockerBank)
    pause = threading.Event()

    def end_pulse() -> None:
        # The runtime polls the bank every few tens of ms; here the pulse is ended as soon as it is due.
        deadline = time.monotonic() + TIMEOUT_S
        while relay.state == active:
            bank.poll()
            if time.monotonic() > deadline:
                raise SystemExit("gpio: the unlock pulse never ended")
            pause.wait(0.0005)

    return end_pulse


def main(argv: list[str] | None = None) -> int:
    """Run both cases and print p50/p99; exit code 0 (there is no target to miss)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 scans per backend instead of 1000")
    args = parser.parse_args(argv)
    scans = 100 if args.quick else 1000
    code = rider_code()
    with tempfile.TemporaryDirectory(prefix="bench-devices-") as tmp:
        kerong, kerong_returned = run_case("kerong", scans, Path(tmp), code, arm_kerong)
        gpio, _ = run_case("gpio", scans, Path(tmp), code, arm_gpio)
    results = [kerong, gpio, kerong_returned]
    wire_s = (len(code) + 2) * 10 / SCANNER_BAUD  # 8N1: 10 bits per byte
    print(f"scan-to-unlock latency, driver path only — {scans} scans per backend ({'quick' if args.quick else 'full'})")
    print(f"code: a signed rider code of {len(code)} characters + CRLF, written to the scanner pty in one write")
    print()
    print(f"{'backend':52} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}")
    labels = {
        "kerong": "(a) kerong: scanner pty -> unlock frame on bus",
        "gpio": "(b) gpio: scanner pty -> relay pin changes",
        "kerong-returned": "    kerong: ... -> board's reply read, unlock returned",
    }
    for r in results:
        print(
            f"{labels[r.name]:52} {r.percentile(50) * 1e3:8.2f} {r.percentile(99) * 1e3:8.2f} "
            f"{max(r.latencies) * 1e3:8.2f} {statistics.fmean(r.latencies) * 1e3:8.2f}"
        )
    print()
    print(TARGET)
    print(
        f"for reference: on a real {SCANNER_BAUD}-baud line the code itself takes {wire_s * 1e3:.1f} ms to arrive "
        f"({len(code) + 2} bytes x 10 bits); a pty has no baud rate, so it is not in the figures above"
    )
    print(
        f"and at the Kerong default of {KERONG_BAUD} baud the unlock frame (5 bytes) takes {5e4 / KERONG_BAUD:.1f} ms, "
        f"the board's status reply (9 bytes) {9e4 / KERONG_BAUD:.1f} ms"
    )
    print("codes end with CRLF: without a terminator the framer waits idle_gap_s (default 50 ms) before cutting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
