"""A QR scanner on a serial line (USB-CDC virtual COM port or a TTL UART), read with pyserial.

The port is named by a stable path (``/dev/serial/by-id/…``) or by USB id as ``usb:VID:PID`` (hex),
looked up with ``serial.tools.list_ports`` at every (re)open because the ttyACM number changes on
replug. The port is opened with ``exclusive=True`` so no other process can steal scans.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import serial
from serial.tools import list_ports

from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError, ProtocolError
from kiosk.core.hardware import SerialScannerSettings, TriggerProtocol
from kiosk.devices.base import ScanListener
from kiosk.devices.scanner import ReconnectingScanner
from kiosk.devices.scanner.gm65 import (
    HONEYWELL_TRIGGER_ON,
    Gm65Reply,
    ReplySplitter,
    trigger_frame,
)

log = logging.getLogger(__name__)

_USB_ID = re.compile(r"usb:([0-9a-fA-F]{4}):([0-9a-fA-F]{4})")


class PortInfo(Protocol):
    """What :func:`find_port` needs of a ``serial.tools.list_ports`` entry."""

    device: str
    vid: int | None
    pid: int | None


def parse_usb_id(port: str) -> tuple[int, int] | None:
    """``'usb:1eab:0d10'`` → ``(0x1EAB, 0x0D10)``; None for anything else (a path)."""
    match = _USB_ID.fullmatch(port.strip())
    if match is None:
        return None
    return int(match.group(1), 16), int(match.group(2), 16)


def find_port(vid: int, pid: int, ports: Iterable[PortInfo]) -> str | None:
    """The device path of the port with this USB VID:PID (the lowest path if several), or None."""
    found = sorted(p.device for p in ports if p.vid == vid and p.pid == pid)
    return found[0] if found else None


def resolve_port(port: str, ports: Callable[[], Iterable[PortInfo]]) -> str:
    """The path to open for ``port`` (a path, or ``usb:VID:PID`` looked up in ``ports()``).

    Raises DeviceError when no connected port has that USB id.
    """
    usb = parse_usb_id(port)
    if usb is None:
        return port
    path = find_port(usb[0], usb[1], ports())
    if path is None:
        raise DeviceError(f"no serial port with USB id {usb[0]:04x}:{usb[1]:04x} is connected")
    return path


class SerialScanner(ReconnectingScanner):
    """A serial QR scanner: reads codes in its own thread and calls ``on_scan`` (on that thread) for each.

    ``start()`` begins; ``close()`` stops (idempotent). Survives unplug/replug. ``trigger()`` asks the
    module for one scan where it is in command-trigger mode.
    """

    kind = "serial"

    def __init__(
        self,
        port: str,
        settings: SerialScannerSettings,
        clock: Clock,
        on_scan: ScanListener,
        *,
        ports: Callable[[], Iterable[PortInfo]] = list_ports.comports,
    ) -> None:
        super().__init__(port, settings, clock, on_scan)
        self.serial_settings = settings
        self._ports = ports
        self._io_lock = threading.Lock()
        """Guards ``_serial`` between the reader thread (open/close) and ``trigger()`` (write)."""
        self._serial: serial.Serial | None = None
        self._opened_path: str | None = None
        self._splitter = ReplySplitter()
        self._replies = 0
        self._bad_replies = 0

    def trigger(self) -> None:
        """Send the trigger command of the configured protocol. Raises DeviceError if not connected."""
        protocol = self.serial_settings.trigger
        if protocol is TriggerProtocol.NONE:
            raise DeviceError("this scanner has no trigger command configured (trigger = 'none')")
        frame = (
            trigger_frame(check=self.serial_settings.gm65_check)
            if protocol is TriggerProtocol.GM65
            else HONEYWELL_TRIGGER_ON
        )
        with self._io_lock:
            port = self._serial
            if port is None:
                raise DeviceError(f"scanner {self.source} is not connected")
            if protocol is TriggerProtocol.GM65:
                self._splitter.expect(self._clock.monotonic(), self.serial_settings.reply_window_s)
            try:
                port.write(frame)
            except (OSError, serial.SerialTimeoutException) as exc:
                raise DeviceError(f"could not send the trigger to scanner {self.source}: {exc}") from exc

    def _open(self) -> None:
        path = resolve_port(self.source, self._ports)
        settings = self.serial_settings
        port = serial.Serial(
            port=path,
            baudrate=settings.baudrate,
            timeout=settings.read_timeout_s,
            write_timeout=settings.write_timeout_s,
            exclusive=True,
        )
        with self._io_lock:
            self._serial = port
            self._opened_path = path
            self._splitter = ReplySplitter()

    def _read(self, timeout: float) -> bytes:
        port = self._serial
        if port is None:
            raise DeviceError("port is not open")
        # One byte with the bounded timeout, then whatever else is already there: returns as soon as
        # bytes arrive, so their timestamp is close to their arrival (the idle gap depends on it).
        data: bytes = port.read(1)
        if data:
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
        now = self._clock.monotonic()
        with self._io_lock:
            data, replies = self._splitter.feed(data, now)
        for reply in replies:
            self._note_reply(reply)
        return data

    def _release(self) -> None:
        with self._io_lock:
            port, self._serial = self._serial, None
        if port is not None:
            try:
                port.close()
            except OSError as exc:  # already gone; closing is best effort
                log.debug("closing scanner port %s: %s", self.source, exc)

    def _note_reply(self, reply: Gm65Reply | ProtocolError) -> None:
        if isinstance(reply, ProtocolError):
            self._bad_replies += 1
            self._note_error(f"bad reply from the scanner module: {reply}")
        elif not reply.ok:
            self._bad_replies += 1
            self._note_error(f"scanner module refused a command (reply {reply.data.hex(' ')})")
        else:
            self._replies += 1

    def _extra_status(self) -> dict[str, Any]:
        return {
            "port_path": self._opened_path,
            "command_replies": self._replies,
            "bad_command_replies": self._bad_replies,
        }
