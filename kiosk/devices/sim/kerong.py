"""Simulated Kerong KR-CU16 boards on a pty: the real driver talks to them as to a real bus.

Each board answers status and unlock commands with its 9-byte status frame (latch bits with the
configured polarity, infrared bits), the pulse-time command with ``38``, and the broadcast status
command with one status frame per board in address order. ``pulse_forms`` says which forms of the
unlock-time command (6-byte ``short``, 7-byte ``long``) the boards take; another form is ignored
without an answer, as a board that does not know it does.
"""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.core.errors import ProtocolError
from kiosk.devices.protocols import Split
from kiosk.devices.protocols import kerong as proto
from kiosk.devices.sim.lockboard import SimLockBus
from kiosk.devices.sim.pty import PtyPort


class SimKerongBus(SimLockBus):
    """Kerong boards (addresses ``boards``, 0-15) with ``locks_per_board`` locks each, on ``port``."""

    def __init__(
        self,
        port: PtyPort,
        boards: Iterable[int] = (0,),
        *,
        locks_per_board: int = proto.LOCKS_PER_BOARD,
        locked_bit_value: int = 1,
        pulse_forms: Iterable[proto.PulseForm] = ("short", "long"),
    ) -> None:
        if locked_bit_value not in (0, 1):
            raise ValueError("locked_bit_value must be 0 or 1")
        self.locked_bit_value = locked_bit_value
        self.pulse_forms = frozenset(pulse_forms)
        """The 0x37 forms the boards understand."""
        self.pulse_ms: dict[int, int] = {}
        """The pulse length each board was told (ms)."""
        super().__init__(port, boards, locks_per_board, name="sim-kerong")

    def _split_requests(self, buffer: bytes) -> Split:
        return proto.split_frames(buffer)

    def status_frame(self, board: int, *, lock: int = 0) -> bytes:
        """The status frame ``board`` would send now."""
        lock_bits = 0
        ir_bits = 0
        for i, item in enumerate(self._snapshot(board)):
            latched = not item.door_open
            if latched == bool(self.locked_bit_value):
                lock_bits |= 1 << i
            if item.present:
                ir_bits |= 1 << i
        return proto.status_reply(board, lock_bits, ir_bits, lock=lock)

    def _handle(self, frame: bytes) -> None:
        try:
            request = proto.decode_frame(frame)
        except ProtocolError:
            return
        board = request.board
        command = request.command
        if command in (proto.Command.UNLOCK, proto.Command.UNLOCK_ALL):
            self._heard_unlock()
        if command is proto.Command.STATUS_ALL:
            for each in self.boards:
                if not self._is_silent(each):
                    self._reply(self.status_frame(each))
            return
        if not self._has_board(board) or self._is_silent(board):
            return
        if command is proto.Command.STATUS:
            self._reply(self.status_frame(board))
        elif command is proto.Command.UNLOCK:
            self._pulse(board, request.lock)
            self._reply_unlock(self.status_frame(board, lock=request.lock))
        elif command is proto.Command.UNLOCK_ALL:
            for lock in range(len(self._snapshot(board))):
                self._pulse(board, lock)
            self._reply_unlock(self.status_frame(board))
        elif command is proto.Command.PULSE_TIME:
            form = proto.pulse_form_of(request)
            if form not in self.pulse_forms:
                return
            self.pulse_ms[board] = proto.pulse_ms_of(request)
            self._reply(proto.pulse_time_reply(board, self.pulse_ms[board], form))
