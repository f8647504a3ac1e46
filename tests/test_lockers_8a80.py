"""The 8A/80 driver against simulated boards on a pty, in every protocol variant the field disagrees on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import Board8A80Settings
from kiosk.devices.base import BayState, DoorState, LockerBank, LockState
from kiosk.devices.lockers.board8a80 import Board8A80Bank
from kiosk.devices.sim.board8a80 import SimBoard8A80Bus
from kiosk.devices.sim.lockboard import GarbleMode
from kiosk.devices.sim.pty import PtyPort
from tests.support import wait_until

BAYS = {1: (1, 0), 2: (1, 23), 3: (2, 4)}
FAST = Board8A80Settings(
    timeout_s=0.1,
    unlock_timeout_s=0.2,
    retries=2,
    retry_delay_s=0.005,
    reopen_min_s=1.0,
    reopen_max_s=4.0,
    confirm_s=0.3,
    confirm_poll_s=0.02,
)


def closed(bay: int) -> BayState:
    """A shut and locked bay as these boards report it (they have no presence sensor)."""
    return BayState(bay=bay, door=DoorState.CLOSED, lock=LockState.LOCKED, presence=None)


def opened(bay: int) -> BayState:
    """An open bay."""
    return BayState(bay=bay, door=DoorState.OPEN, lock=LockState.UNLOCKED, presence=None)


@pytest.fixture
def sim(pty_port: PtyPort) -> Iterator[SimBoard8A80Bus]:
    bus = SimBoard8A80Bus(pty_port, boards=(1, 2))
    yield bus
    bus.close()


@pytest.fixture
def bank(pty_port: PtyPort, sim: SimBoard8A80Bus, fake_clock: FakeClock) -> Iterator[Board8A80Bank]:
    driver = Board8A80Bank(pty_port.path, BAYS, FAST, fake_clock)
    yield driver
    driver.close()


def test_bank_keeps_the_locker_bank_protocol(bank: Board8A80Bank) -> None:
    assert isinstance(bank, LockerBank)
    assert bank.bays() == [1, 2, 3]


def test_read_all_reports_every_bay_closed_and_locked_at_start(bank: Board8A80Bank) -> None:
    states = bank.read_all()
    assert states == {bay: closed(bay) for bay in BAYS}


def test_unlock_opens_the_door_and_the_driver_reads_it_open(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    bank.unlock(2)
    assert sim.door_open(1, 23)
    assert bank.read(2) == opened(2)


def test_read_all_sees_an_open_door_among_shut_ones(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    sim.open_door(2, 4)
    states = bank.read_all()
    assert states[3] == opened(3)
    assert states[1] == closed(1)


def test_a_door_pushed_shut_reads_closed_again(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    bank.unlock(1)
    sim.close_door(1, 0)
    assert bank.read(1) == closed(1)


def test_channel_0_is_lock_1_on_the_wire(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    bank.unlock(1)
    assert sim.pulses == [(1, 0)]


@pytest.mark.parametrize("set_means_open", [True, False])
def test_either_meaning_of_11_reads_doors_correctly(
    pty_port: PtyPort, fake_clock: FakeClock, set_means_open: bool
) -> None:
    settings = Board8A80Settings(timeout_s=0.1, retries=1, retry_delay_s=0.005, set_means_open=set_means_open)
    with (
        SimBoard8A80Bus(pty_port, boards=(1,), set_means_open=set_means_open) as _sim,
        Board8A80Bank(pty_port.path, {1: (1, 0), 2: (1, 1)}, settings, fake_clock) as driver,
    ):
        driver.unlock(2)
        states = driver.read_all()
        assert states[1].door is DoorState.CLOSED
        assert states[2].door is DoorState.OPEN
        assert driver.read(2).door is DoorState.OPEN


@pytest.mark.parametrize("header", [0x80, 0x8A])
def test_either_unlock_reply_header_is_understood_when_configured(
    pty_port: PtyPort, fake_clock: FakeClock, header: int
) -> None:
    settings = Board8A80Settings(timeout_s=0.1, retries=1, retry_delay_s=0.005, unlock_reply_header=header)
    with (
        SimBoard8A80Bus(pty_port, boards=(1,), unlock_reply_header=header) as sim,
        Board8A80Bank(pty_port.path, {1: (1, 0)}, settings, fake_clock) as driver,
    ):
        driver.unlock(1)
        assert sim.door_open(1, 0)


def test_an_unlock_reply_header_other_than_configured_is_accepted_by_default(
    pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    settings = Board8A80Settings(timeout_s=0.05, unlock_timeout_s=0.2, retries=1, retry_delay_s=0.005)
    with (
        SimBoard8A80Bus(pty_port, boards=(1,), unlock_reply_header=0x8A) as sim,
        Board8A80Bank(pty_port.path, {1: (1, 0)}, settings, fake_clock) as driver,
    ):
        driver.unlock(1)
        assert sim.unlock_frames == 1
        assert driver.get_status()["boards"]["1"]["confirmed_by_status"] == 0


def test_a_strict_header_ignores_the_other_one_and_confirms_by_reading_the_lock(
    pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    settings = Board8A80Settings(
        timeout_s=0.05, unlock_timeout_s=0.1, retries=1, retry_delay_s=0.005, strict_unlock_header=True
    )
    with (
        SimBoard8A80Bus(pty_port, boards=(1,), unlock_reply_header=0x8A) as sim,
        Board8A80Bank(pty_port.path, {1: (1, 0)}, settings, fake_clock) as driver,
    ):
        driver.unlock(1)
        assert sim.unlock_frames == 1
        assert driver.get_status()["boards"]["1"]["confirmed_by_status"] == 1


def test_the_bank_refuses_an_unlock_reply_header_that_no_board_uses() -> None:
    with pytest.raises(ValueError, match=r"unlock_reply_header\n  Input should be 128 or 138"):
        Board8A80Settings(unlock_reply_header=0x82)  # type: ignore[arg-type]


def test_change_reports_reach_listeners_without_a_poll(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    bank.read_all()
    heard: list[BayState] = []
    bank.subscribe(heard.append)
    sim.enable_reports()
    sim.open_door(2, 4)

    def reported() -> bool:
        bank.check_reports()
        return heard == [opened(3)]

    wait_until(reported, timeout=5, what="the 82 report to reach the listener")


def test_a_change_report_waiting_before_a_command_is_not_flushed_away(
    bank: Board8A80Bank, sim: SimBoard8A80Bus
) -> None:
    bank.read_all()
    sim.enable_reports()
    sim.open_door(2, 4)
    # Only commands to board 1: bay 3 (board 2) can learn of its door from the report alone.
    wait_until(
        lambda: bank.read(1) and bank.get_status()["bays"]["3"]["door"] == "open",
        timeout=5,
        what="the report to be taken in while board 1 is queried",
    )


def test_a_change_report_arriving_during_an_unlock_is_applied(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    with (
        SimBoard8A80Bus(pty_port, boards=(1,), reports=True) as _sim,
        Board8A80Bank(pty_port.path, {1: (1, 0)}, FAST, fake_clock) as driver,
    ):
        heard: list[BayState] = []
        driver.subscribe(heard.append)
        driver.unlock(1)
        assert heard == [opened(1)]


@pytest.mark.parametrize("mode", list(GarbleMode))
def test_a_spoiled_reply_is_retried_and_the_read_succeeds(
    bank: Board8A80Bank, sim: SimBoard8A80Bus, mode: GarbleMode
) -> None:
    sim.garble_next(1, mode)
    assert bank.read_all()[1] == closed(1)


@pytest.mark.parametrize("mode", [GarbleMode.CHECKSUM, GarbleMode.TRUNCATE])
def test_a_spoiled_unlock_reply_is_confirmed_by_reading_the_lock_not_by_pulsing_again(
    bank: Board8A80Bank, sim: SimBoard8A80Bus, mode: GarbleMode
) -> None:
    sim.garble_next(1, mode)
    bank.unlock(1)
    assert sim.unlock_frames == 1
    assert bank.read(1).door is DoorState.OPEN


def test_a_wrong_checksum_is_counted_as_a_bad_frame(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    sim.garble_next(1, GarbleMode.CHECKSUM)
    bank.read(1)
    assert bank.get_status()["boards"]["1"]["bad_frames"] >= 1


def test_a_silent_board_marks_every_bay_on_it_faulted(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    sim.silent(1)
    states = bank.read_all()
    assert states[1] == BayState(bay=1, fault="lock board 1 not answering")
    assert states[2] == BayState(bay=2, fault="lock board 1 not answering")
    assert states[3] == closed(3)


def test_a_silent_board_recovers_by_itself_when_it_answers_again(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    sim.silent(2)
    assert bank.read(3).fault == "lock board 2 not answering"
    sim.silent(2, False)
    assert bank.read(3) == closed(3)
    assert bank.get_status()["boards"]["2"]["answering"] is True


def test_status_reports_the_silent_board_and_its_error_counts(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    sim.silent(2)
    bank.read_all()
    board = bank.get_status()["boards"]["2"]
    assert board["fault"] == "lock board 2 not answering"
    assert board["no_reply"] == 1 + FAST.retries
    assert board["failed_requests"] == 1


def test_unlock_on_a_silent_board_raises_a_plain_device_error(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    sim.silent(1)
    with pytest.raises(DeviceError, match="bay 2 did not unlock: lock board 1 is not answering"):
        bank.unlock(2)


def test_a_late_unlock_reply_within_the_unlock_timeout_is_accepted(bank: Board8A80Bank, sim: SimBoard8A80Bus) -> None:
    sim.late_reply(0.15)
    bank.unlock(1)
    assert sim.pulses == [(1, 0)]


def test_an_unplugged_adapter_faults_every_bay_without_raising(bank: Board8A80Bank, pty_port: PtyPort) -> None:
    bank.read_all()
    pty_port.unplug()
    states = bank.read_all()
    assert all(state.fault == f"lock bus adapter {pty_port.path} not available" for state in states.values())


def test_a_replugged_adapter_is_reopened_after_the_backoff(
    bank: Board8A80Bank, pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    bank.read_all()
    pty_port.unplug()
    bank.read_all()
    pty_port.plug()
    fake_clock.advance(FAST.reopen_max_s)
    assert bank.read_all()[1] == closed(1)
    assert bank.get_status()["connected"] is True


def test_check_reports_on_an_unplugged_adapter_does_not_raise(bank: Board8A80Bank, pty_port: PtyPort) -> None:
    bank.read_all()
    pty_port.unplug()
    bank.check_reports()
    assert bank.read_all()[1].fault == f"lock bus adapter {pty_port.path} not available"


def test_bays_outside_the_bus_are_refused_at_construction(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="board must be 1-32"):
        Board8A80Bank(pty_port.path, {1: (0, 0)}, FAST, fake_clock)


def test_status_names_the_protocol_variant(bank: Board8A80Bank) -> None:
    status = bank.get_status()
    assert (status["kind"], status["set_means_open"], status["unlock_reply_header"]) == ("8a80", True, "80")
