"""How real cabinet air sensors differ, played by the simulated module and read by the real driver on a pty.

The two register orders of FC 03 transmitters, clones answering FC 03 and FC 04 alike, a module that
answers late, and the "no value" a module sends with its probe unplugged — read as no reading and a
warning, never as a temperature.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.core.airmap import AIR_MAPS, NO_TEMPERATURE, AirSensorModel
from kiosk.devices.air import AirReading
from kiosk.devices.air.modbus import AirLine, AirSensor
from kiosk.devices.sim.air import SimAirSensor
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.slots import SimSlotControllers


class Module:
    """A simulated module alone on a line, and the driver reading it with ``model``'s map."""

    def __init__(self, port: PtyPort, sim: SimAirSensor, model: AirSensorModel, timeout_s: float = 0.3) -> None:
        self.sim = sim
        self.line = SimSlotControllers(port, {})
        self.line.attach(1, sim)
        self.line.start()
        own = AirLine(port.path, 9600, timeout_s=timeout_s, retries=0)
        self.air = AirSensor(own, 1, AIR_MAPS[model], model=model, line=own)

    def close(self) -> None:
        self.air.close()
        self.sim.close()
        self.line.close()


@pytest.fixture
def modules(pty_port: PtyPort) -> Iterator[list[Module]]:
    made: list[Module] = []
    yield made
    for module in made:
        module.close()


def module(modules: list[Module], port: PtyPort, sim: SimAirSensor, model: AirSensorModel, **kw: float) -> Module:
    made = Module(port, sim, model, **kw)
    modules.append(made)
    return made


@pytest.mark.parametrize("model", sorted(AIR_MAPS))
def test_a_disconnected_probe_is_no_reading_with_a_warning_on_every_map(
    pty_port: PtyPort, modules: list[Module], model: AirSensorModel
) -> None:
    sim = SimAirSensor(AIR_MAPS[model])
    m = module(modules, pty_port, sim, model)
    sim.disconnect_probe()
    reading = m.air.read()
    spec = AIR_MAPS[model].temperature
    assert reading.air_c is None
    assert reading.humidity_pct is None
    assert reading.error == (
        f"temperature (FC {spec.function:02d}, register {spec.address}) reads 0x8000, "
        "the sensor's 'no value': is its probe disconnected?"
    )
    assert m.air.get_status()["warnings"] == [f"cabinet air sensor: {reading.error}"]
    sim.disconnect_probe(False)
    assert m.air.read() == AirReading(air_c=24.0, humidity_pct=55.0)


def test_every_temperature_sentinel_is_no_reading(pty_port: PtyPort, modules: list[Module]) -> None:
    assert set(NO_TEMPERATURE) == {0x7FFF, 0x8000}
    sim = SimAirSensor(AIR_MAPS["xy-md02"])
    m = module(modules, pty_port, sim, "xy-md02")
    sim.set(air_c=3276.7)  # what the raw 0x7FFF would otherwise be taken for
    reading = m.air.read()
    assert reading.air_c is None
    assert reading.error is not None
    assert "reads 0x7FFF, the sensor's 'no value'" in reading.error


def test_the_two_transmitter_orders_are_different_maps_and_the_wrong_one_swaps_the_values(
    pty_port: PtyPort, modules: list[Module]
) -> None:
    sim = SimAirSensor(AIR_MAPS["th-holding-rh-first"])
    sim.set(air_c=24.0, humidity_pct=55.0)
    assert module(modules, pty_port, sim, "th-holding-rh-first").air.read() == AirReading(air_c=24.0, humidity_pct=55)
    # Read with the temperature-first map, the same module claims 55 °C and 24 %RH: plausible numbers, so
    # nothing can catch this but the right cabinet_sensor_model (docs/safety.md says to check the first reading).
    modules.pop().close()
    wrong = module(modules, pty_port, sim, "th-holding").air.read()
    assert wrong == AirReading(air_c=55.0, humidity_pct=24.0)


@pytest.mark.parametrize("model", ["xy-md02", "xy-md02-holding"])
def test_a_clone_answering_both_function_codes_is_read_with_either_map(
    pty_port: PtyPort, modules: list[Module], model: AirSensorModel
) -> None:
    sim = SimAirSensor(AIR_MAPS["xy-md02"], also_answers=[3])
    sim.set(air_c=19.6, humidity_pct=71.2)
    assert module(modules, pty_port, sim, model).air.read() == AirReading(air_c=19.6, humidity_pct=71.2)


def test_a_module_answering_only_fc04_refuses_the_holding_map(pty_port: PtyPort, modules: list[Module]) -> None:
    sim = SimAirSensor(AIR_MAPS["xy-md02"])
    reading = module(modules, pty_port, sim, "xy-md02-holding").air.read()
    assert (
        reading.error == "the sensor refused temperature (FC 03, register 1): exception 01 (check cabinet_sensor_model)"
    )


def test_a_module_answering_late_is_read_within_the_timeout_and_no_answer_past_it(
    pty_port: PtyPort, modules: list[Module]
) -> None:
    slow = SimAirSensor(AIR_MAPS["xy-md02"], reply_delay_s=0.08)
    assert module(modules, pty_port, slow, "xy-md02", timeout_s=0.4).air.read().air_c == 24.0
    modules.pop().close()
    slower = SimAirSensor(AIR_MAPS["xy-md02"], reply_delay_s=0.6)
    reading = module(modules, pty_port, slower, "xy-md02", timeout_s=0.15).air.read()
    assert (reading.air_c, reading.error) == (None, "no answer from address 1")
