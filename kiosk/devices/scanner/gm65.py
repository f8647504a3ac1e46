"""GM65-class scanner module commands and replies, and the Honeywell serial trigger — pure bytes.

Command: ``7E 00 <type> <len> <addr hi> <addr lo> <data…> <check hi> <check lo>`` where type is 07 read,
08 write, 09 save to flash; the check is CRC-16/XMODEM over type..data, or the literal ``AB CD`` which
the module accepts instead (save, write and read frames carry the real CRC — the save frame is
``7E 00 09 01 00 00 00 DE C8`` as public drivers send it; only the trigger's check is a setting). Reply:
``02 00 00 <len> <data…> <crc hi> <crc lo>``, CRC over ``00 00 len data``; some modules end every reply
with the constant ``33 31`` (the CRC of the plain "done" reply) instead, which is accepted. A reply
shares the serial line with scanned codes, so :class:`ReplySplitter` takes replies out of the stream
while one is expected.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.core.errors import ProtocolError
from kiosk.core.hardware import Gm65Check

COMMAND_HEAD = b"\x7e\x00"
REPLY_HEAD = b"\x02\x00\x00"
NO_CRC = b"\xab\xcd"
"""What the module accepts in place of a CRC."""
CONSTANT_TAIL = b"\x33\x31"
"""What some modules put at the end of every reply in place of its CRC."""

TRIGGER_ADDRESS = 0x0002
"""Register whose bit 0 starts one scan when written."""

HONEYWELL_TRIGGER_ON = b"\x16\x54\x0d"
"""SYN 'T' CR: start a scan (Honeywell serial)."""
HONEYWELL_TRIGGER_OFF = b"\x16\x55\x0d"
"""SYN 'U' CR: stop scanning (Honeywell serial)."""


class Gm65Op(enum.IntEnum):
    """The command types."""

    READ = 0x07
    WRITE = 0x08
    SAVE = 0x09


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0, not reflected, no final xor)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


@dataclass(frozen=True)
class Gm65Command:
    """One command frame, as built or as parsed."""

    op: Gm65Op
    address: int
    data: bytes


@dataclass(frozen=True)
class Gm65Reply:
    """One reply frame; ``data`` is what the module returned (``00`` for a successful write or save)."""

    data: bytes

    @property
    def ok(self) -> bool:
        """True for the plain "done" reply to a write or save."""
        return self.data == b"\x00"


def command_frame(op: Gm65Op, address: int, data: bytes, *, check: Gm65Check = Gm65Check.CRC) -> bytes:
    """Build a command frame. ``data`` is 1..255 bytes (for a read: the number of bytes wanted)."""
    if not 0 <= address <= 0xFFFF:
        raise ValueError(f"GM65 address must fit 16 bits, got {address:#x}")
    if not 1 <= len(data) <= 255:
        raise ValueError(f"GM65 command data must be 1 to 255 bytes, got {len(data)}")
    body = bytes([op, len(data)]) + address.to_bytes(2, "big") + data
    tail = crc16_xmodem(body).to_bytes(2, "big") if check is Gm65Check.CRC else NO_CRC
    return COMMAND_HEAD + body + tail


def trigger_frame(*, check: Gm65Check = Gm65Check.ABCD) -> bytes:
    """Start one scan (write 01 to address 0002); ``AB CD`` by default, as the vendor's trigger example."""
    return command_frame(Gm65Op.WRITE, TRIGGER_ADDRESS, b"\x01", check=check)


def write_frame(address: int, data: bytes, *, check: Gm65Check = Gm65Check.CRC) -> bytes:
    """Write setting bytes starting at ``address`` (kept until power-off unless saved)."""
    return command_frame(Gm65Op.WRITE, address, data, check=check)


def read_frame(address: int, count: int = 1, *, check: Gm65Check = Gm65Check.CRC) -> bytes:
    """Read ``count`` setting bytes starting at ``address``."""
    if not 1 <= count <= 255:
        raise ValueError(f"a GM65 read asks for 1 to 255 bytes, got {count}")
    return command_frame(Gm65Op.READ, address, bytes([count]), check=check)


def save_frame(*, check: Gm65Check = Gm65Check.CRC) -> bytes:
    """Save the current settings to the module's flash (``7E 00 09 01 00 00 00 DE C8``)."""
    return command_frame(Gm65Op.SAVE, 0x0000, b"\x00", check=check)


def parse_command(frame: bytes) -> Gm65Command:
    """Read one complete command frame; raise ProtocolError if it is not one (bad head, length, check)."""
    if len(frame) < 9 or frame[:2] != COMMAND_HEAD:
        raise ProtocolError(f"not a GM65 command frame: {frame.hex(' ')}")
    length = frame[3]
    if len(frame) != 8 + length or length == 0:
        raise ProtocolError(f"GM65 command length byte {length} does not fit the frame: {frame.hex(' ')}")
    try:
        op = Gm65Op(frame[2])
    except ValueError:
        raise ProtocolError(f"unknown GM65 command type {frame[2]:#04x}") from None
    body, tail = frame[2:-2], frame[-2:]
    if tail != NO_CRC and tail != crc16_xmodem(body).to_bytes(2, "big"):
        raise ProtocolError(f"GM65 command check bytes are wrong: {frame.hex(' ')}")
    return Gm65Command(op=op, address=int.from_bytes(frame[4:6], "big"), data=bytes(frame[6:-2]))


def command_length(head: bytes) -> int | None:
    """Total length of the command frame that starts ``head`` (at least 4 bytes known), else None."""
    if len(head) < 4:
        return None
    return 8 + head[3]


def reply_frame(data: bytes, *, constant_tail: bool = False) -> bytes:
    """Build a reply frame (what the module, or the simulator, sends back), with its CRC or ``33 31``."""
    if not 1 <= len(data) <= 255:
        raise ValueError(f"GM65 reply data must be 1 to 255 bytes, got {len(data)}")
    body = b"\x00\x00" + bytes([len(data)]) + data
    return b"\x02" + body + (CONSTANT_TAIL if constant_tail else crc16_xmodem(body).to_bytes(2, "big"))


OK_REPLY = reply_frame(b"\x00")
"""``02 00 00 01 00 33 31``: a write or save was done."""


def parse_reply(frame: bytes) -> Gm65Reply:
    """Read one complete reply frame; raise ProtocolError on a bad head, length or CRC (``33 31`` passes)."""
    if len(frame) < 7 or frame[:3] != REPLY_HEAD:
        raise ProtocolError(f"not a GM65 reply: {frame.hex(' ')}")
    length = frame[3]
    if len(frame) != 6 + length:
        raise ProtocolError(f"GM65 reply length byte {length} does not fit the frame: {frame.hex(' ')}")
    body, crc = frame[1:-2], frame[-2:]
    if crc != CONSTANT_TAIL and crc != crc16_xmodem(body).to_bytes(2, "big"):
        raise ProtocolError(f"GM65 reply CRC is wrong: {frame.hex(' ')}")
    return Gm65Reply(data=bytes(frame[4:-2]))


class ReplySplitter:
    """Takes GM65 replies out of a byte stream that also carries scanned codes.

    Armed by :meth:`expect` for a time window after a command was sent; while armed, a ``02`` starts a
    reply capture. Bytes that turn out not to be a reply go on to the code framer untouched (it strips
    the control bytes). Pure: the caller passes the monotonic time.
    """

    def __init__(self) -> None:
        self._expected = 0
        self._until = 0.0
        self._capture = bytearray()

    def expect(self, now: float, window: float) -> None:
        """A command was just sent: its reply may come within ``window`` seconds."""
        self._expected = min(self._expected + 1, 8)
        self._until = now + window

    def feed(self, data: bytes, now: float) -> tuple[bytes, list[Gm65Reply | ProtocolError]]:
        """Split ``data`` into (bytes for the framer, replies or bad replies found)."""
        replies: list[Gm65Reply | ProtocolError] = []
        passthrough = bytearray()
        if self._expected and now > self._until and not self._capture:
            self._expected = 0  # the module never answered; stop looking
        for byte in data:
            if self._capture:
                self._capture.append(byte)
                self._check_capture(passthrough, replies)
            elif self._expected and byte == REPLY_HEAD[0]:
                self._capture.append(byte)
            else:
                passthrough.append(byte)
        return bytes(passthrough), replies

    def _check_capture(self, passthrough: bytearray, replies: list[Gm65Reply | ProtocolError]) -> None:
        capture = self._capture
        known = min(len(capture), len(REPLY_HEAD))
        if capture[:known] != REPLY_HEAD[:known]:
            # Not a reply after all: hand the bytes on as they came.
            passthrough += capture
            capture.clear()
            return
        if len(capture) < 4 or len(capture) < 6 + capture[3]:
            return
        frame = bytes(capture)
        capture.clear()
        self._expected -= 1
        try:
            replies.append(parse_reply(frame))
        except ProtocolError as exc:
            replies.append(exc)
