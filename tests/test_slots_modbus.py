"""The Modbus RTU slot-controller driver against simulated slaves on a pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymodbus.framer.rtu import FramerRTU

from kiosk.core.clock import FakeClock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import SlotSettings
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.slots import SimBattery, SimSlotControllers, crc16_modbus, request_length, with_crc
from kiosk.devices.slots.modbus import SlotControllers

SLAVES = {1: 11, 2: 12, 3: 13}
# One retry keeps a good read robust on a loaded test machine; a silent read costs 2 x 0.2 s.
FAST = SlotSettings(timeout_s=0.2, retries=1, silent_retry_s=5.0)


@pytest.fixture
def sim(pty_port: PtyPort) -> Iterator[SimSlotControllers]:
    """Three simulated controllers; bay 1 holds a battery, bays 2 and 3 are empty."""
    with SimSlotControllers(pty_port, SLAVES) as controllers:
        controllers.insert(1, SimBattery("BAT-000123", soc_pct=87.3, temperature_c=28.1, soh_pct=96.5, cycles=312))
        yield controllers


def make_driver(port: PtyPort, clock: FakeClock, settings: SlotSettings = FAST) -> SlotControllers:
    return SlotControllers(port.path, SLAVES, settings, clock)


@pytest.fixture
def slots(pty_port: PtyPort, sim: SimSlotControllers, fake_clock: FakeClock) -> Iterator[SlotControllers]:
    """The driver on the port's stable path, with short timeouts."""
    with make_driver(pty_port, fake_clock) as driver:
        yield driver


def test_a_battery_is_read_with_every_field(slots: SlotControllers, sim: SimSlotControllers) -> None:
    reading = slots.read(1)
    assert reading == sim.reading(1)
    assert (reading.battery_id, reading.soc_pct, reading.temperature_c) == ("BAT-000123", 87.3, 28.1)
    assert (reading.soh_pct, reading.cycles, reading.charger_state) == (96.5, 312, "charging")
    assert reading.voltage_v == pytest.approx(52.62)
    assert reading.current_a == 5.0
    assert reading.error is None


def test_an_empty_bay_reads_as_no_battery(slots: SlotControllers) -> None:
    reading = slots.read(2)
    assert (reading.present, reading.battery_id, reading.error) == (False, None, None)


def test_a_hot_battery_reads_hot_and_flagged(slots: SlotControllers, sim: SimSlotControllers) -> None:
    sim.hot(1, temperature_c=61.5)
    reading = slots.read(1)
    assert reading.temperature_c == 61.5
    assert reading.fault_flags == {"over_temperature"}
    assert reading.charger_state == "fault"


def test_bms_fault_flags_are_read(slots: SlotControllers, sim: SimSlotControllers) -> None:
    sim.fault(1, {"over_voltage", "bms_comms_lost"})
    assert slots.read(1).fault_flags == {"over_voltage", "bms_comms_lost"}


def test_a_battery_taken_out_reads_as_absent(slots: SlotControllers, sim: SimSlotControllers) -> None:
    sim.take(1)
    assert slots.read(1).present is False


def test_a_battery_charges_over_time(slots: SlotControllers, sim: SimSlotControllers) -> None:
    sim.tick(500)
    assert slots.read(1).soc_pct == pytest.approx(97.3)


def test_switching_the_charger_off_writes_the_enable_register(slots: SlotControllers, sim: SimSlotControllers) -> None:
    slots.set_charger(1, False)
    assert sim.charger_enabled(1) is False
    assert slots.read(1).charger_state == "idle"


def test_switching_the_charger_back_on(slots: SlotControllers, sim: SimSlotControllers) -> None:
    slots.set_charger(1, False)
    slots.set_charger(1, True)
    assert sim.charger_enabled(1) is True


def test_switching_a_silent_controllers_charger_is_a_device_error(
    slots: SlotControllers, sim: SimSlotControllers
) -> None:
    sim.silent(1)
    with pytest.raises(DeviceError, match="no answer from slot controller 11"):
        slots.set_charger(1, True)


def test_a_silent_controller_gives_an_error_reading(slots: SlotControllers, sim: SimSlotControllers) -> None:
    sim.silent(1)
    reading = slots.read(1)
    assert (reading.present, reading.error) == (False, "no answer from slot controller 11")


def test_a_silent_controller_faults_its_bay_in_the_status(slots: SlotControllers, sim: SimSlotControllers) -> None:
    sim.silent(1)
    slots.read_all()
    status = slots.get_status()
    assert status["warnings"] == ["bay 1: no answer from slot controller 11"]
    assert [b["ok"] for b in status["bays"]] == [False, True, True]


def test_a_silent_controller_recovers_on_the_next_good_read(slots: SlotControllers, sim: SimSlotControllers) -> None:
    sim.silent(1)
    slots.read(1)
    sim.silent(1, False)
    assert slots.read(1).error is None
    assert slots.get_status()["warnings"] == []


def test_read_all_asks_a_silent_controller_again_only_after_the_retry_time(
    slots: SlotControllers, sim: SimSlotControllers, fake_clock: FakeClock
) -> None:
    sim.silent(1)
    slots.read_all()
    asked = sim.requests
    slots.read_all()
    assert sim.requests == asked + 2  # bays 2 and 3 only
    fake_clock.advance(5.0)
    sim.silent(1, False)
    assert slots.read_all()[1].error is None


def test_a_garbled_reply_is_retried(pty_port: PtyPort, sim: SimSlotControllers, fake_clock: FakeClock) -> None:
    sim.garble(1)
    with make_driver(pty_port, fake_clock, SlotSettings(timeout_s=0.2, retries=1)) as driver:
        reading = driver.read(1)
    assert reading.battery_id == "BAT-000123"
    assert sim.requests == 2


def test_persistently_garbled_replies_give_an_error_reading(slots: SlotControllers, sim: SimSlotControllers) -> None:
    sim.garble(1, replies=5)
    reading = slots.read(1)
    assert reading.error == "no answer from slot controller 11"


def test_an_exception_reply_is_an_error_reading(
    pty_port: PtyPort, sim: SimSlotControllers, fake_clock: FakeClock
) -> None:
    # A map the controllers do not have: they answer "illegal data address" (exception 2).
    moved = {name: {"address": 40 + i} for i, name in enumerate(("present", "charger_state"))}
    settings = SlotSettings(timeout_s=0.2, retries=0, fields=moved)
    with make_driver(pty_port, fake_clock, settings) as driver:
        assert driver.read(1).error == (
            "slot controller 11 refused field present (FC 03, register 0x0028): exception 02 (illegal data address)"
            "; field charger_state (FC 03, register 0x0029): exception 02 (illegal data address)"
        )


def test_read_all_never_raises_when_the_port_is_gone(slots: SlotControllers, pty_port: PtyPort) -> None:
    pty_port.unplug()
    readings = slots.read_all()
    assert sorted(readings) == [1, 2, 3]
    assert all(r.error for r in readings.values())


def test_reading_an_unknown_bay_is_refused(slots: SlotControllers) -> None:
    with pytest.raises(DeviceError, match="bay 9"):
        slots.read(9)


def test_close_is_safe_twice_and_reads_after_it_are_errors(slots: SlotControllers) -> None:
    slots.close()
    slots.close()
    assert slots.read(1).error == "slots is closed"
    assert slots.get_status()["connected"] is False


def test_two_bays_on_one_slave_address_are_refused(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="share a slave address"):
        SlotControllers(pty_port.path, {1: 5, 2: 5}, FAST, fake_clock)


def test_tiny_timeouts_are_validated() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        SlotSettings(timeout_s=0)


def test_the_sim_crc_is_the_modbus_crc() -> None:
    # The classic example: read one holding register at 0 from slave 1.
    assert with_crc(bytes.fromhex("010300000001")) == bytes.fromhex("010300000001840a")


def test_the_sim_crc_agrees_with_pymodbus() -> None:
    body = bytes.fromhex("0b0300000011")
    assert crc16_modbus(body).to_bytes(2, "little") == FramerRTU.compute_CRC(body).to_bytes(2, "big")


def test_the_sim_knows_how_long_a_write_multiple_request_is() -> None:
    assert request_length(bytes.fromhex("0b10006400010200")) == 9 + 2
    assert request_length(bytes.fromhex("0b10")) is None
