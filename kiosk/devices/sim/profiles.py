"""Simulated lock buses for every board profile, and the field behaviours real boards show.

:func:`sim_bus_for` builds the simulated bus a profile (``kiosk.core.boards``) describes — lock count,
status length — and :class:`Behaviour` adds what boards in the field do that a tidy simulator does not:
never answering an unlock, echoing it a second late, answering slowly, taking only the other form of
Kerong's unlock-time command.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from kiosk.core.boards import board_profile
from kiosk.devices.protocols.kerong import PulseForm
from kiosk.devices.sim.board8a80 import SimBoard8A80Bus
from kiosk.devices.sim.kerong import SimKerongBus
from kiosk.devices.sim.lockboard import SimLockBus
from kiosk.devices.sim.pty import PtyPort

LATE_ECHO_S = 1.0
"""How late an echoing 8A/80 board sends its ``8A`` unlock answer (about a second, as in the field)."""
SLOW_REPLY_S = 0.15
"""How long a slow board holds back every answer."""


class Behaviour(enum.Enum):
    """A field behaviour a simulated bus can play."""

    TIDY = "tidy"
    """Answers everything at once."""
    SILENT_UNLOCK = "silent-unlock"
    """Never answers an unlock (many Kerong boards); status requests are answered."""
    LATE_ECHO = "late-echo"
    """8A/80 only: answers an unlock with an ``8A`` echo about a second later."""
    SLOW = "slow"
    """Holds back every answer (the board is busy meanwhile)."""
    LONG_PULSE_FORM = "long-pulse-form"
    """Kerong only: takes only the 7-byte unlock-time command."""
    SHORT_PULSE_FORM = "short-pulse-form"
    """Kerong only: takes only the 6-byte unlock-time command."""


def _int(settings: Mapping[str, object], key: str, default: int) -> int:
    value = settings.get(key)
    return value if isinstance(value, int) else default


def sim_bus_for(
    model: str,
    port: PtyPort,
    boards: Iterable[int],
    behaviour: Behaviour = Behaviour.TIDY,
    *,
    late_echo_s: float = LATE_ECHO_S,
    slow_s: float = SLOW_REPLY_S,
) -> SimLockBus:
    """A simulated bus of ``model`` boards on ``port`` playing ``behaviour``. ValueError for a mismatch."""
    profile = board_profile(model)
    settings = profile.settings
    bus: SimLockBus
    if profile.family == "kerong":
        if behaviour is Behaviour.LATE_ECHO:
            raise ValueError("the late 8A echo is an 8A/80 behaviour")
        forms: tuple[PulseForm, ...] = ("short", "long")
        if behaviour is Behaviour.LONG_PULSE_FORM:
            forms = ("long",)
        elif behaviour is Behaviour.SHORT_PULSE_FORM:
            forms = ("short",)
        bus = SimKerongBus(
            port,
            boards,
            locks_per_board=_int(settings, "locks_per_board", 16),
            locked_bit_value=_int(settings, "locked_bit_value", 1),
            pulse_forms=forms,
        )
    else:
        if behaviour in (Behaviour.LONG_PULSE_FORM, Behaviour.SHORT_PULSE_FORM):
            raise ValueError("the unlock-time command forms are a Kerong behaviour")
        bus = SimBoard8A80Bus(
            port,
            boards,
            locks_per_board=_int(settings, "locks_per_board", 24),
            unlock_reply_header=0x8A if behaviour is Behaviour.LATE_ECHO else 0x80,
            status_bytes=_int(settings, "status_bytes", 4),
        )
        if behaviour is Behaviour.LATE_ECHO:
            bus.delay_unlock_replies(late_echo_s)
    if behaviour is Behaviour.SILENT_UNLOCK:
        bus.answer_unlocks(False)
    elif behaviour is Behaviour.SLOW:
        bus.late_reply(slow_s)
    return bus
