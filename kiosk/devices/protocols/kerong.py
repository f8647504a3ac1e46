"""Kerong KR-CU16 / KR-CU12 lock boards: frame encoders, decoders and a stream splitter (pure).

Frame: ``02 <addr> <cmd> [data] 03 <sum>``, sum = low 8 bits of the sum of every byte before it.
``<addr>`` carries the board (high nibble, 0-15) and the lock (low nibble, 0-based). A board answers a
status or unlock command with a 9-byte status frame ``02 <addr> 35 <locks1-8> <locks9-16> <ir1-8>
<ir9-16> 03 <sum>``. The unlock pulse time (command ``37``, answer ``38``) exists in two forms in the
field: a 6-byte frame with one data byte (10 ms units) and a 7-byte frame with two data bytes (the
same units, high byte first — this project's reading; boards that take the long form differ in what
they put there, so it is only used best-effort). The decoders accept both.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from kiosk.core.errors import ProtocolError
from kiosk.devices.protocols import NEED_MORE, NOT_A_FRAME, Split, split_stream

STX = 0x02
ETX = 0x03
BOARDS = 16
"""Boards addressable on one bus (0-15)."""
LOCKS_PER_BOARD = 16
"""Locks one KR-CU16 drives (a CU12 uses the first 12)."""


class Command(enum.IntEnum):
    """Command and answer codes."""

    STATUS = 0x30
    UNLOCK = 0x31
    STATUS_ALL = 0x32
    UNLOCK_ALL = 0x33
    STATUS_REPLY = 0x35
    PULSE_TIME = 0x37
    PULSE_TIME_REPLY = 0x38


_LENGTH: dict[int, int] = {
    Command.STATUS: 5,
    Command.UNLOCK: 5,
    Command.STATUS_ALL: 5,
    Command.UNLOCK_ALL: 5,
    Command.STATUS_REPLY: 9,
    Command.PULSE_TIME: 6,
    Command.PULSE_TIME_REPLY: 6,
}
_LONG_PULSE_LENGTH = 7
"""The 7-byte form of PULSE_TIME / PULSE_TIME_REPLY (two data bytes)."""
_VARIABLE: dict[int, tuple[int, ...]] = {
    Command.PULSE_TIME: (6, _LONG_PULSE_LENGTH),
    Command.PULSE_TIME_REPLY: (6, _LONG_PULSE_LENGTH),
}
MAX_FRAME = max(*_LENGTH.values(), _LONG_PULSE_LENGTH)

PulseForm = Literal["short", "long"]
"""The 6-byte (one data byte) or 7-byte (two data bytes) form of the unlock-time command."""


def checksum(data: bytes) -> int:
    """Low 8 bits of the sum of ``data``."""
    return sum(data) & 0xFF


def address(board: int, lock: int = 0) -> int:
    """The address byte of ``board`` (0-15) and ``lock`` (0-15, 0-based)."""
    if not 0 <= board < BOARDS:
        raise ValueError(f"Kerong board number must be 0-15, got {board}")
    if not 0 <= lock < LOCKS_PER_BOARD:
        raise ValueError(f"Kerong lock number must be 0-15 (0-based), got {lock}")
    return board << 4 | lock


def encode(command: Command, addr: int, data: bytes = b"") -> bytes:
    """One frame: ``02 addr cmd data 03 sum``."""
    lengths = _VARIABLE.get(command, (_LENGTH[command],))
    if len(data) + 5 not in lengths:
        wanted = " or ".join(str(n - 5) for n in lengths)
        raise ValueError(f"command {command.name} carries {wanted} data bytes, got {len(data)}")
    body = bytes([STX, addr & 0xFF, command]) + data + bytes([ETX])
    return body + bytes([checksum(body)])


def status_request(board: int) -> bytes:
    """Ask one board for its lock and infrared bits (``02 b0 30 03 sum``)."""
    return encode(Command.STATUS, address(board))


def unlock_request(board: int, lock: int) -> bytes:
    """Pulse one lock open (``02 bl 31 03 sum``)."""
    return encode(Command.UNLOCK, address(board, lock))


def status_all_request() -> bytes:
    """Ask every board on the bus for its status (broadcast)."""
    return encode(Command.STATUS_ALL, 0)


def unlock_all_request(board: int) -> bytes:
    """Pulse every lock of one board open."""
    return encode(Command.UNLOCK_ALL, address(board))


def _pulse_units(pulse_ms: int) -> int:
    units = round(pulse_ms / 10)
    if not 1 <= units <= 0xFF:
        raise ValueError(f"unlock pulse must be 10-2550 ms, got {pulse_ms} ms")
    return units


def _pulse_data(pulse_ms: int, form: PulseForm) -> bytes:
    units = _pulse_units(pulse_ms)
    return bytes([units]) if form == "short" else units.to_bytes(2, "big")


def pulse_time_request(board: int, pulse_ms: int, form: PulseForm = "short") -> bytes:
    """Set one board's unlock pulse length (10 ms units), in the 6-byte or the 7-byte form."""
    return encode(Command.PULSE_TIME, address(board), _pulse_data(pulse_ms, form))


def pulse_time_reply(board: int, pulse_ms: int, form: PulseForm = "short") -> bytes:
    """A board's answer to :func:`pulse_time_request`."""
    return encode(Command.PULSE_TIME_REPLY, address(board), _pulse_data(pulse_ms, form))


def pulse_form_of(frame: Frame) -> PulseForm:
    """Which form a PULSE_TIME(_REPLY) frame had."""
    return "short" if len(frame.data) == 1 else "long"


def pulse_ms_of(frame: Frame) -> int:
    """The pulse length a PULSE_TIME(_REPLY) frame carries (ms)."""
    return int.from_bytes(frame.data, "big") * 10


def status_reply(board: int, lock_bits: int, ir_bits: int, *, lock: int = 0) -> bytes:
    """A board's 9-byte status frame; bit i of ``lock_bits``/``ir_bits`` is lock i (0-based)."""
    if not 0 <= lock_bits <= 0xFFFF or not 0 <= ir_bits <= 0xFFFF:
        raise ValueError("lock and infrared bits must fit in 16 bits")
    data = bytes([lock_bits & 0xFF, lock_bits >> 8, ir_bits & 0xFF, ir_bits >> 8])
    return encode(Command.STATUS_REPLY, address(board, lock), data)


@dataclass(frozen=True)
class Frame:
    """A checked frame of either direction."""

    command: Command
    addr: int
    data: bytes

    @property
    def board(self) -> int:
        """Board number (high nibble of the address)."""
        return self.addr >> 4

    @property
    def lock(self) -> int:
        """Lock number, 0-based (low nibble of the address)."""
        return self.addr & 0x0F


@dataclass(frozen=True)
class BoardStatus:
    """What a status frame says: bit i of each mask is lock i (0-based)."""

    board: int
    lock_bits: int
    ir_bits: int

    def locked(self, lock: int, *, locked_bit_value: int = 1) -> bool:
        """Whether ``lock`` reports closed and locked, for the board's polarity."""
        return (self.lock_bits >> lock & 1) == locked_bit_value

    def occupied(self, lock: int) -> bool:
        """Whether the infrared sensor of ``lock`` sees something in the bay."""
        return bool(self.ir_bits >> lock & 1)


def decode_frame(raw: bytes) -> Frame:
    """Check and decode one complete frame. Raises ProtocolError (only) when it is not one."""
    if len(raw) < 5:
        raise ProtocolError(f"Kerong frame too short ({len(raw)} bytes): {raw.hex(' ')}")
    if raw[0] != STX:
        raise ProtocolError(f"Kerong frame must start with 02, got {raw[0]:02x}")
    try:
        command = Command(raw[2])
    except ValueError:
        raise ProtocolError(f"unknown Kerong command {raw[2]:02x}") from None
    lengths = _VARIABLE.get(command, (_LENGTH[command],))
    if len(raw) not in lengths:
        wanted = " or ".join(str(n) for n in lengths)
        raise ProtocolError(f"Kerong {command.name} frame must be {wanted} bytes, got {len(raw)}")
    if raw[-2] != ETX:
        raise ProtocolError(f"Kerong frame must end with 03 before the checksum, got {raw[-2]:02x}")
    if checksum(raw[:-1]) != raw[-1]:
        raise ProtocolError(f"Kerong checksum wrong: {raw.hex(' ')} (expected {checksum(raw[:-1]):02x})")
    return Frame(command=command, addr=raw[1], data=bytes(raw[3:-2]))


def status_of(frame: Frame) -> BoardStatus:
    """The lock and infrared bits of a status frame. Raises ProtocolError for any other frame."""
    if frame.command is not Command.STATUS_REPLY:
        raise ProtocolError(f"expected a Kerong status frame (35), got {frame.command.name}")
    d = frame.data
    return BoardStatus(board=frame.board, lock_bits=d[0] | d[1] << 8, ir_bits=d[2] | d[3] << 8)


def decode_status(raw: bytes) -> BoardStatus:
    """Decode a 9-byte status frame. Raises ProtocolError (only)."""
    return status_of(decode_frame(raw))


def _frame_test(buffer: bytes, i: int) -> int:
    if buffer[i] != STX:
        return NOT_A_FRAME
    available = len(buffer) - i
    if available < 3:
        return NEED_MORE
    command = buffer[i + 2]
    if command not in _LENGTH:
        return NOT_A_FRAME
    lengths = _VARIABLE.get(command, (_LENGTH[command],))
    for length in lengths:
        if available < length:
            return NEED_MORE
        end = i + length
        if buffer[end - 2] == ETX and checksum(buffer[i : end - 1]) == buffer[end - 1]:
            return length
    return NOT_A_FRAME


def split_frames(buffer: bytes) -> Split:
    """Cut a byte stream (either direction) into checked frames; see :func:`split_stream`."""
    return split_stream(buffer, _frame_test)
