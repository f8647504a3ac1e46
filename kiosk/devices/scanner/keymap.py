"""Key events of a keyboard-mode scanner → the bytes it meant — pure, no evdev needed.

A scanner in USB keyboard mode "types" a code: key press/release events (Linux input event codes, the
numbers ``evdev.ecodes`` names) with Shift held for upper-case letters and symbols, then Enter. We read
the device grabbed, so the decoding is ours and does not depend on the desktop's layout or Caps Lock;
the scanner is assumed to emulate a US keyboard (their factory default).

Covered: digits, letters, the QR alphanumeric set (space $ % * + - . / :), the rest of the US
printable ASCII keys, the keypad; Enter, keypad Enter and Tab end a code. Any other key pressed gives
:data:`UNMAPPED`, a byte that is not text in ASCII or UTF-8, so the code framer reports the code as
unreadable instead of silently dropping a character.
"""

from __future__ import annotations

from collections.abc import Iterable

EV_KEY = 1
"""Event type of key events."""

KEY_UP = 0
KEY_DOWN = 1
KEY_REPEAT = 2

UNMAPPED = b"\xff"
"""Stands in for a key we cannot translate (never valid ASCII or UTF-8)."""
TERMINATOR = b"\r"
"""What Enter becomes: the framer's end of a code."""

# Linux input event codes (include/uapi/linux/input-event-codes.h; the numbers are kernel ABI).
KEY_LEFTSHIFT = 42
KEY_RIGHTSHIFT = 54
SHIFT_KEYS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})

KEY_ENTER = 28
KEY_KPENTER = 96
KEY_TAB = 15
TERMINATOR_KEYS = frozenset({KEY_ENTER, KEY_KPENTER, KEY_TAB})

# Keys that only change state, and are never part of a code: ignored without marking the code bad.
IGNORED_KEYS = frozenset(
    {
        29,  # KEY_LEFTCTRL
        97,  # KEY_RIGHTCTRL
        56,  # KEY_LEFTALT
        100,  # KEY_RIGHTALT
        58,  # KEY_CAPSLOCK
        69,  # KEY_NUMLOCK
        125,  # KEY_LEFTMETA
        126,  # KEY_RIGHTMETA
    }
)

# name: (code, without shift, with shift) — names are evdev.ecodes names (the tests check the codes).
KEYS: dict[str, tuple[int, str, str]] = {
    "KEY_1": (2, "1", "!"),
    "KEY_2": (3, "2", "@"),
    "KEY_3": (4, "3", "#"),
    "KEY_4": (5, "4", "$"),
    "KEY_5": (6, "5", "%"),
    "KEY_6": (7, "6", "^"),
    "KEY_7": (8, "7", "&"),
    "KEY_8": (9, "8", "*"),
    "KEY_9": (10, "9", "("),
    "KEY_0": (11, "0", ")"),
    "KEY_MINUS": (12, "-", "_"),
    "KEY_EQUAL": (13, "=", "+"),
    "KEY_Q": (16, "q", "Q"),
    "KEY_W": (17, "w", "W"),
    "KEY_E": (18, "e", "E"),
    "KEY_R": (19, "r", "R"),
    "KEY_T": (20, "t", "T"),
    "KEY_Y": (21, "y", "Y"),
    "KEY_U": (22, "u", "U"),
    "KEY_I": (23, "i", "I"),
    "KEY_O": (24, "o", "O"),
    "KEY_P": (25, "p", "P"),
    "KEY_LEFTBRACE": (26, "[", "{"),
    "KEY_RIGHTBRACE": (27, "]", "}"),
    "KEY_A": (30, "a", "A"),
    "KEY_S": (31, "s", "S"),
    "KEY_D": (32, "d", "D"),
    "KEY_F": (33, "f", "F"),
    "KEY_G": (34, "g", "G"),
    "KEY_H": (35, "h", "H"),
    "KEY_J": (36, "j", "J"),
    "KEY_K": (37, "k", "K"),
    "KEY_L": (38, "l", "L"),
    "KEY_SEMICOLON": (39, ";", ":"),
    "KEY_APOSTROPHE": (40, "'", '"'),
    "KEY_GRAVE": (41, "`", "~"),
    "KEY_BACKSLASH": (43, "\\", "|"),
    "KEY_Z": (44, "z", "Z"),
    "KEY_X": (45, "x", "X"),
    "KEY_C": (46, "c", "C"),
    "KEY_V": (47, "v", "V"),
    "KEY_B": (48, "b", "B"),
    "KEY_N": (49, "n", "N"),
    "KEY_M": (50, "m", "M"),
    "KEY_COMMA": (51, ",", "<"),
    "KEY_DOT": (52, ".", ">"),
    "KEY_SLASH": (53, "/", "?"),
    "KEY_SPACE": (57, " ", " "),
    # The keypad types the same with or without Shift as far as a scanner is concerned.
    "KEY_KPASTERISK": (55, "*", "*"),
    "KEY_KP7": (71, "7", "7"),
    "KEY_KP8": (72, "8", "8"),
    "KEY_KP9": (73, "9", "9"),
    "KEY_KPMINUS": (74, "-", "-"),
    "KEY_KP4": (75, "4", "4"),
    "KEY_KP5": (76, "5", "5"),
    "KEY_KP6": (77, "6", "6"),
    "KEY_KPPLUS": (78, "+", "+"),
    "KEY_KP1": (79, "1", "1"),
    "KEY_KP2": (80, "2", "2"),
    "KEY_KP3": (81, "3", "3"),
    "KEY_KP0": (82, "0", "0"),
    "KEY_KPDOT": (83, ".", "."),
    "KEY_KPSLASH": (98, "/", "/"),
}

_PLAIN: dict[int, bytes] = {code: plain.encode("ascii") for code, plain, _ in KEYS.values()}
_SHIFTED: dict[int, bytes] = {code: shifted.encode("ascii") for code, _, shifted in KEYS.values()}


def key_bytes(code: int, shifted: bool) -> bytes:
    """The byte one key press types (with or without Shift); TERMINATOR for Enter; UNMAPPED if unknown."""
    if code in TERMINATOR_KEYS:
        return TERMINATOR
    table = _SHIFTED if shifted else _PLAIN
    return table.get(code, UNMAPPED)


class KeyDecoder:
    """Follows Shift across key events and turns key presses into bytes for the code framer."""

    def __init__(self) -> None:
        self._shift_down: set[int] = set()

    @property
    def shifted(self) -> bool:
        """True while either Shift key is held."""
        return bool(self._shift_down)

    def feed(self, code: int, value: int) -> bytes:
        """One key event (``value``: 0 release, 1 press, 2 autorepeat) → the bytes it types (often b'')."""
        if code in SHIFT_KEYS:
            if value == KEY_UP:
                self._shift_down.discard(code)
            else:
                self._shift_down.add(code)
            return b""
        # Releases type nothing; a scanner never holds a key, so autorepeat is noise, not a character.
        if value != KEY_DOWN or code in IGNORED_KEYS:
            return b""
        return key_bytes(code, self.shifted)

    def reset(self) -> None:
        """Forget held keys (the device was reopened)."""
        self._shift_down.clear()


def decode_keys(events: Iterable[tuple[int, int]]) -> bytes:
    """Decode a whole sequence of (key code, value) events from a fresh state."""
    decoder = KeyDecoder()
    return b"".join(decoder.feed(code, value) for code, value in events)
