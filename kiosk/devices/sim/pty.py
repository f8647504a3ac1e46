"""A pseudo-terminal pair as a serial line: the driver opens the slave path, the simulator the master.

:class:`PtyPort` also keeps a stable symlink (like ``/dev/serial/by-id/…``) to the current slave, so
an unplug (:meth:`unplug`: the master closes, the driver sees an error) and a replug (:meth:`plug`:
a new pty, the same stable name) exercise the driver's reconnect path exactly as USB does.

:class:`PtyDevice` runs a simulated device on the master side in its own thread: every byte that
arrives is handed to ``on_bytes``; replies go out with :meth:`PtyDevice.send`.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from collections.abc import Callable
from pathlib import Path


class PtyPort:
    """One simulated serial port: a pty pair behind a stable symlink."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self._master: int | None = None
        self._slave: int | None = None
        self.slave_name = ""
        self._lock = threading.Lock()
        self.plug()

    @property
    def path(self) -> str:
        """The stable name the driver opens."""
        return str(self.link)

    @property
    def plugged(self) -> bool:
        """True while the port exists."""
        return self._master is not None

    def plug(self) -> None:
        """Create a new pty pair and point the stable name at it (no-op if plugged)."""
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            tty.setraw(master)
            tty.setraw(slave)
            self._master, self._slave = master, slave
            self.slave_name = os.ttyname(slave)
            tmp = self.link.with_name(self.link.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_name)
            tmp.replace(self.link)

    def unplug(self) -> None:
        """Close both ends and remove the stable name, as pulling the USB cable does."""
        with self._lock:
            master, slave = self._master, self._slave
            self._master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in (master, slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def master_fd(self) -> int | None:
        """The simulator's end, or None while unplugged."""
        return self._master

    def write(self, data: bytes) -> None:
        """Send bytes to the driver (dropped while unplugged, like a cable that is not there)."""
        fd = self._master
        if fd is None:
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(fd, view)
            except OSError:
                return
            view = view[written:]

    def read(self, timeout: float) -> bytes:
        """Bytes the driver wrote, waiting at most ``timeout`` seconds; b'' on timeout or unplug."""
        fd = self._master
        if fd is None:
            return b""
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return b""
            return os.read(fd, 4096)
        except OSError:
            return b""

    def close(self) -> None:
        """Unplug for good."""
        self.unplug()


class PtyDevice:
    """A simulated device on the master side of a :class:`PtyPort`, served by its own thread."""

    def __init__(self, port: PtyPort, on_bytes: Callable[[bytes], None], *, name: str = "pty-device") -> None:
        self.port = port
        self._on_bytes = on_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Begin serving."""
        self._thread.start()

    def send(self, data: bytes) -> None:
        """Write bytes towards the driver."""
        self.port.write(data)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.port.plugged:
                self._stop.wait(0.01)
                continue
            data = self.port.read(0.05)
            if data:
                self._on_bytes(data)

    def close(self) -> None:
        """Stop serving (the port itself stays as it is). Safe to call twice."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
