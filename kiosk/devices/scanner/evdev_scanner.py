"""A QR scanner in USB keyboard mode, read from its Linux evdev input device.

The device is grabbed (``EVIOCGRAB``) so the scanner's keystrokes reach only us, never the
touchscreen UI or a console. Name it by a stable path (``/dev/input/by-id/usb-…-event-kbd``). The
``evdev`` package (extra ``hid``) is imported only when a device is opened, so everything else imports
without it.
"""

from __future__ import annotations

import contextlib
import select
from typing import Any

from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import EvdevScannerSettings
from kiosk.devices.base import ScanListener
from kiosk.devices.scanner import ReconnectingScanner
from kiosk.devices.scanner.keymap import EV_KEY, KeyDecoder


class EvdevScanner(ReconnectingScanner):
    """A keyboard-mode scanner: its own thread reads key events, decodes them and calls ``on_scan``.

    ``start()`` begins; ``close()`` stops and releases the grab (idempotent). Survives unplug/replug.
    """

    kind = "evdev"

    def __init__(self, device_path: str, settings: EvdevScannerSettings, clock: Clock, on_scan: ScanListener) -> None:
        super().__init__(device_path, settings, clock, on_scan)
        self.evdev_settings = settings
        self._device: Any = None
        """The open ``evdev.InputDevice`` (Any: evdev is optional and imported lazily)."""
        self._grabbed = False
        self._decoder = KeyDecoder()
        self._device_name: str | None = None

    def _open(self) -> None:
        try:
            import evdev  # optional dependency (extra "hid"), needed only here
        except ImportError as exc:
            raise DeviceError("keyboard-mode scanners need the 'evdev' package (pip extra 'hid')") from exc
        device = evdev.InputDevice(self.source)
        self._device = device
        self._decoder.reset()
        if self.evdev_settings.grab:
            try:
                device.grab()
            except OSError as exc:
                raise DeviceError(f"could not grab {self.source} (is another program holding it?): {exc}") from exc
            self._grabbed = True
        self._device_name = str(device.name)

    def _read(self, timeout: float) -> bytes:
        device = self._device
        if device is None:
            raise DeviceError("device is not open")
        ready, _, _ = select.select([device.fd], [], [], timeout)
        if not ready:
            return b""
        out = bytearray()
        try:
            for event in device.read():
                if event.type == EV_KEY:
                    out += self._decoder.feed(event.code, event.value)
        except BlockingIOError:
            pass  # woken without a full event; nothing to read yet
        return bytes(out)

    def _release(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        if self._grabbed:
            self._grabbed = False
            with contextlib.suppress(OSError):  # a vanished device is no longer grabbed anyway
                device.ungrab()
        with contextlib.suppress(OSError):
            device.close()

    def _extra_status(self) -> dict[str, Any]:
        return {"device_name": self._device_name, "grabbed": self._grabbed}
