"""The serial scanner driver against a simulated GM65-class module on a pseudo-terminal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kiosk.core.clock import FakeClock, SystemClock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import TriggerProtocol
from kiosk.devices.base import Scan
from kiosk.devices.scanner import Backoff, ScannerState
from kiosk.devices.scanner.gm65 import HONEYWELL_TRIGGER_ON, Gm65Command, Gm65Op
from kiosk.devices.scanner.serial_scanner import (
    SerialScanner,
    SerialScannerSettings,
    find_port,
    parse_usb_id,
    resolve_port,
)
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.scanner import SimScanner
from tests.support import ScanRecorder, wait_until

FAST = SerialScannerSettings(
    idle_gap_s=0.05,
    read_timeout_s=0.02,
    reconnect_initial_s=0.01,
    reconnect_max_s=0.05,
    join_timeout_s=2.0,
)


@dataclass
class FakePortInfo:
    device: str
    vid: int | None
    pid: int | None


@pytest.fixture
def sim(pty_port: PtyPort) -> Iterator[SimScanner]:
    module = SimScanner(pty_port)
    module.start()
    yield module
    module.close()


@pytest.fixture
def received() -> ScanRecorder:
    return ScanRecorder()


def started(
    port: str, received: ScanRecorder, settings: SerialScannerSettings = FAST, **kwargs: object
) -> SerialScanner:
    scanner = SerialScanner(port, settings, SystemClock(), received, **kwargs)  # type: ignore[arg-type]
    scanner.start()
    wait_until(lambda: scanner.connected, what="scanner connected")
    return scanner


@pytest.fixture
def scanner(pty_port: PtyPort, sim: SimScanner, received: ScanRecorder) -> Iterator[SerialScanner]:
    driver = started(pty_port.path, received)
    yield driver
    driver.close()


# --- reading codes ------------------------------------------------------------------------------


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"], ids=["CR", "LF", "CRLF"])
def test_scans_with_each_terminator_arrive(
    scanner: SerialScanner, sim: SimScanner, received: ScanRecorder, terminator: bytes
) -> None:
    sim.scan("KS1:ABC-123", terminator)
    sim.scan("SECOND", terminator)
    wait_until(lambda: len(received.scans) >= 2, what="two scans")
    assert received.texts == ["KS1:ABC-123", "SECOND"]


def test_code_without_terminator_ends_after_the_idle_gap(
    scanner: SerialScanner, sim: SimScanner, received: ScanRecorder
) -> None:
    sim.scan("NOEND123", terminator=b"")
    wait_until(lambda: received.scans, what="a scan ended by the idle gap")
    assert received.texts == ["NOEND123"]


def test_garbage_gives_a_bad_scan_and_a_good_scan_still_works(
    scanner: SerialScanner, sim: SimScanner, received: ScanRecorder
) -> None:
    sim.scan_raw(b"\xff\xfe\x80garbage\r\n")
    wait_until(lambda: received.errors, what="a bad scan")
    sim.scan("GOOD")
    wait_until(lambda: received.texts, what="a good scan")
    assert received.texts == ["GOOD"]
    assert scanner.get_status()["bad_scans"] == 1


def test_overlong_stream_is_cut_and_reported(pty_port: PtyPort, sim: SimScanner, received: ScanRecorder) -> None:
    settings = SerialScannerSettings(
        max_length=64, idle_gap_s=None, read_timeout_s=0.02, reconnect_initial_s=0.01, reconnect_max_s=0.05
    )
    with started(pty_port.path, received, settings):
        sim.scan_raw(b"X" * 5000)
        wait_until(lambda: received.errors, what="an overlong code reported")
        sim.scan_raw(b"\r\n")
        sim.scan("AFTER")
        wait_until(lambda: received.texts, what="the next code")
        assert received.texts == ["AFTER"]
        assert len(received.errors) == 1
        assert "too long" in received.errors[0]


def test_status_counts_scans_and_keeps_the_last_scan_time(
    scanner: SerialScanner, sim: SimScanner, received: ScanRecorder
) -> None:
    before = SystemClock().monotonic()
    sim.scan("ONE")
    wait_until(lambda: received.scans, what="a scan")
    status = scanner.get_status()
    assert status["state"] == "connected"
    assert status["connected"] is True
    assert status["scans"] == 1
    assert status["last_scan_mono"] >= before


def test_a_failing_listener_does_not_stop_the_scanner(pty_port: PtyPort, sim: SimScanner) -> None:
    got: list[str] = []

    def listener(scan: Scan) -> None:
        got.append(scan.text)
        if scan.text == "BOOM":
            raise RuntimeError("listener bug")

    scanner = SerialScanner(pty_port.path, FAST, SystemClock(), listener)
    with scanner:
        scanner.start()
        wait_until(lambda: scanner.connected, what="connected")
        sim.scan("BOOM")
        sim.scan("AFTER")
        wait_until(lambda: len(got) >= 2, what="both scans")
    assert got == ["BOOM", "AFTER"]


# --- unplug and replug --------------------------------------------------------------------------


def test_unplug_shows_disconnected(scanner: SerialScanner, sim: SimScanner) -> None:
    sim.unplug()
    wait_until(lambda: scanner.state is ScannerState.DISCONNECTED, what="disconnected")
    status = scanner.get_status()
    assert status["connected"] is False
    assert status["last_error"]


def test_replug_resumes_scans_and_counts_a_reconnect(
    scanner: SerialScanner, sim: SimScanner, received: ScanRecorder
) -> None:
    sim.unplug()
    wait_until(lambda: scanner.state is ScannerState.DISCONNECTED, what="disconnected")
    sim.plug()
    wait_until(lambda: scanner.connected, what="reconnected")
    sim.scan("BACK")
    wait_until(lambda: received.texts, what="a scan after replug")
    assert received.texts == ["BACK"]
    assert scanner.get_status()["reconnects"] == 1


def test_a_long_unplug_is_logged_once_not_per_retry(
    scanner: SerialScanner, sim: SimScanner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.devices.scanner")
    sim.unplug()
    wait_until(lambda: scanner.get_status()["open_failures"] >= 3, what="several failed reopen attempts")
    sim.plug()
    wait_until(lambda: scanner.get_status()["reconnects"] == 1, what="reconnected")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("disconnected" in m for m in messages) == 1
    assert sum("reconnects so far: 1" in m for m in messages) == 1


def test_scanner_starting_without_its_port_connects_when_plugged(
    pty_port: PtyPort, sim: SimScanner, received: ScanRecorder
) -> None:
    sim.unplug()
    scanner = SerialScanner(pty_port.path, FAST, SystemClock(), received)
    with scanner:
        scanner.start()
        wait_until(lambda: scanner.get_status()["open_failures"] >= 1, what="a failed open")
        assert scanner.state is ScannerState.DISCONNECTED
        sim.plug()
        wait_until(lambda: scanner.connected, what="connected")
        assert scanner.get_status()["reconnects"] == 0


def test_reopen_waits_for_the_backoff_on_the_injected_clock(
    pty_port: PtyPort, sim: SimScanner, received: ScanRecorder, fake_clock: FakeClock
) -> None:
    sim.unplug()
    settings = SerialScannerSettings(read_timeout_s=0.02, reconnect_initial_s=100.0, reconnect_max_s=400.0)
    scanner = SerialScanner(pty_port.path, settings, fake_clock, received)
    with scanner:
        scanner.start()
        wait_until(lambda: scanner.get_status()["open_failures"] == 1, what="a failed open")
        sim.plug()
        fake_clock.advance(100.0)
        wait_until(lambda: scanner.connected, what="reopened once the fake clock passed the backoff")


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_starts_again_after_a_reset() -> None:
    backoff = Backoff(0.5, 3.0)
    backoff.next_delay()
    backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_port_is_opened_exclusively(scanner: SerialScanner, pty_port: PtyPort, received: ScanRecorder) -> None:
    second = SerialScanner(pty_port.path, FAST, SystemClock(), received)
    with second:
        second.start()
        wait_until(lambda: second.get_status()["open_failures"] >= 1, what="the second open refused")
        assert second.state is ScannerState.DISCONNECTED
        assert "lock" in second.get_status()["last_error"].lower()


# --- trigger ------------------------------------------------------------------------------------


def test_gm65_trigger_reads_one_code_and_its_reply_is_not_a_scan(
    scanner: SerialScanner, sim: SimScanner, received: ScanRecorder
) -> None:
    sim.triggered_code = "TRIGGERED"
    scanner.trigger()
    wait_until(lambda: received.scans, what="the triggered scan")
    assert received.texts == ["TRIGGERED"]
    assert sim.commands == [Gm65Command(op=Gm65Op.WRITE, address=0x0002, data=b"\x01")]
    wait_until(lambda: scanner.get_status()["command_replies"] == 1, what="the reply counted")


def test_honeywell_trigger_sends_syn_t_cr(pty_port: PtyPort, received: ScanRecorder) -> None:
    settings = SerialScannerSettings(trigger=TriggerProtocol.HONEYWELL, read_timeout_s=0.02)
    with started(pty_port.path, received, settings) as scanner:
        scanner.trigger()
        assert wait_until(lambda: pty_port.read(0.05), what="bytes from the driver") == HONEYWELL_TRIGGER_ON


def test_trigger_while_disconnected_raises(scanner: SerialScanner, sim: SimScanner) -> None:
    sim.unplug()
    wait_until(lambda: scanner.state is ScannerState.DISCONNECTED, what="disconnected")
    with pytest.raises(DeviceError, match="not connected"):
        scanner.trigger()


def test_trigger_without_a_protocol_raises(pty_port: PtyPort, received: ScanRecorder) -> None:
    settings = SerialScannerSettings(trigger=TriggerProtocol.NONE, read_timeout_s=0.02)
    with started(pty_port.path, received, settings) as scanner, pytest.raises(DeviceError, match="no trigger"):
        scanner.trigger()


# --- lifecycle ----------------------------------------------------------------------------------


def test_close_is_idempotent_and_stops_the_thread(scanner: SerialScanner) -> None:
    thread = scanner._thread
    scanner.close()
    scanner.close()
    assert scanner.state is ScannerState.CLOSED
    assert thread is not None
    assert not thread.is_alive()


def test_close_before_start_is_fine(pty_port: PtyPort, received: ScanRecorder) -> None:
    scanner = SerialScanner(pty_port.path, FAST, SystemClock(), received)
    scanner.close()
    assert scanner.get_status()["state"] == "closed"


def test_start_after_close_is_refused(pty_port: PtyPort, received: ScanRecorder) -> None:
    scanner = SerialScanner(pty_port.path, FAST, SystemClock(), received)
    scanner.close()
    with pytest.raises(DeviceError, match="closed"):
        scanner.start()


def test_close_releases_the_port_for_the_next_owner(
    scanner: SerialScanner, pty_port: PtyPort, received: ScanRecorder
) -> None:
    scanner.close()
    with started(pty_port.path, received) as second:
        assert second.connected


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"baudrate": 0}, "baudrate"),
        ({"reconnect_initial_s": 0.0}, "reconnect_initial_s"),
        ({"reconnect_initial_s": 5.0, "reconnect_max_s": 1.0}, "reconnect_max_s must not be below"),
    ],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        SerialScannerSettings(**kwargs)  # type: ignore[arg-type]


# --- finding the port by USB id -----------------------------------------------------------------


def test_usb_id_is_parsed_from_the_port_name() -> None:
    assert parse_usb_id("usb:1EAB:0d10") == (0x1EAB, 0x0D10)


def test_a_path_is_not_a_usb_id() -> None:
    assert parse_usb_id("/dev/serial/by-id/usb-SM_GM65-if00") is None


def test_find_port_picks_the_matching_vid_and_pid() -> None:
    ports = [
        FakePortInfo("/dev/ttyUSB0", 0x0403, 0x6001),
        FakePortInfo("/dev/ttyACM3", 0x1EAB, 0x0D10),
        FakePortInfo("/dev/ttyS0", None, None),
    ]
    assert find_port(0x1EAB, 0x0D10, ports) == "/dev/ttyACM3"


def test_find_port_prefers_the_lowest_path_when_several_match() -> None:
    ports = [FakePortInfo("/dev/ttyACM2", 1, 2), FakePortInfo("/dev/ttyACM1", 1, 2)]
    assert find_port(1, 2, ports) == "/dev/ttyACM1"


def test_find_port_returns_none_without_a_match() -> None:
    assert find_port(1, 2, [FakePortInfo("/dev/ttyACM0", 1, 3)]) is None


def test_resolve_port_without_a_match_raises() -> None:
    with pytest.raises(DeviceError, match="1eab:0d10"):
        resolve_port("usb:1eab:0d10", list)


def test_scanner_named_by_usb_id_reads_codes(pty_port: PtyPort, sim: SimScanner, received: ScanRecorder) -> None:
    def ports() -> list[FakePortInfo]:
        return [FakePortInfo(pty_port.slave_name, 0x1EAB, 0x0D10)] if pty_port.plugged else []

    with started("usb:1eab:0d10", received, ports=ports) as scanner:
        sim.scan("BYUSB")
        wait_until(lambda: received.texts, what="a scan")
        assert received.texts == ["BYUSB"]
        assert scanner.get_status()["port_path"] == pty_port.slave_name
