"""Generic "8A/80" lock boards on one RS-485 bus, as a :class:`kiosk.devices.base.LockerBank`.

Boards report one state per lock (``11`` or ``00``; which of them is open is a setting) and have no
presence sensor. Some boards send ``82`` change reports unasked: they are handled whenever bytes are
read (before each command, while waiting for a reply, and in :meth:`Board8A80Bank.check_reports`).

An unlock is sent once (see :meth:`RS485Bank._unlock_once`). Its answer may start ``80`` or echo
``8A`` (some boards about a second later); either is accepted unless ``strict_unlock_header`` is set.
Without an answer, the lock is queried until it reads open or ``confirm_s`` passes; a late echo
arriving meanwhile confirms it too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from kiosk.core.clock import Clock, SystemClock
from kiosk.core.errors import ProtocolError
from kiosk.core.hardware import Board8A80Settings
from kiosk.devices.base import BayState, LockState
from kiosk.devices.lockers.rs485 import PORT_ERRORS, NoAnswer, PortDown, RS485Bank, Seen, door_lock
from kiosk.devices.protocols import Split
from kiosk.devices.protocols import board8a80 as proto

log = logging.getLogger(__name__)


class Board8A80Bank(RS485Bank):
    """The bays behind 8A/80 boards on one adapter.

    ``bays`` maps bay -> (board address 1-32 as set on its DIP switches, lock channel 0-based 0-31);
    channel 0 is lock 1 on the wire.
    """

    kind = "8a80"
    sends_reports = True

    def __init__(
        self,
        port: str,
        bays: Mapping[int, tuple[int, int]],
        settings: Board8A80Settings | None = None,
        clock: Clock | None = None,
        *,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.settings = settings or Board8A80Settings()
        super().__init__(port, bays, self.settings, clock or SystemClock(), wait=wait)
        self._header_hint_logged = False

    def _check_address(self, bay: int, board: int, lock: int) -> None:
        top, locks = self.settings.board_max, self.settings.locks_per_board
        if not 1 <= board <= top or not 0 <= lock < locks:
            raise ValueError(
                f"bay {bay}: 8A/80 board must be 1-{top} and lock channel 0-{locks - 1}, got {board}/{lock}"
            )

    def _split(self, buffer: bytes, *, expect_all: bool) -> Split:
        return proto.split_replies(buffer, expect_all=expect_all, status_bytes=self.settings.status_bytes)

    def _decode(self, raw: bytes) -> object:
        return proto.decode_reply(raw)

    def _bay_state(self, bay: int, is_set: bool) -> BayState:
        door, lock = door_lock(is_set != self.settings.set_means_open)
        return BayState(bay=bay, door=door, lock=lock, presence=None)

    def _states_of_lock(self, reply: proto.LockReply) -> list[BayState]:
        return [
            self._bay_state(bay, reply.is_set) for bay, lock in self._board_bays(reply.board) if lock + 1 == reply.lock
        ]

    def _unsolicited(self, decoded: object) -> bool:
        if isinstance(decoded, proto.LockReply) and decoded.header == proto.REPORT:
            self._set_states(self._states_of_lock(decoded))
            return True
        return False

    # ----------------------------------------------------------------- reading

    def _read_board(self, board: int) -> None:
        """Query every lock of ``board`` and store its bays' states (faults stored). Holds the bus lock."""

        def accept(reply: object) -> proto.BoardReply | None:
            return reply if isinstance(reply, proto.BoardReply) and reply.board == board else None

        try:
            answer = self._request(
                board, proto.query_all_request(board), accept, timeout=self.settings.timeout_s, expect_all=True
            )
        except (NoAnswer, PortDown) as exc:
            self._fault_board(board, str(exc))
            return
        self._set_states([self._bay_state(bay, answer.is_set(lock + 1)) for bay, lock in self._board_bays(board)])

    def read(self, bay: int) -> BayState:
        """Query the bay's lock now and return its state (a fault is in the state, not raised)."""
        board, lock = self._address_of(bay)

        def accept(reply: object) -> proto.LockReply | None:
            if isinstance(reply, proto.LockReply) and reply.header == proto.QUERY:
                return reply if (reply.board, reply.lock) == (board, lock + 1) else None
            return None

        with self._bus_lock:
            try:
                answer = self._request(
                    board, proto.query_request(board, lock + 1), accept, timeout=self.settings.timeout_s
                )
            except (NoAnswer, PortDown) as exc:
                self._fault_board(board, str(exc))
            else:
                self._set_states(self._states_of_lock(answer))
        self._notify()
        return self._state(bay)

    def check_reports(self) -> None:
        """Handle change reports already received, without sending anything (cheap; never raises)."""
        with self._bus_lock:
            port = self._serial
            if port is not None:
                try:
                    waiting = port.in_waiting
                    data = port.read(waiting) if waiting else b""
                except PORT_ERRORS as exc:
                    self._drop_port(exc)
                    data = b""
                for raw in self._split(data, expect_all=False).frames:
                    with contextlib.suppress(ProtocolError):
                        self._unsolicited(proto.decode_reply(raw))
        self._notify()

    # ----------------------------------------------------------------- unlocking

    def _unlock_header_ok(self, reply: proto.LockReply) -> bool:
        """Whether ``reply``'s header is one an unlock answer may have (both known ones unless strict)."""
        configured = self.settings.unlock_reply_header
        if reply.header == configured:
            return True
        if reply.header not in (proto.QUERY, proto.UNLOCK):
            return False
        if not self._header_hint_logged:
            self._header_hint_logged = True
            log.warning(
                "lock board %d answered an unlock with %02x, but unlock_reply_header is %02x%s",
                reply.board,
                reply.header,
                configured,
                ": ignored (strict_unlock_header)" if self.settings.strict_unlock_header else "; accepted",
            )
        return not self.settings.strict_unlock_header

    def unlock(self, bay: int) -> None:
        """Send one unlock frame for the bay (never a second). Raises DeviceError when it is not confirmed."""
        board, lock = self._address_of(bay)
        wire_lock = lock + 1

        def ours(frame: object) -> proto.LockReply | None:
            if isinstance(frame, proto.LockReply) and (frame.board, frame.lock) == (board, wire_lock):
                return frame
            return None

        def reply(frame: object) -> Seen | None:
            answer = ours(frame)
            if answer is None or answer.header == proto.REPORT or not self._unlock_header_ok(answer):
                return None
            return Seen(tuple(self._states_of_lock(answer)), confirmed=True)

        def released(frame: object) -> Seen | None:
            answer = ours(frame)
            if answer is None:
                return None
            states = tuple(self._states_of_lock(answer))
            if answer.header == proto.UNLOCK:  # a late 8A echo: the board did take the unlock
                return Seen(states, confirmed=not self.settings.strict_unlock_header)
            return Seen(states, confirmed=any(s.lock is LockState.UNLOCKED for s in states))

        with self._unlocking(bay, board), self._bus_lock:
            self._unlock_once(
                board, proto.unlock_request(board, wire_lock), reply, proto.query_request(board, wire_lock), released
            )

    def get_status(self) -> dict[str, Any]:
        """Fresh JSON-safe status (see :meth:`RS485Bank.get_status`) plus the protocol variant in use."""
        status = super().get_status()
        status["set_means_open"] = self.settings.set_means_open
        status["unlock_reply_header"] = f"{self.settings.unlock_reply_header:02x}"
        status["strict_unlock_header"] = self.settings.strict_unlock_header
        status["status_bytes"] = self.settings.status_bytes
        return status
