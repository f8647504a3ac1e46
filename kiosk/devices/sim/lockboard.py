"""What the simulated RS-485 lock boards share: boards x locks with doors, sensors and fault injection.

A pulsed lock lets its door spring open; the door stays open until :meth:`SimLockBus.close_door` (a
rider pushing it shut), when the latch engages again. A jammed lock acknowledges the pulse but its door
does not open. The protocol modules decide what goes on the wire; this base decides whether and how a
reply gets there (silent boards, garbled or late replies, unlocks never answered or answered late).

Every unlock frame on the bus is counted in :attr:`SimLockBus.unlock_frames`, heard or not, so a test
can assert that one unlock put exactly one frame on the wire.
"""

from __future__ import annotations

import abc
import enum
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kiosk.devices.base import Closeable
from kiosk.devices.protocols import Split, StreamBuffer
from kiosk.devices.sim.pty import PtyDevice, PtyPort

UnlockHook = Callable[[int, int], None]
"""Called with (board, lock) each time a lock is pulsed, on the simulator's thread."""


class GarbleMode(enum.Enum):
    """How :meth:`SimLockBus.garble_next` spoils a reply."""

    CHECKSUM = "checksum"
    """The last byte is wrong."""
    START = "start"
    """The first byte is wrong."""
    TRUNCATE = "truncate"
    """Only the first half is sent."""
    NOISE = "noise"
    """Junk bytes come first, then the good reply."""


@dataclass
class SimLock:
    """One simulated lock and its bay."""

    door_open: bool = False
    present: bool = False
    jammed: bool = False


class SimLockBus(Closeable, abc.ABC):
    """Boards x locks on one :class:`PtyPort`, served by a :class:`PtyDevice` thread."""

    def __init__(self, port: PtyPort, boards: Iterable[int], locks_per_board: int, *, name: str) -> None:
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closed = threading.Event()
        self._locks: dict[tuple[int, int], SimLock] = {
            (board, lock): SimLock() for board in boards for lock in range(locks_per_board)
        }
        self._boards = sorted({board for board, _ in self._locks})
        self._silent: set[int] = set()
        self._garble: list[GarbleMode] = []
        self._late_s = 0.0
        self._hooks: list[UnlockHook] = []
        self.pulses: list[tuple[int, int]] = []
        """Every (board, lock) pulsed, in order (jammed ones included)."""
        self.requests = 0
        """Requests heard (whether answered or not)."""
        self.unlock_frames = 0
        """Unlock frames that reached the bus (also those a silent board did not hear)."""
        self._answers_unlock = True
        self._unlock_reply_delay_s = 0.0
        self._delayed: list[threading.Thread] = []
        self._buffer = StreamBuffer(self._split_requests)
        self._device = PtyDevice(port, self._on_bytes, name=name)
        self._device.start()

    # ----------------------------------------------------------------- protocol hooks

    @abc.abstractmethod
    def _split_requests(self, buffer: bytes) -> Split:
        """Cut bytes from the host into requests."""

    @abc.abstractmethod
    def _handle(self, frame: bytes) -> None:
        """Act on one request and reply through :meth:`_reply`."""

    def _door_changed(self, board: int, lock: int, is_open: bool) -> None:
        """Hook: a door opened or closed (8A/80 boards may report it); Kerong boards say nothing."""
        return None

    # ----------------------------------------------------------------- what tests and the cabinet model use

    @property
    def boards(self) -> list[int]:
        """Board addresses on this bus."""
        return list(self._boards)

    def _get(self, board: int, lock: int) -> SimLock:
        try:
            return self._locks[(board, lock)]
        except KeyError:
            raise ValueError(f"the simulated bus has no board {board} lock {lock}") from None

    def door_open(self, board: int, lock: int) -> bool:
        """Whether the door of ``lock`` (0-based) is open now."""
        with self._lock:
            return self._get(board, lock).door_open

    def close_door(self, board: int, lock: int) -> None:
        """Push the door shut; the latch engages."""
        self._set_door(board, lock, False)

    def open_door(self, board: int, lock: int) -> None:
        """Force the door open without a pulse (a broken latch, a technician's key)."""
        self._set_door(board, lock, True)

    def _set_door(self, board: int, lock: int, is_open: bool) -> None:
        with self._lock:
            item = self._get(board, lock)
            changed = item.door_open != is_open
            item.door_open = is_open
        if changed:
            self._door_changed(board, lock, is_open)

    def set_presence(self, board: int, lock: int, present: bool) -> None:
        """Put something in the bay (or take it out)."""
        with self._lock:
            self._get(board, lock).present = present

    def jam(self, board: int, lock: int, jammed: bool = True) -> None:
        """A jammed lock acknowledges pulses but its door stays shut."""
        with self._lock:
            self._get(board, lock).jammed = jammed

    def silent(self, board: int, on: bool = True) -> None:
        """A silent board hears nothing and answers nothing (power lost, cable cut)."""
        with self._lock:
            if on:
                self._silent.add(board)
            else:
                self._silent.discard(board)

    def garble_next(self, count: int, mode: GarbleMode = GarbleMode.CHECKSUM) -> None:
        """Spoil the next ``count`` replies in the given way."""
        with self._lock:
            self._garble.extend([mode] * count)

    def late_reply(self, seconds: float) -> None:
        """Hold every reply back by ``seconds`` (0 to stop); the board is busy meanwhile, as a real one is."""
        with self._lock:
            self._late_s = max(0.0, seconds)

    def answer_unlocks(self, on: bool = True) -> None:
        """Whether boards answer an unlock at all (many Kerong boards in the field never do)."""
        with self._lock:
            self._answers_unlock = on

    def delay_unlock_replies(self, seconds: float) -> None:
        """Send each unlock's answer ``seconds`` after the pulse, while the board keeps answering other
        requests (8A/80 boards that echo ``8A`` about a second later). A bounded real-time wait: the
        driver's reply deadlines are real time too."""
        with self._lock:
            self._unlock_reply_delay_s = max(0.0, seconds)

    def on_unlock(self, hook: UnlockHook) -> None:
        """Be called with (board, lock) whenever a lock is pulsed."""
        with self._lock:
            self._hooks.append(hook)

    def send_raw(self, data: bytes) -> None:
        """Put arbitrary bytes on the line towards the driver (noise, a stray frame)."""
        with self._send_lock:
            self._device.send(data)

    def close(self) -> None:
        """Stop serving (the port stays as it is). Safe to call twice."""
        self._closed.set()
        self._device.close()
        for thread in self._delayed:
            thread.join(timeout=2.0)

    # ----------------------------------------------------------------- for the protocol modules

    def _is_silent(self, board: int) -> bool:
        with self._lock:
            return board in self._silent

    def _pulse(self, board: int, lock: int) -> None:
        """Pulse a lock: its door springs open unless jammed; hooks are told either way."""
        with self._lock:
            item = self._locks.get((board, lock))
            if item is None:
                return
            self.pulses.append((board, lock))
            opened = not item.door_open and not item.jammed
            if not item.jammed:
                item.door_open = True
            hooks = list(self._hooks)
        for hook in hooks:
            hook(board, lock)
        if opened:
            self._door_changed(board, lock, True)

    def _snapshot(self, board: int) -> list[SimLock]:
        """Copies of the board's locks, in lock order."""
        with self._lock:
            return [
                SimLock(item.door_open, item.present, item.jammed)
                for (b, _), item in sorted(self._locks.items())
                if b == board
            ]

    def _has_board(self, board: int) -> bool:
        return board in self._boards

    def _reply(self, frame: bytes) -> None:
        """Send a reply, spoiled or held back as the test asked."""
        with self._lock:
            mode = self._garble.pop(0) if self._garble else None
            late = self._late_s
        if late:
            self._closed.wait(late)
            if self._closed.is_set():
                return
        if mode is GarbleMode.CHECKSUM:
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        elif mode is GarbleMode.START:
            frame = bytes([frame[0] ^ 0x5A]) + frame[1:]
        elif mode is GarbleMode.TRUNCATE:
            frame = frame[: len(frame) // 2]
        elif mode is GarbleMode.NOISE:
            frame = b"\xff\x13\x7f" + frame
        self.send_raw(frame)

    def _heard_unlock(self) -> None:
        """Count an unlock frame that reached the bus (called before the silence check)."""
        with self._lock:
            self.unlock_frames += 1

    def _reply_unlock(self, frame: bytes) -> None:
        """Answer an unlock: not at all, at once, or after the unlock-reply delay on a side thread."""
        with self._lock:
            answers, delay = self._answers_unlock, self._unlock_reply_delay_s
        if not answers:
            return
        if not delay:
            self._reply(frame)
            return

        def later() -> None:
            if not self._closed.wait(delay):
                self._reply(frame)

        thread = threading.Thread(target=later, name="sim-late-unlock-reply", daemon=True)
        self._delayed = [t for t in self._delayed if t.is_alive()] + [thread]
        thread.start()

    def _on_bytes(self, data: bytes) -> None:
        for frame in self._buffer.feed(data):
            self.requests += 1
            self._handle(frame)
