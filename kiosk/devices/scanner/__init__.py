"""QR code scanners: what the serial and the keyboard-mode (evdev) drivers share.

The drivers live in :mod:`kiosk.devices.scanner.serial_scanner` (``SerialScanner``) and
:mod:`kiosk.devices.scanner.evdev_scanner` (``EvdevScanner``; needs the optional ``evdev`` package only
when it opens a device). Both are a :class:`ReconnectingScanner`: one reader thread owns the device,
feeds what it reads to a :class:`~kiosk.devices.scanner.framing.CodeFramer`, hands every
:class:`~kiosk.devices.base.Scan` (good or bad) to the listener on that thread, and when the device goes
away (unplugged, reset) it reopens it with a capped exponential backoff, logging once per state change.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Iterable
from typing import Any, ClassVar

from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError, KioskError
from kiosk.core.hardware import ScannerSettings
from kiosk.devices.base import Closeable, Scan, ScanListener
from kiosk.devices.scanner.framing import CodeFramer, FramerSettings

log = logging.getLogger(__name__)


class ScannerState(enum.Enum):
    """Where a scanner driver is in its life."""

    IDLE = "idle"
    """Built, not started."""
    CONNECTED = "connected"
    """The device is open and being read."""
    DISCONNECTED = "disconnected"
    """The device is missing or failed; the driver keeps trying to reopen it."""
    CLOSED = "closed"
    """Stopped for good."""


def framer_settings(settings: ScannerSettings) -> FramerSettings:
    """The framing part of a scanner's settings."""
    return FramerSettings(idle_gap_s=settings.idle_gap_s, max_length=settings.max_length, encoding=settings.encoding)


class Backoff:
    """Capped exponential delays between reopen attempts: initial, 2x, 4x … up to the cap."""

    def __init__(self, initial: float, cap: float) -> None:
        self.initial = initial
        self.cap = cap
        self._next = initial

    def next_delay(self) -> float:
        """The wait before the next attempt; each call doubles the one after, up to the cap."""
        delay = self._next
        self._next = min(delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        """The device is back: the next outage starts again from the initial delay."""
        self._next = self.initial


# What a device raises when it goes away or cannot be opened (pyserial's SerialException is an OSError).
DEVICE_ERRORS: tuple[type[BaseException], ...] = (OSError, KioskError)


class ReconnectingScanner(Closeable):
    """A scanner read by its own thread, reopened with backoff when it goes away.

    Subclasses implement ``_open`` (raise an OSError/KioskError if the device cannot be opened),
    ``_read`` (bytes that arrived within ``timeout``, b'' if none; raise OSError when the device is gone)
    and ``_release`` (close the device; never raises). Only the reader thread calls them.
    """

    kind: ClassVar[str] = "scanner"

    def __init__(self, source: str, settings: ScannerSettings, clock: Clock, on_scan: ScanListener) -> None:
        self.source = source
        self.settings = settings
        self._clock = clock
        self._on_scan = on_scan
        self._framer = CodeFramer(framer_settings(settings))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = ScannerState.IDLE
        self._ever_connected = False
        self._scans = 0
        self._bad_scans = 0
        self._reconnects = 0
        self._open_failures = 0
        self._last_scan_mono: float | None = None
        self._last_error: str | None = None
        self._last_bad_scan: str | None = None

    # --- public -------------------------------------------------------------------------------

    @property
    def state(self) -> ScannerState:
        """The current state."""
        with self._lock:
            return self._state

    @property
    def connected(self) -> bool:
        """True while the device is open and read."""
        return self.state is ScannerState.CONNECTED

    def start(self) -> None:
        """Start the reader thread (it opens the device). Idempotent while running."""
        with self._lock:
            if self._state is ScannerState.CLOSED:
                raise DeviceError(f"{self.kind} scanner {self.source} is closed")
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name=f"{self.kind}-scanner", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop reading and close the device; waits for the thread at most ``join_timeout_s``. Idempotent."""
        with self._lock:
            if self._state is ScannerState.CLOSED:
                return
            self._state = ScannerState.CLOSED
            thread = self._thread
        self._stop.set()
        if thread is None:
            self._release()
            return
        if thread is not threading.current_thread():
            thread.join(timeout=self.settings.join_timeout_s)
            if thread.is_alive():
                log.warning("%s scanner %s: reader thread did not stop in time", self.kind, self.source)

    def get_status(self) -> dict[str, Any]:
        """A fresh JSON-safe snapshot: state, counts, last scan time, last error."""
        with self._lock:
            status: dict[str, Any] = {
                "kind": self.kind,
                "source": self.source,
                "state": self._state.value,
                "connected": self._state is ScannerState.CONNECTED,
                "last_scan_mono": self._last_scan_mono,
                "scans": self._scans,
                "bad_scans": self._bad_scans,
                "reconnects": self._reconnects,
                "open_failures": self._open_failures,
                "last_error": self._last_error,
                "last_bad_scan": self._last_bad_scan,
            }
        status.update(self._extra_status())
        return status

    # --- for subclasses -----------------------------------------------------------------------

    def _open(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read(self, timeout: float) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def _release(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _extra_status(self) -> dict[str, Any]:
        """Driver-specific status fields."""
        return {}

    def _note_error(self, message: str) -> None:
        """Record a problem for the status page (no state change)."""
        with self._lock:
            self._last_error = message

    # --- the reader thread --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = Backoff(self.settings.reconnect_initial_s, self.settings.reconnect_max_s)
        next_attempt = self._clock.monotonic()
        is_open = False
        try:
            while not self._stop.is_set():
                if not is_open:
                    now = self._clock.monotonic()
                    if now < next_attempt:
                        # Bounded real wait; the deadline itself is on the injected clock.
                        self._stop.wait(min(next_attempt - now, self.settings.read_timeout_s))
                        continue
                    try:
                        self._open()
                    except DEVICE_ERRORS as exc:
                        self._release()
                        self._set_disconnected(exc, failed_open=True)
                        next_attempt = self._clock.monotonic() + backoff.next_delay()
                        continue
                    is_open = True
                    backoff.reset()
                    self._set_connected()
                    continue
                try:
                    data = self._read(self.settings.read_timeout_s)
                except DEVICE_ERRORS as exc:
                    is_open = False
                    self._release()
                    self._framer.reset()  # half a code from a vanished device is not a code
                    self._set_disconnected(exc, failed_open=False)
                    next_attempt = self._clock.monotonic() + backoff.next_delay()
                    continue
                now = self._clock.monotonic()
                self._deliver(self._framer.feed(data, now) if data else self._framer.poll(now))
        finally:
            self._release()

    def _set_connected(self) -> None:
        with self._lock:
            if self._state is ScannerState.CLOSED:
                return
            if self._ever_connected:
                self._reconnects += 1
            self._ever_connected = True
            self._state = ScannerState.CONNECTED
            reconnects = self._reconnects
        log.info("%s scanner %s connected (reconnects so far: %d)", self.kind, self.source, reconnects)

    def _set_disconnected(self, exc: BaseException, *, failed_open: bool) -> None:
        message = str(exc) or type(exc).__name__
        with self._lock:
            if failed_open:
                self._open_failures += 1
            self._last_error = message
            changed = self._state not in (ScannerState.DISCONNECTED, ScannerState.CLOSED)
            if changed:
                self._state = ScannerState.DISCONNECTED
        if changed:
            # Once per state change; the retries that follow are counted in the status, not logged.
            log.warning(
                "%s scanner %s disconnected: %s; reopening with backoff up to %.1f s",
                self.kind,
                self.source,
                message,
                self.settings.reconnect_max_s,
            )

    def _deliver(self, scans: Iterable[Scan]) -> None:
        for scan in scans:
            with self._lock:
                self._last_scan_mono = scan.mono
                if scan.error is None:
                    self._scans += 1
                else:
                    self._bad_scans += 1
                    self._last_bad_scan = scan.error
            try:
                self._on_scan(scan)
            except Exception:
                # A listener bug must not stop the scanner; it is logged with its traceback.
                log.exception("%s scanner %s: scan listener failed", self.kind, self.source)
