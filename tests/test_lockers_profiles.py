"""Every board profile's driver against its simulated boards on a pty, in the ways real boards behave.

Each test counts the unlock frames that reached the bus: one unlock is exactly one frame, whatever the
board answers (or does not).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.core.boards import PROFILES, board_profile
from kiosk.core.clock import FakeClock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import Board8A80Settings, KerongSettings
from kiosk.devices.base import DoorState, LockState
from kiosk.devices.lockers.board8a80 import Board8A80Bank
from kiosk.devices.lockers.kerong import KerongBank
from kiosk.devices.lockers.rs485 import RS485Bank
from kiosk.devices.sim.board8a80 import SimBoard8A80Bus
from kiosk.devices.sim.kerong import SimKerongBus
from kiosk.devices.sim.lockboard import GarbleMode, SimLockBus
from kiosk.devices.sim.profiles import Behaviour, sim_bus_for
from kiosk.devices.sim.pty import PtyPort

MODELS = sorted(PROFILES)
EIGHTY = sorted(name for name, p in PROFILES.items() if p.family == "8a80")
KERONG = sorted(name for name, p in PROFILES.items() if p.family == "kerong")
FAST: dict[str, Any] = {
    "timeout_s": 0.1,
    "unlock_timeout_s": 0.15,
    "retries": 1,
    "retry_delay_s": 0.005,
    "confirm_s": 0.4,
    "confirm_poll_s": 0.02,
}


def board_of(model: str) -> int:
    """A board address valid for the model (Kerong counts from 0, 8A/80 DIP switches from 1)."""
    return 0 if board_profile(model).family == "kerong" else 1


def last_lock(model: str) -> int:
    """The model's highest lock channel (0-based), to reach the last status bit."""
    value = board_profile(model).settings["locks_per_board"]
    assert isinstance(value, int)
    return value - 1


def bank_for(model: str, port: PtyPort, clock: FakeClock, **overrides: Any) -> RS485Bank:
    """The model's driver with the profile's settings and test-fast timings (``overrides`` win)."""
    profile = board_profile(model)
    if profile.family != "kerong":
        overrides.pop("pulse_ms", None)  # only Kerong boards are told a pulse time
    values = {**profile.settings, **FAST, **overrides}
    board = board_of(model)
    bays = {1: (board, 0), 2: (board, values["locks_per_board"] - 1)}
    if profile.family == "kerong":
        return KerongBank(port.path, bays, KerongSettings(**values), clock)
    return Board8A80Bank(port.path, bays, Board8A80Settings(**values), clock)


@pytest.fixture
def sims() -> Iterator[list[SimLockBus]]:
    """Closes the simulated buses a test makes."""
    made: list[SimLockBus] = []
    yield made
    for bus in made:
        bus.close()


def simulate(
    sims: list[SimLockBus], model: str, port: PtyPort, behaviour: Behaviour = Behaviour.TIDY, **kw: Any
) -> SimLockBus:
    bus = sim_bus_for(model, port, [board_of(model)], behaviour, **kw)
    sims.append(bus)
    return bus


@pytest.mark.parametrize("model", MODELS)
def test_unlock_puts_exactly_one_frame_on_the_bus_and_the_door_opens(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port)
    with bank_for(model, pty_port, fake_clock) as bank:
        bank.unlock(2)
        assert sim.unlock_frames == 1
        assert sim.door_open(board_of(model), last_lock(model))
        assert bank.read(2).lock is LockState.UNLOCKED


@pytest.mark.parametrize("model", MODELS)
def test_status_reads_every_bay_including_the_last_lock_of_the_board(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port)
    sim.open_door(board_of(model), last_lock(model))
    with bank_for(model, pty_port, fake_clock) as bank:
        states = bank.read_all()
        assert (states[1].door, states[2].door) == (DoorState.CLOSED, DoorState.OPEN)
        assert sim.unlock_frames == 0


@pytest.mark.parametrize("model", MODELS)
def test_a_silent_board_fails_the_unlock_after_one_frame(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port)
    sim.silent(board_of(model))
    with bank_for(model, pty_port, fake_clock) as bank:
        with pytest.raises(DeviceError, match="is not answering"):
            bank.unlock(1)
        assert sim.unlock_frames == 1
        assert bank.read(1).fault is not None


@pytest.mark.parametrize("model", MODELS)
def test_a_board_that_never_answers_unlocks_is_confirmed_by_its_status(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port, Behaviour.SILENT_UNLOCK)
    with bank_for(model, pty_port, fake_clock) as bank:
        bank.unlock(1)
        assert sim.unlock_frames == 1
        board = bank.get_status()["boards"][str(board_of(model))]
        assert (board["unanswered_unlocks"], board["confirmed_by_status"]) == (1, 1)


@pytest.mark.parametrize("model", MODELS)
def test_a_jammed_lock_on_a_board_that_never_answers_unlocks_is_a_failed_unlock_after_one_frame(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port, Behaviour.SILENT_UNLOCK)
    sim.jam(board_of(model), 0)
    with bank_for(model, pty_port, fake_clock) as bank:
        with pytest.raises(DeviceError, match="still reads locked"):
            bank.unlock(1)
        assert sim.unlock_frames == 1
        assert bank.read(1).fault is None  # the board answers: only this unlock failed


@pytest.mark.parametrize("model", MODELS)
def test_slow_replies_still_give_one_frame_and_an_open_door(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port, Behaviour.SLOW, slow_s=0.2)
    with bank_for(model, pty_port, fake_clock, timeout_s=0.3, pulse_ms=None) as bank:
        bank.unlock(1)  # the reply comes after unlock_timeout_s: it is read, not asked for again
        assert sim.unlock_frames == 1
        assert sim.door_open(board_of(model), 0)


@pytest.mark.parametrize("model", MODELS)
def test_a_reply_with_a_wrong_header_is_not_taken_and_the_unlock_is_confirmed_by_status(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port)
    with bank_for(model, pty_port, fake_clock, pulse_ms=None) as bank:
        sim.garble_next(1, GarbleMode.START)
        bank.unlock(1)
        assert sim.unlock_frames == 1
        assert bank.get_status()["boards"][str(board_of(model))]["confirmed_by_status"] == 1


@pytest.mark.parametrize("model", EIGHTY)
def test_an_8a_echo_a_second_late_is_one_pulse_with_the_profiles_own_timings(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    # A bounded real wait (about 1 s): the driver's reply deadline is real time, so the echo is too.
    sim = simulate(sims, model, pty_port, Behaviour.LATE_ECHO)
    timings = {k: board_profile(model).settings[k] for k in ("unlock_timeout_s", "confirm_s")}
    with bank_for(model, pty_port, fake_clock, **timings) as bank:
        bank.unlock(1)
        assert sim.unlock_frames == 1
        assert bank.get_status()["boards"]["1"]["confirmed_by_status"] == 0  # the echo itself confirmed it


@pytest.mark.parametrize("model", EIGHTY)
def test_an_8a_echo_later_than_the_reply_wait_is_confirmed_by_status_and_then_ignored(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port, Behaviour.LATE_ECHO, late_echo_s=0.3)
    with bank_for(model, pty_port, fake_clock, unlock_timeout_s=0.05) as bank:
        bank.unlock(1)
        assert sim.unlock_frames == 1
        assert isinstance(sim, SimBoard8A80Bus)
        sim.close_door(1, 0)
        # The echo arrives while the board is read again: it changes nothing.
        for _ in range(5):
            assert bank.read_all()[1].door is DoorState.CLOSED
        assert sim.unlock_frames == 1


@pytest.mark.parametrize("status_bytes", [3, 4])
@pytest.mark.parametrize("model", EIGHTY)
def test_query_all_answers_of_7_and_8_bytes_are_read_where_the_profile_allows_them(
    model: str, status_bytes: int, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = SimBoard8A80Bus(pty_port, [1], locks_per_board=24, status_bytes=status_bytes)
    sims.append(sim)
    sim.open_door(1, 23)
    allowed = board_profile(model).settings["status_bytes"] in (None, status_bytes)
    with bank_for(model, pty_port, fake_clock, locks_per_board=24) as bank:
        state = bank.read_all()[2]
        if allowed:
            assert state.door is DoorState.OPEN
        else:
            assert state.fault == "lock board 1 not answering"


def test_the_24_lock_profile_reads_a_board_addressed_above_32(
    pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = sim_bus_for("8a80-24", pty_port, [0xC8])
    sims.append(sim)
    settings = Board8A80Settings(**{**board_profile("8a80-24").settings, **FAST})
    with Board8A80Bank(pty_port.path, {1: (0xC8, 5)}, settings, fake_clock) as bank:
        bank.unlock(1)
        assert sim.unlock_frames == 1
        assert bank.read(1).door is DoorState.OPEN


def test_a_board_above_board_max_is_refused_at_construction(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    settings = Board8A80Settings(**board_profile("8a80-32").settings)
    with pytest.raises(ValueError, match="board must be 1-32"):
        Board8A80Bank(pty_port.path, {1: (33, 0)}, settings, fake_clock)


@pytest.mark.parametrize("behaviour", [Behaviour.LONG_PULSE_FORM, Behaviour.SHORT_PULSE_FORM])
@pytest.mark.parametrize("model", KERONG)
def test_auto_pulse_form_finds_the_unlock_time_form_the_board_takes(
    model: str, behaviour: Behaviour, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port, behaviour)
    assert isinstance(sim, SimKerongBus)
    with bank_for(model, pty_port, fake_clock) as bank:
        bank.unlock(1)
        bank.unlock(2)
        assert sim.pulse_ms == {0: 500}
        assert sim.unlock_frames == 2
        expected = "long" if behaviour is Behaviour.LONG_PULSE_FORM else "short"
        assert bank.get_status()["pulse_forms"] == {"0": expected}


@pytest.mark.parametrize("model", KERONG)
def test_a_fixed_pulse_form_the_board_ignores_leaves_the_board_its_own_time_and_still_unlocks_once(
    model: str, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    sim = simulate(sims, model, pty_port, Behaviour.LONG_PULSE_FORM)
    assert isinstance(sim, SimKerongBus)
    with bank_for(model, pty_port, fake_clock, pulse_form="short") as bank:
        bank.unlock(1)
        assert sim.pulse_ms == {}
        assert sim.unlock_frames == 1
        assert sim.door_open(0, 0)


# --- the cases issue 15 reported, with the settings a station gets when it names no board model ------------


@pytest.mark.parametrize("busy", [False, True])
def test_default_8a80_settings_take_an_8a_echo_1_2_s_late_as_one_pulse(
    busy: bool, pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    # Before: 2 pulses (reply past the 1.0 s unlock timeout) or 4 pulses and DeviceError (header 8A refused).
    # A bounded real wait of about 1.2 s: the echo's lateness is what is under test.
    sim = SimBoard8A80Bus(pty_port, [1], unlock_reply_header=0x8A)
    sims.append(sim)
    if busy:
        sim.late_reply(1.2)  # the board answers nothing else before its echo either
    else:
        sim.delay_unlock_replies(1.2)
    with Board8A80Bank(pty_port.path, {1: (1, 0)}, Board8A80Settings(), fake_clock) as bank:
        bank.unlock(1)
        assert sim.pulses == [(1, 0)]
        assert sim.unlock_frames == 1


def test_default_kerong_settings_take_a_board_that_never_answers_unlocks_as_one_pulse(
    pty_port: PtyPort, fake_clock: FakeClock, sims: list[SimLockBus]
) -> None:
    # Before: 4 pulses and DeviceError after 4.4 s.
    sim = SimKerongBus(pty_port, [0])
    sims.append(sim)
    sim.answer_unlocks(False)
    with KerongBank(pty_port.path, {1: (0, 0)}, KerongSettings(), fake_clock) as bank:
        bank.unlock(1)
        assert sim.pulses == [(0, 0)]
        assert sim.unlock_frames == 1
        assert bank.read(1).door is DoorState.OPEN
