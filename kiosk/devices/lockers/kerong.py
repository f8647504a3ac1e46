"""Kerong KR-CU16 / KR-CU12 lock boards on one RS-485 bus, as a :class:`kiosk.devices.base.LockerBank`.

Each board reports, per lock, the latch switch (closed and locked, or released) and an infrared
"something is in the bay" sensor. One status request per board reads all of its bays.

An unlock is sent once (see :meth:`RS485Bank._unlock_once`): a status frame in reply acknowledges it;
many boards send none, and then the board's status is read until the lock shows released.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from kiosk.core.clock import Clock, SystemClock
from kiosk.core.hardware import KerongSettings
from kiosk.devices.base import BayState, LockState
from kiosk.devices.lockers.rs485 import NoAnswer, PortDown, RS485Bank, Seen, door_lock
from kiosk.devices.protocols import Split
from kiosk.devices.protocols import kerong as proto

log = logging.getLogger(__name__)


class KerongBank(RS485Bank):
    """The bays behind Kerong boards on one adapter; ``bays`` maps bay -> (board 0-15, lock 0-15)."""

    kind = "kerong"

    def __init__(
        self,
        port: str,
        bays: Mapping[int, tuple[int, int]],
        settings: KerongSettings | None = None,
        clock: Clock | None = None,
        *,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.settings = settings or KerongSettings()
        super().__init__(port, bays, self.settings, clock or SystemClock(), wait=wait)
        self._pulse_set: set[int] = set()
        self._pulse_forms: dict[int, proto.PulseForm] = {}
        """The 0x37 form each board confirmed (kept across reopenings: the board does not change)."""

    def _check_address(self, bay: int, board: int, lock: int) -> None:
        locks = self.settings.locks_per_board
        if not 0 <= board < proto.BOARDS or not 0 <= lock < locks:
            raise ValueError(
                f"bay {bay}: Kerong board must be 0-15 and lock 0-{locks - 1} (0-based), got {board}/{lock}"
            )

    def _split(self, buffer: bytes, *, expect_all: bool) -> Split:
        return proto.split_frames(buffer)

    def _decode(self, raw: bytes) -> object:
        return proto.decode_frame(raw)

    def _port_opened(self) -> None:
        self._pulse_set.clear()

    # ----------------------------------------------------------------- reading

    def _states_of(self, status: proto.BoardStatus) -> list[BayState]:
        states = []
        for bay, lock in self._board_bays(status.board):
            door, lock_state = door_lock(status.locked(lock, locked_bit_value=self.settings.locked_bit_value))
            states.append(BayState(bay=bay, door=door, lock=lock_state, presence=status.occupied(lock)))
        return states

    @staticmethod
    def _status_from(board: int) -> Callable[[object], proto.BoardStatus | None]:
        def accept(frame: object) -> proto.BoardStatus | None:
            if isinstance(frame, proto.Frame) and frame.command is proto.Command.STATUS_REPLY and frame.board == board:
                return proto.status_of(frame)
            return None

        return accept

    def _read_board(self, board: int) -> None:
        """Read one board and store its bays' states; faults are stored, not raised. Holds the bus lock."""
        try:
            status = self._request(
                board, proto.status_request(board), self._status_from(board), timeout=self.settings.timeout_s
            )
        except NoAnswer as exc:
            self._fault_board(board, str(exc))
            return
        except PortDown as exc:
            self._fault_board(board, str(exc))
            return
        self._set_states(self._states_of(status))

    def read(self, bay: int) -> BayState:
        """Read the bay's board now and return the bay's state (a fault is in the state, not raised)."""
        board, _ = self._address_of(bay)
        with self._bus_lock:
            self._read_board(board)
        self._notify()
        return self._state(bay)

    # ----------------------------------------------------------------- unlocking

    def _pulse_forms_to_try(self, board: int) -> tuple[proto.PulseForm, ...]:
        known = self._pulse_forms.get(board)
        if known is not None:
            return (known,)
        form = self.settings.pulse_form
        return ("short", "long") if form == "auto" else (form,)

    def _ensure_pulse(self, board: int) -> None:
        """Send the pulse length once per board per port opening; a board that ignores it keeps its own.

        With ``pulse_form = "auto"`` the 6-byte form goes first and the 7-byte one only when the board
        does not confirm it; the form a board confirmed is used from then on. (Not an unlock: repeating
        the pulse-time command moves no lock.)
        """
        pulse = self.settings.pulse_ms
        if pulse is None or board in self._pulse_set:
            return

        def accept(frame: object) -> proto.PulseForm | None:
            if isinstance(frame, proto.Frame) and frame.command is proto.Command.PULSE_TIME_REPLY:
                return proto.pulse_form_of(frame) if frame.board == board else None
            return None

        self._pulse_set.add(board)
        for form in self._pulse_forms_to_try(board):
            try:
                confirmed: proto.PulseForm = self._request(
                    board, proto.pulse_time_request(board, pulse, form), accept, timeout=self.settings.timeout_s
                )
            except NoAnswer:
                continue
            self._pulse_forms[board] = confirmed
            return
        log.warning("lock board %d did not confirm the %d ms unlock pulse; it keeps its own", board, pulse)

    def unlock(self, bay: int) -> None:
        """Send one unlock frame for the bay (never a second). Raises DeviceError when it is not confirmed.

        A status reply to the unlock confirms it (the board heard it); without one, the board's status
        is read until the lock shows released or ``confirm_s`` passes.
        """
        board, lock = self._address_of(bay)
        states_of = self._states_of
        status_from = self._status_from(board)

        def reply(frame: object) -> Seen | None:
            status = status_from(frame)
            return None if status is None else Seen(tuple(states_of(status)), confirmed=True)

        def released(frame: object) -> Seen | None:
            status = status_from(frame)
            if status is None:
                return None
            states = tuple(states_of(status))
            opened = any(s.bay == bay and s.lock is LockState.UNLOCKED for s in states)
            return Seen(states, confirmed=opened)

        with self._unlocking(bay, board), self._bus_lock:
            self._ensure_pulse(board)
            self._unlock_once(board, proto.unlock_request(board, lock), reply, proto.status_request(board), released)

    def get_status(self) -> dict[str, Any]:
        """Fresh JSON-safe status (see :meth:`RS485Bank.get_status`) plus the polarity in use."""
        status = super().get_status()
        status["locked_bit_value"] = self.settings.locked_bit_value
        status["pulse_forms"] = {str(b): f for b, f in sorted(self._pulse_forms.items())}
        return status
