"""Line breaking for Chinese (and mixed) text: never a lone character or a punctuation mark on a line of its own.

Kivy wraps at spaces only and cuts a text without spaces (Chinese) wherever the line is full, so
"请扫码开门。" can end with "门。" or just "。" alone on the last line — the eye skips it. These pure
functions break a text into lines themselves, from a width function the caller gives (the label's own
measure, or ``len`` in tests):

- each Chinese character is a place to break; a run of Latin letters or digits (a word) is not;
- closing punctuation (，。、！？）》 …) sticks to what comes before it, opening punctuation (（《“ …) to what
  follows, so no line starts with a closing mark or ends with an opening one;
- the last line of each paragraph holds at least two pieces: if it would hold one, a piece moves down
  from the line above (when that still fits).
"""

from __future__ import annotations

from collections.abc import Callable

CLOSING = set("，。、；：！？）》」』】〕〉”’,.;:!?)]}%…·—～")
"""Marks that must not begin a line (they close or end what comes before)."""
OPENING = set("（《「『【〔〈“‘([{")
"""Marks that must not end a line (they open what comes after)."""


def is_cjk(char: str) -> bool:
    """A Chinese/Japanese/Korean ideograph, kana, hangul or full-width form: a place where a line may break."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # radicals, CJK symbols, kana, ideographs
        or 0xAC00 <= code <= 0xD7AF  # hangul
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x2FA1F  # ideograph extensions
    )


def has_cjk(text: str) -> bool:
    """Whether any character of ``text`` is CJK (only then is the text broken here rather than by Kivy)."""
    return any(is_cjk(c) for c in text)


def pieces(paragraph: str) -> list[str]:
    """The unbreakable pieces of one paragraph, in order: each CJK character, each word with its trailing
    spaces, punctuation glued as described in the module docstring. Joined, they give the paragraph back."""
    out: list[str] = []
    glue_next = False  # the piece before was an opening mark: the next one joins it
    for char in paragraph:
        if out and (char in CLOSING or char == " "):
            out[-1] += char
            continue
        starts_word = not (is_cjk(char) or char in OPENING or char == " ")
        continues_word = out and starts_word and not glue_next and _ends_in_word(out[-1])
        if glue_next or continues_word:
            out[-1] += char
        else:
            out.append(char)
        glue_next = char in OPENING
    return out


def _ends_in_word(piece: str) -> bool:
    last = piece[-1]
    return not (is_cjk(last) or last in CLOSING or last in OPENING or last == " ")


def _split_wide(piece: str, width_of: Callable[[str], float], max_width: float) -> list[str]:
    """A piece wider than a line (a very long word) cut into as many characters as fit, line by line."""
    parts, line = [], ""
    for char in piece:
        if line and width_of((line + char).rstrip()) > max_width:
            parts.append(line)
            line = char
        else:
            line += char
    return [*parts, line] if line else parts


def break_paragraph(paragraph: str, width_of: Callable[[str], float], max_width: float) -> list[str]:
    """One paragraph as lines no wider than ``max_width`` (by ``width_of``), the last one never a lone piece."""
    units: list[str] = []
    for piece in pieces(paragraph):
        units += [piece] if width_of(piece.rstrip()) <= max_width else _split_wide(piece, width_of, max_width)
    lines: list[list[str]] = []
    for unit in units:
        if lines and width_of("".join([*lines[-1], unit]).rstrip()) <= max_width:
            lines[-1].append(unit)
        else:
            lines.append([unit])
    if len(lines) >= 2 and len(lines[-1]) == 1 and len(lines[-2]) >= 2:
        moved = [lines[-2][-1], *lines[-1]]
        if width_of("".join(moved).rstrip()) <= max_width:
            lines[-2], lines[-1] = lines[-2][:-1], moved
    return ["".join(line).rstrip() for line in lines] or [""]


def break_lines(text: str, width_of: Callable[[str], float], max_width: float) -> list[str]:
    """``text`` as lines that fit ``max_width``; its own newlines are kept as paragraph ends."""
    return [line for paragraph in text.split("\n") for line in break_paragraph(paragraph, width_of, max_width)]
