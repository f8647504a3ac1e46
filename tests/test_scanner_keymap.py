"""Keyboard-mode scanners: keys → bytes (shift, the QR alphanumeric set, Enter, unknown keys) and the driver."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import evdev
import pytest
from evdev import ecodes

from kiosk.core.clock import SystemClock
from kiosk.core.hardware import EvdevScannerSettings
from kiosk.devices.base import Scan
from kiosk.devices.scanner import ScannerState
from kiosk.devices.scanner.evdev_scanner import EvdevScanner
from kiosk.devices.scanner.framing import CodeFramer
from kiosk.devices.scanner.keymap import (
    EV_KEY,
    IGNORED_KEYS,
    KEY_DOWN,
    KEY_REPEAT,
    KEY_UP,
    KEYS,
    SHIFT_KEYS,
    TERMINATOR_KEYS,
    UNMAPPED,
    KeyDecoder,
    decode_keys,
)
from tests.support import wait_until

E = ecodes.ecodes
SHIFT = E["KEY_LEFTSHIFT"]


def press(name: str) -> list[tuple[int, int]]:
    return [(E[name], KEY_DOWN), (E[name], KEY_UP)]


def shifted(name: str, shift: str = "KEY_LEFTSHIFT") -> list[tuple[int, int]]:
    return [(E[shift], KEY_DOWN), *press(name), (E[shift], KEY_UP)]


def typed(text: str) -> list[tuple[int, int]]:
    """The events a US-layout scanner sends for ``text`` (upper case and symbols with Shift)."""
    by_char: dict[str, list[tuple[int, int]]] = {}
    for name, (_, plain, shifted_char) in KEYS.items():
        if name.startswith("KEY_KP"):
            continue
        by_char.setdefault(plain, press(name))
        by_char.setdefault(shifted_char, shifted(name))
    events: list[tuple[int, int]] = []
    for ch in text:
        events += by_char[ch]
    return events


def test_key_codes_are_the_kernel_ones_evdev_names() -> None:
    assert {name: code for name, (code, _, _) in KEYS.items()} == {name: E[name] for name in KEYS}


def test_special_key_codes_are_the_kernel_ones_evdev_names() -> None:
    assert EV_KEY == ecodes.EV_KEY
    assert {E["KEY_LEFTSHIFT"], E["KEY_RIGHTSHIFT"]} == SHIFT_KEYS
    assert {E["KEY_ENTER"], E["KEY_KPENTER"], E["KEY_TAB"]} == TERMINATOR_KEYS
    names = ["KEY_LEFTCTRL", "KEY_RIGHTCTRL", "KEY_LEFTALT", "KEY_RIGHTALT", "KEY_CAPSLOCK", "KEY_NUMLOCK"]
    assert {E[n] for n in names} | {E["KEY_LEFTMETA"], E["KEY_RIGHTMETA"]} == IGNORED_KEYS


def test_digits_type_without_shift() -> None:
    assert decode_keys([e for n in "1234567890" for e in press(f"KEY_{n}")]) == b"1234567890"


def test_letters_are_lower_case_without_shift() -> None:
    assert decode_keys(press("KEY_A") + press("KEY_Z")) == b"az"


def test_letters_are_upper_case_while_shift_is_held() -> None:
    assert decode_keys(shifted("KEY_A") + shifted("KEY_Z", shift="KEY_RIGHTSHIFT")) == b"AZ"


def test_shift_release_returns_to_lower_case() -> None:
    events = [(SHIFT, KEY_DOWN), *press("KEY_Q"), (SHIFT, KEY_UP), *press("KEY_Q")]
    assert decode_keys(events) == b"Qq"


def test_shift_stays_held_while_the_other_shift_is_released() -> None:
    right = E["KEY_RIGHTSHIFT"]
    events = [(SHIFT, KEY_DOWN), (right, KEY_DOWN), (right, KEY_UP), *press("KEY_B")]
    assert decode_keys(events) == b"B"


def test_qr_alphanumeric_symbols_decode() -> None:
    assert decode_keys(typed("A1 $%*+-./:")) == b"A1 $%*+-./:"


def test_keypad_symbols_decode() -> None:
    names = ["KEY_KP7", "KEY_KPASTERISK", "KEY_KPPLUS", "KEY_KPMINUS", "KEY_KPDOT", "KEY_KPSLASH"]
    assert decode_keys([e for n in names for e in press(n)]) == b"7*+-./"


@pytest.mark.parametrize("name", ["KEY_ENTER", "KEY_KPENTER", "KEY_TAB"])
def test_enter_keys_end_a_code(name: str) -> None:
    assert decode_keys(press(name)) == b"\r"


def test_key_release_types_nothing() -> None:
    assert KeyDecoder().feed(E["KEY_A"], KEY_UP) == b""


def test_autorepeat_types_nothing() -> None:
    decoder = KeyDecoder()
    decoder.feed(E["KEY_A"], KEY_DOWN)
    assert decoder.feed(E["KEY_A"], KEY_REPEAT) == b""


def test_modifiers_other_than_shift_are_ignored() -> None:
    assert decode_keys(press("KEY_LEFTCTRL") + press("KEY_CAPSLOCK") + press("KEY_C")) == b"c"


def test_unknown_key_marks_the_code_unreadable() -> None:
    assert decode_keys(press("KEY_F1")) == UNMAPPED


def test_reset_forgets_a_held_shift() -> None:
    decoder = KeyDecoder()
    decoder.feed(SHIFT, KEY_DOWN)
    decoder.reset()
    assert decoder.feed(E["KEY_A"], KEY_DOWN) == b"a"


def test_typed_rider_code_reaches_the_framer_as_one_scan() -> None:
    code = "KS1:ABC-123/XY.Z+45%$*"
    framer = CodeFramer()
    assert framer.feed(decode_keys(typed(code) + press("KEY_ENTER")), 1.0) == [Scan(text=code, mono=1.0)]


def test_code_with_an_unknown_key_reaches_the_framer_as_a_bad_scan() -> None:
    framer = CodeFramer()
    (scan,) = framer.feed(decode_keys(typed("AB") + press("KEY_F5") + press("KEY_ENTER")), 1.0)
    assert scan.error is not None


# --- the keyboard-mode driver (no /dev/uinput here: a stand-in for evdev.InputDevice) ------------


@dataclass(frozen=True)
class FakeEvent:
    type: int
    code: int
    value: int


class FakeInputDevice:
    """Enough of ``evdev.InputDevice`` for the driver: an fd to select on, read(), grab(), close()."""

    opened: ClassVar[list[FakeInputDevice]] = []
    busy: ClassVar[bool] = False

    def __init__(self, path: str) -> None:
        if not Path(path).exists():
            raise FileNotFoundError(2, "No such file or directory", path)
        self.path = path
        self.name = "Fake QR wedge"
        self._r, self._w = os.pipe()
        self.fd = self._r
        self.grabbed = False
        self.closed = False
        self.gone = False
        self._lock = threading.Lock()
        self._events: list[FakeEvent] = []
        FakeInputDevice.opened.append(self)

    def grab(self) -> None:
        if FakeInputDevice.busy:
            raise OSError(errno.EBUSY, "Device or resource busy")
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def read(self) -> Iterator[FakeEvent]:
        os.read(self._r, 4096)
        if self.gone:
            raise OSError(errno.ENODEV, "No such device")
        with self._lock:
            events, self._events = self._events, []
        yield from events

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._r)
            os.close(self._w)

    # what the test does with the device
    def send(self, events: list[tuple[int, int]]) -> None:
        with self._lock:
            self._events += [FakeEvent(EV_KEY, code, value) for code, value in events]
            self._events.append(FakeEvent(0, 0, 0))  # EV_SYN, which the driver must skip
        os.write(self._w, b"!")

    def vanish(self) -> None:
        self.gone = True
        os.write(self._w, b"!")


FAST = EvdevScannerSettings(read_timeout_s=0.02, reconnect_initial_s=0.01, reconnect_max_s=0.05)


@pytest.fixture
def fake_evdev(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeInputDevice]]:
    monkeypatch.setattr(evdev, "InputDevice", FakeInputDevice)
    FakeInputDevice.opened = []
    FakeInputDevice.busy = False
    yield FakeInputDevice
    for device in FakeInputDevice.opened:
        device.close()


@pytest.fixture
def device_path(tmp_path: Path) -> Path:
    path = tmp_path / "usb-QR_Wedge-event-kbd"
    path.touch()
    return path


def collecting() -> tuple[list[Scan], Callable[[Scan], None]]:
    got: list[Scan] = []
    lock = threading.Lock()

    def listener(scan: Scan) -> None:
        with lock:
            got.append(scan)

    return got, listener


def test_evdev_scanner_grabs_the_device_and_reads_a_typed_code(
    fake_evdev: type[FakeInputDevice], device_path: Path
) -> None:
    got, listener = collecting()
    with EvdevScanner(str(device_path), FAST, SystemClock(), listener) as scanner:
        scanner.start()
        wait_until(lambda: scanner.connected, what="connected")
        device = fake_evdev.opened[-1]
        assert device.grabbed
        device.send(typed("KS1:AB-12") + press("KEY_ENTER"))
        wait_until(lambda: got, what="a scan")
        assert [s.text for s in got] == ["KS1:AB-12"]
    assert device.closed
    assert not device.grabbed


def test_evdev_scanner_ends_a_code_without_enter_after_the_idle_gap(
    fake_evdev: type[FakeInputDevice], device_path: Path
) -> None:
    got, listener = collecting()
    settings = EvdevScannerSettings(idle_gap_s=0.05, read_timeout_s=0.02)
    with EvdevScanner(str(device_path), settings, SystemClock(), listener) as scanner:
        scanner.start()
        wait_until(lambda: scanner.connected, what="connected")
        fake_evdev.opened[-1].send(typed("NOENTER"))
        wait_until(lambda: got, what="a scan ended by the gap")
        assert [s.text for s in got] == ["NOENTER"]


def test_evdev_scanner_survives_unplug_and_replug(fake_evdev: type[FakeInputDevice], device_path: Path) -> None:
    got, listener = collecting()
    with EvdevScanner(str(device_path), FAST, SystemClock(), listener) as scanner:
        scanner.start()
        wait_until(lambda: scanner.connected, what="connected")
        device_path.unlink()
        fake_evdev.opened[-1].vanish()
        wait_until(lambda: scanner.state is ScannerState.DISCONNECTED, what="disconnected")
        wait_until(lambda: scanner.get_status()["open_failures"] >= 2, what="reopen attempts")
        device_path.touch()
        wait_until(lambda: scanner.connected, what="reconnected")
        fake_evdev.opened[-1].send(typed("AGAIN") + press("KEY_ENTER"))
        wait_until(lambda: got, what="a scan after replug")
        assert [s.text for s in got] == ["AGAIN"]
        assert scanner.get_status()["reconnects"] == 1


def test_evdev_scanner_held_by_another_program_stays_disconnected(
    fake_evdev: type[FakeInputDevice], device_path: Path
) -> None:
    fake_evdev.busy = True
    _, listener = collecting()
    with EvdevScanner(str(device_path), FAST, SystemClock(), listener) as scanner:
        scanner.start()
        wait_until(lambda: scanner.get_status()["open_failures"] >= 1, what="a refused grab")
        status = scanner.get_status()
        assert status["state"] == "disconnected"
        assert "grab" in status["last_error"]
    assert all(device.closed for device in fake_evdev.opened)


def test_evdev_scanner_module_imports_without_evdev() -> None:
    code = (
        "import sys\n"
        "sys.modules['evdev'] = None\n"  # makes 'import evdev' fail
        "import kiosk.devices.scanner.evdev_scanner\n"
        "import kiosk.devices.scanner.keymap\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip() == "ok", result.stderr


def test_evdev_scanner_without_evdev_reports_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, device_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "evdev", None)
    _, listener = collecting()
    with EvdevScanner(str(device_path), FAST, SystemClock(), listener) as scanner:
        scanner.start()
        wait_until(lambda: scanner.get_status()["open_failures"] >= 1, what="a failed open")
        assert "evdev" in scanner.get_status()["last_error"]
