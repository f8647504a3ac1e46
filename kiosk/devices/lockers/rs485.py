"""What every RS-485 lock-board driver shares: the port, request/reply with retries, board health, bay states.

One :class:`RS485Bank` owns one adapter. Each request/reply exchange holds the bus lock, so callers on
several threads never interleave frames. The port is opened lazily with ``exclusive=True`` and
reopened after a ``SerialException`` with a backoff measured on the injected clock; while it is down,
calls fail at once instead of blocking. Reply deadlines and retry delays are real time (they bound
real I/O), kept short and set by the settings.

Subclasses supply the protocol: how to split and decode frames, and what to do with frames nobody
asked for (8A/80 change reports).

One unlock, one pulse: :meth:`RS485Bank._unlock_once` writes the unlock frame exactly once. A reply is
waited for briefly; when none comes (many boards never answer an unlock, others echo it late) the
lock's state is read — status requests with their own retries — until it shows open or the bounded
confirm time passes. Only then is it a failed unlock. The unlock frame is never sent again.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import termios
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import serial

from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError, ProtocolError
from kiosk.devices.base import BayListener, BayState, Closeable, DoorState, LockState
from kiosk.devices.protocols import Split

log = logging.getLogger(__name__)

T = TypeVar("T")

_READ_SLICE_S = 0.02
"""Longest single blocking read; the reply loop checks its deadline between slices."""
PORT_ERRORS = (serial.SerialException, OSError, termios.error)
"""What a vanished or broken port raises (pyserial wraps most, termios and ioctl not always)."""


class BusSettings(Protocol):
    """The settings every bus driver reads (each protocol's frozen dataclass has these fields)."""

    @property
    def baudrate(self) -> int:
        """Line speed, 8N1."""
        ...

    @property
    def timeout_s(self) -> float:
        """How long to wait for a reply to a status request."""
        ...

    @property
    def unlock_timeout_s(self) -> float:
        """How long to wait for a reply to an unlock (the lock takes time to move)."""
        ...

    @property
    def retries(self) -> int:
        """Extra attempts after the first when no good reply arrives."""
        ...

    @property
    def retry_delay_s(self) -> float:
        """Pause before the first retry; doubles for each further one."""
        ...

    @property
    def confirm_s(self) -> float:
        """How long an unanswered unlock is confirmed by reading the lock's state."""
        ...

    @property
    def confirm_poll_s(self) -> float:
        """Pause between two state reads while confirming."""
        ...

    @property
    def reopen_min_s(self) -> float:
        """First wait before reopening a port that failed."""
        ...

    @property
    def reopen_max_s(self) -> float:
        """Longest wait between attempts to reopen the port."""
        ...


class NoAnswer(Exception):
    """A board gave no good reply after every retry."""


class PortDown(Exception):
    """The adapter is not there (unplugged, or waiting out the reopen backoff)."""


class StillLocked(Exception):
    """The board answers, but the lock did not read open within the confirm time."""


@dataclass(frozen=True)
class Seen:
    """What one frame tells an unlock: bay states to store, and whether the unlock is confirmed."""

    states: tuple[BayState, ...]
    confirmed: bool


@dataclass
class BoardHealth:
    """Counters and the answering flag of one board (mutable, guarded by the state lock)."""

    answering: bool = True
    no_reply: int = 0
    bad_frames: int = 0
    failed_requests: int = 0
    late_replies: int = 0
    unlocks_sent: int = 0
    unanswered_unlocks: int = 0
    confirmed_by_status: int = 0
    last_answer_mono: float | None = None

    def as_dict(self, board: int) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "answering": self.answering,
            "fault": None if self.answering else f"lock board {board} not answering",
            "no_reply": self.no_reply,
            "bad_frames": self.bad_frames,
            "failed_requests": self.failed_requests,
            "late_replies": self.late_replies,
            "unlocks_sent": self.unlocks_sent,
            "unanswered_unlocks": self.unanswered_unlocks,
            "confirmed_by_status": self.confirmed_by_status,
            "last_answer_mono": self.last_answer_mono,
        }


def door_lock(is_closed: bool) -> tuple[DoorState, LockState]:
    """A lock's feedback switch sees the latch: engaged means door shut and locked, released means open."""
    if is_closed:
        return DoorState.CLOSED, LockState.LOCKED
    return DoorState.OPEN, LockState.UNLOCKED


class RS485Bank(Closeable, abc.ABC):
    """Base of the bus-attached :class:`kiosk.devices.base.LockerBank` drivers."""

    kind = "rs485"
    sends_reports = False
    """True for boards that send frames unasked: the input is then flushed by reading, never by discarding."""

    def __init__(
        self,
        port: str,
        bays: Mapping[int, tuple[int, int]],
        settings: BusSettings,
        clock: Clock,
        *,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        if not bays:
            raise ValueError("a lock bank needs at least one bay")
        for bay, (board, lock) in bays.items():
            self._check_address(bay, board, lock)
        self._port_name = port
        self._bays: dict[int, tuple[int, int]] = dict(bays)
        self._settings = settings
        self._clock = clock
        self._wait: Callable[[float], object] = wait or threading.Event().wait
        self._bus_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._serial: serial.Serial | None = None
        self._closed = False
        self._port_error: str | None = None
        self._next_open_at = clock.monotonic()
        self._open_backoff = settings.reopen_min_s
        self._opens = 0
        self._boards: dict[int, BoardHealth] = {board: BoardHealth() for board, _ in self._bays.values()}
        self._states: dict[int, BayState] = {bay: BayState(bay=bay) for bay in self._bays}
        self._listeners: list[BayListener] = []
        self._pending: list[BayState] = []

    # ----------------------------------------------------------------- protocol hooks

    @abc.abstractmethod
    def _check_address(self, bay: int, board: int, lock: int) -> None:
        """Raise ValueError when ``(board, lock)`` cannot exist on this kind of bus."""

    @abc.abstractmethod
    def _split(self, buffer: bytes, *, expect_all: bool) -> Split:
        """Cut received bytes into frames."""

    @abc.abstractmethod
    def _decode(self, raw: bytes) -> object:
        """Decode one frame the splitter accepted (raises ProtocolError)."""

    @abc.abstractmethod
    def _read_board(self, board: int) -> None:
        """Read one board and store its bays' states; faults are stored, not raised. Holds the bus lock."""

    @contextlib.contextmanager
    def _unlocking(self, bay: int, board: int) -> Iterator[None]:
        """Around an unlock exchange: a silent board or a lost adapter becomes a plain DeviceError."""
        try:
            yield
        except NoAnswer:
            self._fault_board(board, f"lock board {board} not answering")
            raise DeviceError(f"bay {bay} did not unlock: lock board {board} is not answering") from None
        except StillLocked as exc:
            raise DeviceError(f"bay {bay} did not unlock: {exc}") from None
        except PortDown as exc:
            raise DeviceError(f"bay {bay} did not unlock: {exc}") from None
        finally:
            self._notify()

    def read_all(self) -> dict[int, BayState]:
        """Read every board (one round each). Never raises: faults are in the states."""
        try:
            with self._bus_lock:
                for board in sorted(self._boards):
                    self._read_board(board)
        except Exception:  # the contract: polling never takes the caller down
            log.exception("reading the %s bus %s failed", self.kind, self._port_name)
        self._notify()
        with self._state_lock:
            return dict(self._states)

    def _unsolicited(self, decoded: object) -> bool:
        """Handle a frame nobody asked for; True when it was one (default: there are none)."""
        return False

    # ----------------------------------------------------------------- LockerBank surface

    def bays(self) -> list[int]:
        """The bay numbers this bank drives."""
        return sorted(self._bays)

    def subscribe(self, listener: BayListener) -> None:
        """Be told of every change of a bay's state (called on the thread that saw it)."""
        with self._state_lock:
            self._listeners.append(listener)

    def poll(self) -> dict[int, BayState]:
        """What a runtime worker calls periodically: read every bay (never raises)."""
        return self.read_all()

    def close(self) -> None:
        """Close the port. The boards relock by themselves after each pulse. Safe to call twice."""
        with self._bus_lock:
            self._closed = True
            self._drop_port()

    def get_status(self) -> dict[str, Any]:
        """A fresh JSON-safe snapshot: port, per-board health and counters, per-bay state."""
        with self._state_lock:
            return {
                "kind": self.kind,
                "port": self._port_name,
                "connected": self._serial is not None,
                "closed": self._closed,
                "port_error": self._port_error,
                "opens": self._opens,
                "boards": {str(b): h.as_dict(b) for b, h in sorted(self._boards.items())},
                "bays": {str(bay): state.as_dict() for bay, state in sorted(self._states.items())},
            }

    # ----------------------------------------------------------------- helpers for subclasses

    def _address_of(self, bay: int) -> tuple[int, int]:
        try:
            return self._bays[bay]
        except KeyError:
            raise ValueError(f"bay {bay} is not on the lock bus at {self._port_name}") from None

    def _board_bays(self, board: int) -> list[tuple[int, int]]:
        """``(bay, lock)`` of every bay on ``board``."""
        return sorted((bay, lock) for bay, (b, lock) in self._bays.items() if b == board)

    def _set_states(self, states: list[BayState]) -> None:
        """Store new bay states; changed ones are queued for the listeners."""
        with self._state_lock:
            for state in states:
                if self._states.get(state.bay) != state:
                    self._states[state.bay] = state
                    self._pending.append(state)

    def _state(self, bay: int) -> BayState:
        with self._state_lock:
            return self._states[bay]

    def _fault_board(self, board: int, reason: str) -> None:
        """Mark every bay of ``board`` as not to be trusted."""
        self._set_states([BayState(bay=bay, fault=reason) for bay, _ in self._board_bays(board)])

    def _notify(self) -> None:
        """Give queued changes to the listeners; called outside the bus lock so a listener may call us."""
        with self._state_lock:
            pending, self._pending = self._pending, []
            listeners = list(self._listeners)
        for state in pending:
            for listener in listeners:
                try:
                    listener(state)
                except Exception:  # a listener's bug must not stop the bus
                    log.exception("bay listener failed on %s", state)

    def _port_fault(self) -> str:
        if self._closed:
            return "lock bus driver is closed"
        return f"lock bus adapter {self._port_name} not available"

    # ----------------------------------------------------------------- the port

    def _open(self) -> serial.Serial:
        """The open port, opening it when allowed. Raises PortDown. Caller holds the bus lock."""
        if self._closed:
            raise PortDown(self._port_fault())
        if self._serial is not None:
            return self._serial
        now = self._clock.monotonic()
        if now < self._next_open_at:
            raise PortDown(self._port_fault())
        try:
            port = serial.Serial(
                self._port_name,
                baudrate=self._settings.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=_READ_SLICE_S,
                write_timeout=1.0,
                exclusive=True,
            )
        except PORT_ERRORS as exc:
            if self._port_error is None:
                log.warning("lock bus %s cannot be opened: %s (retrying with backoff)", self._port_name, exc)
            self._port_error = str(exc)
            self._next_open_at = now + self._open_backoff
            self._open_backoff = min(self._open_backoff * 2, self._settings.reopen_max_s)
            raise PortDown(self._port_fault()) from exc
        if self._port_error is not None or self._opens:
            log.info("lock bus %s open again", self._port_name)
        self._serial = port
        self._port_error = None
        self._open_backoff = self._settings.reopen_min_s
        self._opens += 1
        self._port_opened()
        return port

    def _port_opened(self) -> None:
        """Hook: the port was (re)opened (Kerong forgets which boards have their pulse time set)."""

    def _drop_port(self, exc: BaseException | None = None) -> None:
        """Close the port after an error (or on close); the next use reopens it after the backoff."""
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(*PORT_ERRORS):
                port.close()
        if exc is not None:
            log.warning("lock bus %s lost: %s", self._port_name, exc)
            self._port_error = str(exc) or type(exc).__name__
            self._next_open_at = self._clock.monotonic()

    def _drain(self, port: serial.Serial) -> bytes:
        """Flush the input before a command; returns an unfinished frame to carry into the reply wait.

        Whatever already arrived is read first so unsolicited reports in it are handled. Boards that never
        speak unasked also get a kernel flush; for the others it would race with a report landing between
        the read and the flush, so anything later is read (and sorted out) while waiting for the reply.
        """
        waiting = port.in_waiting
        split = self._split(port.read(waiting) if waiting else b"", expect_all=False)
        for raw in split.frames:
            with contextlib.suppress(ProtocolError):
                self._unsolicited(self._decode(raw))
        if self.sends_reports:
            return split.rest
        port.reset_input_buffer()
        return b""

    # ----------------------------------------------------------------- request / reply

    def _request(
        self,
        board: int,
        request: bytes,
        accept: Callable[[object], T | None],
        *,
        timeout: float,
        expect_all: bool = False,
    ) -> T:
        """Send ``request`` and return what ``accept`` makes of the reply, retrying with a growing delay.

        Caller holds the bus lock. Raises PortDown or NoAnswer; marks the board answering or not.
        """
        attempts = 1 + self._settings.retries
        health = self._boards.setdefault(board, BoardHealth())
        late: list[T] = []
        for attempt in range(attempts):
            if attempt:
                self._wait(self._settings.retry_delay_s * 2 ** (attempt - 1))
                # A reply that missed the last deadline may be waiting: take it rather than ask again.
                port = self._open()
                late = self._take_waiting(port, accept, expect_all=expect_all)
                if late:
                    with self._state_lock:
                        health.late_replies += 1
                    return self._answered(board, late[0])
            port = self._open()
            try:
                carried = self._drain(port)
                port.write(request)
                result, bad = self._read_reply(port, accept, carried, timeout=timeout, expect_all=expect_all)
            except PORT_ERRORS as exc:
                self._drop_port(exc)
                raise PortDown(self._port_fault()) from exc
            with self._state_lock:
                health.bad_frames += bad
                if result is None and not bad:
                    health.no_reply += 1
            if result is not None:
                return self._answered(board, result[0])
        with self._state_lock:
            health.failed_requests += 1
            was_answering, health.answering = health.answering, False
        if was_answering:
            log.warning("lock board %d not answering on %s", board, self._port_name)
        raise NoAnswer(f"lock board {board} not answering")

    def _unlock_once(
        self,
        board: int,
        request: bytes,
        reply: Callable[[object], Seen | None],
        status_request: bytes,
        status: Callable[[object], Seen | None],
        *,
        expect_all: bool = False,
    ) -> None:
        """Send one unlock frame, then confirm it by its reply or by reading the lock; never resend it.

        ``reply`` judges frames while the unlock's own answer is awaited (``unlock_timeout_s``);
        ``status`` judges the answers to ``status_request`` and any late unlock answer afterwards.
        Caller holds the bus lock. Raises PortDown, NoAnswer (the board never answered anything) or
        StillLocked (it answered, the lock stayed shut) once ``confirm_s`` has passed.
        """
        health = self._boards.setdefault(board, BoardHealth())
        port = self._open()
        try:
            carried = self._drain(port)
            port.write(request)
            with self._state_lock:
                health.unlocks_sent += 1
            result, bad = self._read_reply(
                port, reply, carried, timeout=self._settings.unlock_timeout_s, expect_all=False
            )
        except PORT_ERRORS as exc:
            self._drop_port(exc)
            raise PortDown(self._port_fault()) from exc
        with self._state_lock:
            health.bad_frames += bad
        if result is not None:
            seen = self._answered(board, result[0])
            self._set_states(list(seen.states))
            if seen.confirmed:
                return
        else:
            with self._state_lock:
                health.unanswered_unlocks += 1
        self._confirm_by_status(board, status_request, status, expect_all=expect_all)

    def _confirm_by_status(
        self,
        board: int,
        status_request: bytes,
        status: Callable[[object], Seen | None],
        *,
        expect_all: bool,
    ) -> None:
        """Read the lock until ``status`` confirms the unlock; bounded by ``confirm_s`` (real time: it bounds I/O)."""
        health = self._boards[board]
        deadline = time.monotonic() + self._settings.confirm_s
        answered = False
        while True:
            late = self._take_waiting(self._open(), status, expect_all=expect_all)
            if late:
                with self._state_lock:
                    health.late_replies += 1
            try:
                late.append(
                    self._request(
                        board, status_request, status, timeout=self._settings.timeout_s, expect_all=expect_all
                    )
                )
                answered = True
            except NoAnswer:
                pass
            for seen in late:
                self._set_states(list(seen.states))
            if any(seen.confirmed for seen in late):
                with self._state_lock:
                    health.confirmed_by_status += 1
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wait(min(self._settings.confirm_poll_s, remaining))
        if not answered:
            raise NoAnswer(f"lock board {board} not answering")
        raise StillLocked(f"the lock still reads locked {self._settings.confirm_s:g} s after the pulse")

    def _answered(self, board: int, result: T) -> T:
        health = self._boards[board]
        with self._state_lock:
            recovered = not health.answering
            health.answering = True
            health.last_answer_mono = self._clock.monotonic()
        if recovered:
            log.info("lock board %d answering again on %s", board, self._port_name)
        return result

    def _take_waiting(self, port: serial.Serial, accept: Callable[[object], T | None], *, expect_all: bool) -> list[T]:
        """Accepted replies among the bytes already received (no waiting)."""
        try:
            waiting = port.in_waiting
            data = port.read(waiting) if waiting else b""
        except PORT_ERRORS as exc:
            self._drop_port(exc)
            raise PortDown(self._port_fault()) from exc
        found: list[T] = []
        for raw in self._split(data, expect_all=expect_all).frames:
            with contextlib.suppress(ProtocolError):
                decoded = self._decode(raw)
                if not self._unsolicited(decoded):
                    result = accept(decoded)
                    if result is not None:
                        found.append(result)
        return found

    def _read_reply(
        self,
        port: serial.Serial,
        accept: Callable[[object], T | None],
        buffer: bytes,
        *,
        timeout: float,
        expect_all: bool,
    ) -> tuple[tuple[T] | None, int]:
        """Read until ``accept`` takes a frame, the deadline passes, or garbage is followed by silence.

        ``buffer`` holds bytes already received. Returns the accepted result (in a 1-tuple, so None can be
        a result) and the count of bad frames.
        """
        deadline = time.monotonic() + timeout
        bad = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, bad + (1 if buffer else 0)  # a frame that never completed is a bad one
            chunk = port.read(max(1, port.in_waiting))
            if not chunk:
                if bad and not buffer:
                    return None, bad  # broken reply and the line has gone quiet: retry now
                continue
            split = self._split(buffer + chunk, expect_all=expect_all)
            buffer = split.rest
            if split.skipped:
                bad += 1
            for raw in split.frames:
                try:
                    decoded = self._decode(raw)
                except ProtocolError:
                    bad += 1
                    continue
                if self._unsolicited(decoded):
                    continue
                result = accept(decoded)
                if result is not None:
                    return (result,), bad
