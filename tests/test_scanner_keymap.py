"""Keyboard-mode scanner keys → bytes: shift handling, the QR alphanumeric set, Enter, unknown keys."""

from __future__ import annotations

import pytest
from evdev import ecodes

from kiosk.devices.base import Scan
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
