"""The Kerong driver against simulated KR-CU16 boards on a pty: the real driver code, the real bytes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import KerongSettings
from kiosk.devices.base import BayState, DoorState, LockerBank, LockState
from kiosk.devices.lockers.kerong import KerongBank
from kiosk.devices.sim.kerong import SimKerongBus
from kiosk.devices.sim.lockboard import GarbleMode
from kiosk.devices.sim.pty import PtyPort
from tests.support import wait_until

BAYS = {1: (0, 0), 2: (0, 1), 3: (1, 15)}
FAST = KerongSettings(
    timeout_s=0.1,
    unlock_timeout_s=0.2,
    retries=2,
    retry_delay_s=0.005,
    reopen_min_s=1.0,
    reopen_max_s=4.0,
    confirm_s=0.3,
    confirm_poll_s=0.02,
)


@pytest.fixture
def sim(pty_port: PtyPort) -> Iterator[SimKerongBus]:
    bus = SimKerongBus(pty_port, boards=(0, 1))
    yield bus
    bus.close()


@pytest.fixture
def bank(pty_port: PtyPort, sim: SimKerongBus, fake_clock: FakeClock) -> Iterator[KerongBank]:
    driver = KerongBank(pty_port.path, BAYS, FAST, fake_clock)
    yield driver
    driver.close()


def _closed(state: BayState) -> bool:
    return state == BayState(bay=state.bay, door=DoorState.CLOSED, lock=LockState.LOCKED, presence=False)


def test_bank_keeps_the_locker_bank_protocol(bank: KerongBank) -> None:
    assert isinstance(bank, LockerBank)
    assert bank.bays() == [1, 2, 3]


def test_read_all_reports_every_bay_closed_and_locked_at_start(bank: KerongBank) -> None:
    states = bank.read_all()
    assert all(_closed(states[bay]) for bay in BAYS)


def test_unlock_opens_the_door_and_the_driver_reads_it_open(bank: KerongBank, sim: SimKerongBus) -> None:
    bank.unlock(2)
    assert sim.door_open(0, 1)
    assert bank.read(2) == BayState(bay=2, door=DoorState.OPEN, lock=LockState.UNLOCKED, presence=False)


def test_unlock_leaves_other_bays_shut(bank: KerongBank, sim: SimKerongBus) -> None:
    bank.unlock(2)
    states = bank.read_all()
    assert _closed(states[1])
    assert _closed(states[3])


def test_a_door_pushed_shut_reads_closed_and_locked_again(bank: KerongBank, sim: SimKerongBus) -> None:
    bank.unlock(3)
    sim.close_door(1, 15)
    assert _closed(bank.read(3))


def test_infrared_sensor_is_the_bay_presence(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.set_presence(1, 15, True)
    assert bank.read(3).presence is True
    assert bank.read(1).presence is False


def test_the_configured_pulse_time_is_sent_before_the_first_unlock(bank: KerongBank, sim: SimKerongBus) -> None:
    bank.unlock(1)
    bank.unlock(2)
    assert sim.pulse_ms == {0: 500}
    assert sim.pulses == [(0, 0), (0, 1)]


def test_a_jammed_lock_is_acknowledged_but_reads_still_closed(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.jam(0, 0)
    bank.unlock(1)
    assert _closed(bank.read(1))


@pytest.mark.parametrize("locked_bit_value", [1, 0])
def test_either_polarity_reads_closed_and_open_doors_correctly(
    pty_port: PtyPort, fake_clock: FakeClock, locked_bit_value: int
) -> None:
    settings = KerongSettings(timeout_s=0.1, retries=1, retry_delay_s=0.005, locked_bit_value=locked_bit_value)
    with (
        SimKerongBus(pty_port, boards=(0,), locked_bit_value=locked_bit_value) as _sim,
        KerongBank(pty_port.path, {1: (0, 0), 2: (0, 1)}, settings, fake_clock) as driver,
    ):
        driver.unlock(2)
        states = driver.read_all()
        assert states[1].door is DoorState.CLOSED
        assert states[2].door is DoorState.OPEN


def test_a_mismatched_polarity_reads_the_opposite(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    settings = KerongSettings(timeout_s=0.1, retries=1, retry_delay_s=0.005, locked_bit_value=0)
    with (
        SimKerongBus(pty_port, boards=(0,), locked_bit_value=1) as _sim,
        KerongBank(pty_port.path, {1: (0, 0)}, settings, fake_clock) as driver,
    ):
        assert driver.read(1).door is DoorState.OPEN


@pytest.mark.parametrize("mode", list(GarbleMode))
def test_a_spoiled_reply_is_retried_and_the_read_succeeds(
    bank: KerongBank, sim: SimKerongBus, mode: GarbleMode
) -> None:
    sim.garble_next(1, mode)
    assert _closed(bank.read(1))
    assert bank.get_status()["boards"]["0"]["answering"] is True


def test_a_wrong_checksum_is_counted_as_a_bad_frame(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.garble_next(1, GarbleMode.CHECKSUM)
    bank.read(1)
    assert bank.get_status()["boards"]["0"]["bad_frames"] >= 1


def test_an_unlock_whose_reply_is_spoiled_still_succeeds(bank: KerongBank, sim: SimKerongBus) -> None:
    bank.read_all()  # pulse time already set, so the spoiled reply is the unlock's own
    bank.unlock(1)
    sim.close_door(0, 0)
    sim.garble_next(1, GarbleMode.START)
    bank.unlock(1)
    assert sim.door_open(0, 0)
    assert sim.unlock_frames == 2


def test_stray_bytes_waiting_on_the_line_do_not_confuse_the_next_read(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.send_raw(b"\x02\x10\x35\x00junk\x03")
    assert _closed(bank.read(3))


def test_replies_spoiled_every_time_mark_the_board_faulted(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.garble_next(10, GarbleMode.CHECKSUM)
    assert bank.read(1).fault == "lock board 0 not answering"


def test_a_silent_board_marks_every_bay_on_it_faulted(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.silent(0)
    states = bank.read_all()
    assert states[1] == BayState(bay=1, fault="lock board 0 not answering")
    assert states[2] == BayState(bay=2, fault="lock board 0 not answering")


def test_a_silent_board_does_not_fault_the_other_boards(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.silent(0)
    assert _closed(bank.read_all()[3])


def test_a_silent_board_recovers_by_itself_when_it_answers_again(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.silent(0)
    bank.read_all()
    sim.silent(0, False)
    states = bank.read_all()
    assert _closed(states[1])
    assert bank.get_status()["boards"]["0"]["answering"] is True


def test_status_reports_the_silent_board_and_its_error_counts(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.silent(1)
    bank.read_all()
    board = bank.get_status()["boards"]["1"]
    assert board["answering"] is False
    assert board["fault"] == "lock board 1 not answering"
    assert board["no_reply"] == 1 + FAST.retries
    assert board["failed_requests"] == 1


def test_unlock_on_a_silent_board_raises_a_plain_device_error(bank: KerongBank, sim: SimKerongBus) -> None:
    sim.silent(0)
    with pytest.raises(DeviceError, match="bay 1 did not unlock: lock board 0 is not answering"):
        bank.unlock(1)
    assert sim.unlock_frames == 1


def test_a_late_unlock_reply_within_the_unlock_timeout_is_accepted(bank: KerongBank, sim: SimKerongBus) -> None:
    bank.unlock(2)  # the pulse time is set now, so only the unlock's own reply is late
    sim.late_reply(0.15)
    bank.unlock(1)
    assert sim.pulses == [(0, 1), (0, 0)]


def test_a_reply_that_misses_the_deadline_confirms_the_unlock_instead_of_pulsing_again(
    pty_port: PtyPort, sim: SimKerongBus, fake_clock: FakeClock
) -> None:
    settings = KerongSettings(timeout_s=0.1, unlock_timeout_s=0.1, retries=2, retry_delay_s=0.3, pulse_ms=None)
    with KerongBank(pty_port.path, BAYS, settings, fake_clock) as driver:
        sim.late_reply(0.15)
        driver.unlock(1)
        assert sim.pulses == [(0, 0)]
        board = driver.get_status()["boards"]["0"]
        assert (board["unlocks_sent"], board["unanswered_unlocks"]) == (1, 1)


def test_listeners_hear_the_changes_that_polling_finds(bank: KerongBank, sim: SimKerongBus) -> None:
    bank.read_all()
    heard: list[BayState] = []
    bank.subscribe(heard.append)
    sim.open_door(0, 0)
    bank.read_all()
    assert heard == [BayState(bay=1, door=DoorState.OPEN, lock=LockState.UNLOCKED, presence=False)]


def test_listeners_hear_a_board_fault(bank: KerongBank, sim: SimKerongBus) -> None:
    bank.read_all()
    heard: list[BayState] = []
    bank.subscribe(heard.append)
    sim.silent(1)
    bank.read_all()
    assert heard == [BayState(bay=3, fault="lock board 1 not answering")]


def test_a_failing_listener_does_not_stop_polling(bank: KerongBank, sim: SimKerongBus) -> None:
    def broken(state: BayState) -> None:
        raise RuntimeError("listener bug")

    bank.subscribe(broken)
    assert _closed(bank.read_all()[1])


def test_an_unplugged_adapter_faults_every_bay_without_raising(bank: KerongBank, pty_port: PtyPort) -> None:
    bank.read_all()
    pty_port.unplug()
    states = bank.read_all()
    assert all(state.fault == f"lock bus adapter {pty_port.path} not available" for state in states.values())
    assert bank.get_status()["connected"] is False


def test_unlock_while_unplugged_raises_a_plain_device_error(bank: KerongBank, pty_port: PtyPort) -> None:
    pty_port.unplug()
    with pytest.raises(DeviceError, match="not available"):
        bank.unlock(1)


def test_a_replugged_adapter_is_reopened_after_the_backoff(
    bank: KerongBank, pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    bank.read_all()
    pty_port.unplug()
    bank.read_all()  # notices the loss
    bank.read_all()  # cannot reopen: backoff starts
    pty_port.plug()
    assert bank.read_all()[1].fault is not None  # still waiting out the backoff
    fake_clock.advance(FAST.reopen_min_s)
    assert _closed(bank.read_all()[1])
    assert bank.get_status()["opens"] == 2


def test_the_port_is_opened_exclusively(bank: KerongBank, pty_port: PtyPort, fake_clock: FakeClock) -> None:
    bank.read_all()
    with KerongBank(pty_port.path, BAYS, FAST, fake_clock) as second:
        assert second.read(1).fault is not None
        assert "exclusively" in (second.get_status()["port_error"] or "")


def test_concurrent_callers_never_interleave_frames(bank: KerongBank, sim: SimKerongBus) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(15):
                if bank.read_all()[3].fault is not None:
                    errors.append(AssertionError("board 1 faulted"))
                bank.unlock(1)
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    wait_until(lambda: not any(t.is_alive() for t in threads), timeout=30, what="workers to finish")
    assert errors == []
    assert bank.get_status()["boards"]["1"]["bad_frames"] == 0


def test_reading_an_unknown_bay_is_a_plain_error(bank: KerongBank) -> None:
    with pytest.raises(ValueError, match="bay 9 is not on the lock bus"):
        bank.read(9)


def test_bays_outside_the_bus_are_refused_at_construction(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="board must be 0-15"):
        KerongBank(pty_port.path, {1: (16, 0)}, FAST, fake_clock)


def test_close_is_safe_twice_and_unlock_afterwards_is_refused(bank: KerongBank) -> None:
    bank.close()
    bank.close()
    with pytest.raises(DeviceError, match="closed"):
        bank.unlock(1)


def test_the_simulator_tells_a_cabinet_model_about_each_pulse(bank: KerongBank, sim: SimKerongBus) -> None:
    pulsed: list[tuple[int, int]] = []
    sim.on_unlock(lambda board, lock: pulsed.append((board, lock)))
    bank.unlock(3)
    assert pulsed == [(1, 15)]
