"""The cabinet temperature/humidity sensor over Modbus RTU: the real driver against a simulated module on a pty.

On the slot controllers' bus (between their reads) and on a line of its own; every shipped register map
against a module that answers only that map's function code; a silent or nonsensical sensor is a
reading with an error, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.core.airmap import AIR_MAPS, AirSensorModel
from kiosk.core.clock import FakeClock
from kiosk.core.hardware import BayConfig, HardwareConfig, SafetyIoConfig, SlotSettings
from kiosk.core.slotmap import FieldOverride
from kiosk.devices.air import AirReading
from kiosk.devices.air.modbus import AirLine, AirSensor
from kiosk.devices.build import build_devices
from kiosk.devices.sim.air import SimAirSensor
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.slots import SimBattery, SimSlotControllers
from kiosk.devices.slots.modbus import SlotControllers

SLAVES = {1: 1, 2: 2}
SENSOR = 100
FAST = SlotSettings(timeout_s=0.2, retries=0, silent_retry_s=5.0)


@pytest.fixture
def bus(pty_port: PtyPort) -> Iterator[tuple[SimSlotControllers, SimAirSensor]]:
    """Two slot controllers and an XY-MD02 at address 100 on one simulated RS-485 line."""
    with SimSlotControllers(pty_port, SLAVES) as controllers:
        controllers.insert(1, SimBattery("SH0000001", temperature_c=27.5))
        sensor = SimAirSensor(AIR_MAPS["xy-md02"])
        controllers.attach(SENSOR, sensor)
        yield controllers, sensor


@pytest.fixture
def slots(pty_port: PtyPort, bus: object, fake_clock: FakeClock) -> Iterator[SlotControllers]:
    with SlotControllers(pty_port.path, SLAVES, FAST, fake_clock) as driver:
        yield driver


def sensor_on(slots: SlotControllers, model: AirSensorModel = "xy-md02") -> AirSensor:
    return AirSensor(slots, SENSOR, AIR_MAPS[model], model=model)


def test_the_sensor_shares_the_slot_bus_and_reads_air_and_humidity(
    slots: SlotControllers, bus: tuple[SimSlotControllers, SimAirSensor]
) -> None:
    _, sim = bus
    sim.set(air_c=31.4, humidity_pct=62.5)
    air = sensor_on(slots)
    assert air.read() == AirReading(air_c=31.4, humidity_pct=62.5)
    assert slots.read(1).temperature_c == 27.5  # the controllers still answer on the same line
    sim.set(air_c=-20.5)  # signed tenths, as the manuals' 0xFF33 example
    assert air.read().air_c == -20.5
    assert sim.requests == 4  # one request per value: FC 04 register 1, then register 2
    assert air.get_status()["warnings"] == []


@pytest.mark.parametrize("model", sorted(AIR_MAPS))
def test_every_shipped_map_reads_a_module_of_its_kind(
    pty_port: PtyPort, fake_clock: FakeClock, model: AirSensorModel
) -> None:
    with SimSlotControllers(pty_port, {}) as line:
        sim = SimAirSensor(AIR_MAPS[model])
        sim.set(air_c=22.3, humidity_pct=48.0)
        line.attach(1, sim)
        own = AirLine(pty_port.path, AIR_MAPS[model].baudrate, timeout_s=0.2, retries=0)
        air = AirSensor(own, 1, AIR_MAPS[model], model=model, line=own)
        try:
            assert air.read() == AirReading(air_c=22.3, humidity_pct=48.0)
        finally:
            air.close()
        air.close()  # twice is fine


def test_a_module_of_another_kind_is_refused_in_words_that_name_the_setting(
    slots: SlotControllers, bus: tuple[SimSlotControllers, SimAirSensor]
) -> None:
    # The XY-MD02 on the bus answers only FC 04; a station set for the holding-register map asks FC 03.
    reading = sensor_on(slots, "xy-md02-holding").read()
    assert reading.air_c is None
    assert reading.error == (
        "the sensor refused temperature (FC 03, register 1): exception 01 (check cabinet_sensor_model)"
    )


def test_a_silent_sensor_is_a_reading_with_an_error_and_it_recovers(
    slots: SlotControllers, bus: tuple[SimSlotControllers, SimAirSensor]
) -> None:
    _, sim = bus
    air = sensor_on(slots)
    sim.set_silent()
    reading = air.read()
    assert (reading.air_c, reading.error) == (None, f"no answer from address {SENSOR}")
    assert air.get_status()["warnings"] == [f"cabinet air sensor: no answer from address {SENSOR}"]
    assert slots.read(1).error is None  # a dead sensor does not take the bus down
    sim.set_silent(False)
    assert air.read().air_c == 24.0
    assert air.failures == 0


def test_a_value_no_air_can_have_is_an_error_not_a_reading(
    slots: SlotControllers, bus: tuple[SimSlotControllers, SimAirSensor]
) -> None:
    _, sim = bus
    sim.set(air_c=300.0)  # e.g. a map that reads the wrong register
    reading = sensor_on(slots).read()
    assert reading.air_c is None
    assert reading.error is not None
    assert "reads 300.0, which no cabinet air can be" in reading.error


def test_a_field_moved_in_the_config_is_read_where_it_was_put(
    slots: SlotControllers, bus: tuple[SimSlotControllers, SimAirSensor]
) -> None:
    io = SafetyIoConfig(
        cabinet_sensor="modbus",
        cabinet_sensor_model="th-holding",
        cabinet_sensor_fields={
            "temperature": FieldOverride(function=4, address=1),
            "humidity": FieldOverride(function=4, address=2),
        },
    )
    assert io.air_map() == AIR_MAPS["xy-md02"]
    assert AirSensor(slots, SENSOR, io.air_map(), model="custom").read().air_c == 24.0


def test_the_config_refuses_a_sensor_it_cannot_reach_or_that_shares_a_bays_address(tmp_path: Path) -> None:
    bays = [BayConfig(number=1, slave=1), BayConfig(number=2, slave=2)]
    slots = {"port": str(tmp_path / "slots")}
    with pytest.raises(ValidationError, match="cabinet_sensor_address 1 is bay 1's slot controller"):
        HardwareConfig(bays=bays, slots=slots, safety={"cabinet_sensor": "modbus"})
    with pytest.raises(ValidationError, match="needs cabinet_sensor_port, or slot controllers"):
        HardwareConfig(bays=[BayConfig(number=1)], safety={"cabinet_sensor": "modbus"})
    with pytest.raises(ValidationError, match="no such field"):
        SafetyIoConfig(cabinet_sensor_fields={"pressure": FieldOverride(address=3)})
    own = HardwareConfig(bays=bays, slots=slots, safety={"cabinet_sensor": "modbus", "cabinet_sensor_port": "/dev/x"})
    assert own.safety.cabinet_sensor_address == 1  # on a line of its own, address 1 is fine


def test_the_built_devices_share_the_slot_controllers_line(tmp_path: Path, fake_clock: FakeClock) -> None:
    hw = HardwareConfig(
        bays=[BayConfig(number=1, slave=1)],
        slots={"port": str(tmp_path / "slots")},
        safety={"cabinet_sensor": "modbus", "cabinet_sensor_address": 9},
    )
    devices = build_devices(hw, clock=fake_clock, on_scan=lambda scan: None, pin_factory=None)
    try:
        assert devices.air is not None
        assert devices.air.bus is devices.slots
        assert devices.get_status()["air"]["port"] == "the slot controllers' bus"
    finally:
        devices.close()


def test_the_model_names_the_config_takes_are_the_shipped_maps() -> None:
    from typing import get_args

    assert set(get_args(AirSensorModel)) == set(AIR_MAPS)
