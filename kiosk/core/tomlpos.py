"""Where each key of a TOML document is written, so config errors can name their line.

``tomllib`` gives values but no positions. :func:`key_lines` reads the text once more, tracking
``[table]`` and ``[[array.of.tables]]`` headers, dotted keys, multi-line strings and arrays, and maps
each key path — in pydantic's ``loc`` form, e.g. ``("hardware", "bays", 1, "door_pin")`` — to its
1-based line. It is a locator, not a parser: the text has already parsed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

KeyPath = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_TABLE_RE = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]\s*(?:#.*)?$")
_ARRAY_RE = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]\s*(?:#.*)?$")
_KEYVAL_RE = re.compile(rf"^\s*({_DOTTED})\s*=\s*(.*)$")
_PART_RE = re.compile(_KEY)


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for match in _PART_RE.finditer(dotted):
        part = match.group(0)
        if part[:1] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _bracket_balance(value: str) -> int:
    """Net open brackets in a value, ignoring brackets inside strings and comments."""
    depth = 0
    quote = ""
    i = 0
    while i < len(value):
        ch = value[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return depth


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map every table and key path in ``text`` to the line it is written on (1-based)."""
    lines: dict[KeyPath, int] = {}
    counters: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    depth = 0
    in_multiline = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = ""
            continue
        if depth > 0:
            depth += _bracket_balance(raw)
            continue
        if match := _ARRAY_RE.match(raw):
            array = _split_key(match.group(1))
            index = counters.get(array, -1) + 1
            counters[array] = index
            table = (*array, index)
            for end in range(1, len(array) + 1):  # [[a.b]] also defines the table a
                lines.setdefault(array[:end], number)
            lines[table] = number
            continue
        if match := _TABLE_RE.match(raw):
            name: KeyPath = _split_key(match.group(1))
            # A sub-table of the latest element of an array of tables: [[bays]] then [bays.extra].
            for prefix_len in range(len(name) - 1, 0, -1):
                prefix = tuple(str(p) for p in name[:prefix_len])
                if prefix in counters:
                    name = (*prefix, counters[prefix], *name[prefix_len:])
                    break
            table = name
            for end in range(1, len(table) + 1):
                lines.setdefault(table[:end], number)
            continue
        if match := _KEYVAL_RE.match(raw):
            path = (*table, *_split_key(match.group(1)))
            lines.setdefault(path, number)
            value = match.group(2)
            for quote in ('"""', "'''"):
                if value.lstrip().startswith(quote) and value.count(quote) == 1:
                    in_multiline = quote
            if not in_multiline:
                depth = max(0, _bracket_balance(value))
    return lines


def _where(loc: Sequence[str | int], lines: Mapping[KeyPath, int]) -> tuple[int | None, KeyPath]:
    """The line of ``loc``, or of its nearest written ancestor, and which path that line belongs to."""
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path], path
        path = path[:-1]
    return None, ()


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        # List entries are counted from 1, as a technician counts [[hardware.bays]] tables in the file.
        out += f" #{part + 1}" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _table_name(path: Sequence[str | int]) -> str:
    return f"[{_dotted(path)}]" if path else "the top level"


def describe_error(err: Mapping[str, Any], lines: Mapping[KeyPath, int], known_keys: Sequence[str] = ()) -> str:
    """One plain line for one pydantic error: line number, key, what was expected, what was found.

    ``known_keys`` are the keys allowed where an unknown key was found, for a "did you mean" hint.
    """
    loc: tuple[str | int, ...] = tuple(err.get("loc", ()))
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", "invalid value"))
    # pydantic prefixes validator messages with "Value error, "; the rider of this text is a technician.
    msg = msg.removeprefix("Value error, ")
    line, found_at = _where(loc, lines)
    prefix = f"line {line}: " if line is not None else ""
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        parent = loc[:-1]
        known = list(known_keys)
        hint = ""
        if known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" — did you mean '{close[0]}'?" if close else f" — known keys: {', '.join(known)}"
        return f"{prefix}unknown key '{key}' in {_table_name(parent)}{hint}"
    if kind == "missing":
        key = str(loc[-1]) if loc else "?"
        where = _table_name(loc[:-1])
        if line is None or found_at != tuple(loc[:-1]):
            # Even the table is absent: point at the file itself.
            return f"missing required key '{key}' in {where} (add it to the file)"
        return f"{prefix}missing required key '{key}' in {where}"
    got = err.get("input")
    plain = isinstance(got, dict | list) or got is None or kind == "value_error"
    shown = "" if plain else f" (got {got!r})"
    return f"{prefix}{_dotted(loc) or 'config'}: {msg}{shown}"
