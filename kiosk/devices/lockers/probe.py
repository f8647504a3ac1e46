"""Which lock-board profile answers on a bus: status queries only, never an unlock (``kiosk doctor --probe``).

For each protocol family and line speed the profiles use, the port is opened (exclusively, so a running
kiosk-core is not disturbed: the probe then says the port is busy) and each candidate board address is
asked for its status. What comes back is matched against the profiles by :func:`models_for`, a pure
function of the answer's shape (frame length, board address).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import serial

from kiosk.core.boards import PROFILES, BoardFamily
from kiosk.core.errors import ProtocolError
from kiosk.devices.lockers.rs485 import PORT_ERRORS
from kiosk.devices.protocols import board8a80 as p8a80
from kiosk.devices.protocols import kerong as pkerong

DEFAULT_BOARDS: Mapping[BoardFamily, tuple[int, ...]] = {
    "kerong": tuple(range(pkerong.BOARDS)),
    "8a80": tuple(range(1, 33)),
}
"""Addresses asked when the config names none: every Kerong board, every DIP-switch 8A/80 address."""


@dataclass(frozen=True)
class ProbeAnswer:
    """One board that answered a status query, and the profiles its answer fits."""

    family: BoardFamily
    baudrate: int
    board: int
    raw: bytes
    models: tuple[str, ...]

    def describe(self) -> str:
        """One plain line for a technician."""
        return (
            f"{self.family} board {self.board} answers at {self.baudrate} baud "
            f"({len(self.raw)}-byte status): fits {', '.join(self.models) or 'no known profile'}"
        )


def _setting(model: str, key: str) -> Any:
    return PROFILES[model].settings.get(key)


def _board_max(model: str) -> int:
    value = _setting(model, "board_max")
    return value if isinstance(value, int) else p8a80.MAX_BOARD


def models_for(family: BoardFamily, raw: bytes) -> tuple[str, ...]:
    """The profiles a status answer ``raw`` of ``family`` fits (by frame length and board address); pure."""
    names = sorted(name for name, profile in PROFILES.items() if profile.family == family)
    if family == "kerong":
        # CU16 and CU12 answer alike; the lock count on the board tells them apart.
        return tuple(names)
    board, status_bytes = raw[1], len(raw) - 4
    return tuple(
        name for name in names if _setting(name, "status_bytes") in (None, status_bytes) and board <= _board_max(name)
    )


def _status_request(family: BoardFamily, board: int) -> bytes:
    return pkerong.status_request(board) if family == "kerong" else p8a80.query_all_request(board)


def _answer_of(family: BoardFamily, board: int, data: bytes) -> bytes | None:
    """The status answer of ``board`` among ``data``, if there is one."""
    if family == "kerong":
        for raw in pkerong.split_frames(data).frames:
            try:
                frame = pkerong.decode_frame(raw)
            except ProtocolError:
                continue
            if frame.command is pkerong.Command.STATUS_REPLY and frame.board == board:
                return raw
        return None
    for raw in p8a80.split_replies(data, expect_all=True).frames:
        try:
            reply = p8a80.decode_reply(raw)
        except ProtocolError:
            continue
        if isinstance(reply, p8a80.BoardReply) and reply.board == board:
            return raw
    return None


def _ask(port: serial.Serial, request: bytes, family: BoardFamily, board: int, timeout_s: float) -> bytes | None:
    port.reset_input_buffer()
    port.write(request)
    deadline = time.monotonic() + timeout_s
    data = b""
    while time.monotonic() < deadline:
        data += port.read(max(1, port.in_waiting))
        answer = _answer_of(family, board, data)
        if answer is not None:
            return answer
    return None


def _speeds(family: BoardFamily) -> list[int]:
    speeds = {p.settings.get("baudrate") for p in PROFILES.values() if p.family == family}
    return sorted(s for s in speeds if isinstance(s, int))


def probe_bus(
    port: str,
    boards: Mapping[BoardFamily, Iterable[int]] | None = None,
    *,
    timeout_s: float = 0.15,
    open_port: Callable[..., serial.Serial] = serial.Serial,
) -> list[ProbeAnswer]:
    """Ask every candidate board of every family for its status; the boards that answered.

    Raises OSError (``serial.SerialException`` included) when the port cannot be opened: missing, or
    held by a running kiosk-core.
    """
    wanted = boards if boards is not None else DEFAULT_BOARDS
    found: list[ProbeAnswer] = []
    for family, addresses in wanted.items():
        candidates = list(addresses)
        for baudrate in _speeds(family):
            try:
                line = open_port(port, baudrate=baudrate, timeout=0.02, write_timeout=1.0, exclusive=True)
            except PORT_ERRORS as exc:
                raise OSError(f"cannot open {port}: {exc}") from exc
            with line:
                for board in list(candidates):
                    raw = _ask(line, _status_request(family, board), family, board, timeout_s)
                    if raw is not None:
                        found.append(ProbeAnswer(family, baudrate, board, raw, models_for(family, raw)))
                        candidates.remove(board)  # found at this speed: not asked again at another
    return found
