"""A simulated serial QR scanner module on a pseudo-terminal, for tests and ``kiosk sim``.

It writes codes exactly as a GM65-class module does (the code's bytes, then the configured
terminator, or none), answers GM65 command frames with the module's ``02 00 00 …`` replies, keeps the
settings written to it, and can be unplugged and plugged back in like a USB cable.
"""

from __future__ import annotations

import logging
import threading

from kiosk.core.errors import ProtocolError
from kiosk.devices.base import Closeable
from kiosk.devices.scanner.gm65 import (
    COMMAND_HEAD,
    HONEYWELL_TRIGGER_OFF,
    HONEYWELL_TRIGGER_ON,
    NO_CRC,
    OK_REPLY,
    TRIGGER_ADDRESS,
    Gm65Command,
    Gm65Op,
    command_length,
    parse_command,
    reply_frame,
)
from kiosk.devices.sim.pty import PtyDevice, PtyPort

log = logging.getLogger(__name__)

_MAX_PENDING = 1024


class SimScanner(Closeable):
    """A GM65-class scanner module on the master side of ``port``; ``start()`` begins serving commands."""

    def __init__(self, port: PtyPort, *, terminator: bytes = b"\r\n") -> None:
        self.port = port
        self.terminator = terminator
        """What ``scan()`` appends by default."""
        self.triggered_code: str | None = None
        """If set, each trigger command makes the module 'read' this code (sent after the reply)."""
        self.constant_tail = False
        """End every reply with ``33 31`` instead of its CRC, as some modules do."""
        self.accepts_abcd = True
        """Whether ``AB CD`` passes for a CRC; a strict module takes only real CRCs."""
        self._lock = threading.Lock()
        self._pending = bytearray()
        self._settings: dict[int, int] = {}
        self._commands: list[Gm65Command] = []
        self._triggers = 0
        self._rejected = 0
        self._device = PtyDevice(port, self._on_bytes, name="sim-scanner")

    # --- what a rider (or a test) does -----------------------------------------------------------

    def start(self) -> None:
        """Begin answering commands."""
        self._device.start()

    def scan(self, text: str, terminator: bytes | None = None) -> None:
        """Send one code as the module does after reading it (``terminator`` None: the default one)."""
        self.port.write(text.encode("utf-8") + (self.terminator if terminator is None else terminator))

    def scan_raw(self, data: bytes) -> None:
        """Send any bytes at all (noise, a wrong baud rate, a broken code)."""
        self.port.write(data)

    def unplug(self) -> None:
        """Pull the cable: the port disappears and the driver's reads fail."""
        self.port.unplug()
        with self._lock:
            self._pending.clear()

    def plug(self) -> None:
        """Plug it back in: a new pty behind the same stable name."""
        self.port.plug()

    def close(self) -> None:
        """Stop serving (the port stays as it is). Idempotent."""
        self._device.close()

    # --- what a test may inspect -----------------------------------------------------------------

    @property
    def commands(self) -> list[Gm65Command]:
        """Every well-formed GM65 command received, oldest first (a copy)."""
        with self._lock:
            return list(self._commands)

    @property
    def triggers(self) -> int:
        """How many scan triggers (GM65 or Honeywell) arrived."""
        with self._lock:
            return self._triggers

    @property
    def rejected(self) -> int:
        """How many broken command frames arrived (the module ignores them)."""
        with self._lock:
            return self._rejected

    def setting(self, address: int) -> int | None:
        """The setting byte last written at ``address``, or None."""
        with self._lock:
            return self._settings.get(address)

    # --- the module's side of the line ----------------------------------------------------------

    def _on_bytes(self, data: bytes) -> None:
        with self._lock:
            self._pending += data
            out = self._take_commands()
        for chunk in out:
            self.port.write(chunk)

    def _take_commands(self) -> list[bytes]:
        """Consume complete commands from the pending bytes; return what to send back, in order."""
        buf = self._pending
        out: list[bytes] = []
        while buf:
            if buf[0] == HONEYWELL_TRIGGER_ON[0]:  # SYN: a Honeywell command
                if len(buf) < 3:
                    break  # wait for the rest
                command3 = bytes(buf[:3])
                if command3 not in (HONEYWELL_TRIGGER_ON, HONEYWELL_TRIGGER_OFF):
                    del buf[:1]
                    continue
                del buf[:3]
                if command3 == HONEYWELL_TRIGGER_ON:
                    self._triggers += 1
                    out += self._triggered_output()
                continue
            if buf[0] != COMMAND_HEAD[0]:
                del buf[:1]  # not the start of anything the module understands
                continue
            if len(buf) < 2:
                break
            if buf[1] != COMMAND_HEAD[1]:
                del buf[:1]
                continue
            length = command_length(bytes(buf[:4]))
            if length is None or len(buf) < length:
                break  # wait for the rest of the frame
            frame = bytes(buf[:length])
            del buf[:length]
            try:
                if not self.accepts_abcd and frame.endswith(NO_CRC):
                    raise ProtocolError("this module takes only real CRCs")
                command = parse_command(frame)
            except ProtocolError as exc:
                self._rejected += 1
                log.debug("sim scanner ignores a broken frame: %s", exc)
                continue
            out += self._answer(command)
        if len(buf) > _MAX_PENDING:
            buf.clear()
        return out

    def _answer(self, command: Gm65Command) -> list[bytes]:
        self._commands.append(command)
        if command.op is Gm65Op.READ:
            count = command.data[0]
            values = bytes(self._settings.get(command.address + i, 0) for i in range(count))
            return [reply_frame(values, constant_tail=self.constant_tail)]
        if command.op is Gm65Op.WRITE:
            for offset, value in enumerate(command.data):
                self._settings[command.address + offset] = value
            if command.address == TRIGGER_ADDRESS and command.data[0] & 0x01:
                self._triggers += 1
                return [OK_REPLY, *self._triggered_output()]
        return [OK_REPLY]

    def _triggered_output(self) -> list[bytes]:
        if self.triggered_code is None:
            return []
        return [self.triggered_code.encode("utf-8") + self.terminator]
