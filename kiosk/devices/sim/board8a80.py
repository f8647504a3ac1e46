"""Simulated generic 8A/80 boards on a pty: the real driver talks to them as to a real bus.

The variants the field disagrees on are constructor arguments: whether ``11`` means open
(``set_means_open``), whether an unlock is answered with ``80`` or an echoed ``8A``
(``unlock_reply_header``), whether the boards send ``82`` change reports (``reports``), and whether a
query-all is answered with 8 bytes or, as 24-lock boards do, 7 (``status_bytes`` 4 or 3).
"""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.core.errors import ProtocolError
from kiosk.devices.protocols import Split
from kiosk.devices.protocols import board8a80 as proto
from kiosk.devices.sim.lockboard import SimLockBus
from kiosk.devices.sim.pty import PtyPort


class SimBoard8A80Bus(SimLockBus):
    """8A/80 boards (addresses ``boards``, 1-32) with ``locks_per_board`` locks each, on ``port``.

    Locks are numbered 0-based in this API (like the drivers' channels); lock 0 is lock 1 on the wire.
    """

    def __init__(
        self,
        port: PtyPort,
        boards: Iterable[int] = (1,),
        *,
        locks_per_board: int = 24,
        set_means_open: bool = True,
        unlock_reply_header: int = proto.QUERY,
        reports: bool = False,
        status_bytes: int = 4,
    ) -> None:
        if unlock_reply_header not in (proto.QUERY, proto.UNLOCK):
            raise ValueError("unlock_reply_header must be 0x80 or 0x8A")
        if not 1 <= locks_per_board <= proto.MAX_LOCK:
            raise ValueError("an 8A/80 board has 1-32 locks")
        self.set_means_open = set_means_open
        self.unlock_reply_header = unlock_reply_header
        self._reports = reports
        if status_bytes not in (3, 4) or locks_per_board > 8 * status_bytes:
            raise ValueError("status_bytes must be 3 or 4 and hold every lock")
        self.status_bytes = status_bytes
        super().__init__(port, boards, locks_per_board, name="sim-8a80")

    def enable_reports(self, on: bool = True) -> None:
        """Turn unsolicited ``82`` change reports on or off."""
        self._reports = on

    def _split_requests(self, buffer: bytes) -> Split:
        return proto.split_requests(buffer)

    def _is_set(self, door_open: bool) -> bool:
        return door_open == self.set_means_open

    def _door_changed(self, board: int, lock: int, is_open: bool) -> None:
        if self._reports and not self._is_silent(board):
            self.send_raw(proto.lock_reply(board, lock + 1, self._is_set(is_open), header=proto.REPORT))

    def _handle(self, frame: bytes) -> None:
        try:
            request = proto.decode_request(frame)
        except ProtocolError:
            return
        board = request.board
        if request.kind is proto.RequestKind.UNLOCK:
            self._heard_unlock()
        if not self._has_board(board) or self._is_silent(board):
            return
        locks = self._snapshot(board)
        if request.kind is proto.RequestKind.QUERY_ALL:
            bits = 0
            for i, item in enumerate(locks):
                if self._is_set(item.door_open):
                    bits |= 1 << i
            self._reply(proto.all_reply(board, bits, status_bytes=self.status_bytes))
            return
        index = request.lock - 1
        if index >= len(locks):
            return  # a lock the board does not have: real boards stay quiet
        if request.kind is proto.RequestKind.UNLOCK:
            # The lock moves first (a change report may go out), then the board answers with the new state.
            self._pulse(board, index)
            state = self._is_set(self.door_open(board, index))
            self._reply_unlock(proto.lock_reply(board, request.lock, state, header=self.unlock_reply_header))
        else:
            self._reply(proto.lock_reply(board, request.lock, self._is_set(locks[index].door_open)))
