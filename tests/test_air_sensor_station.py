"""The cabinet air sensor through a running station: the real driver on the simulated slot bus, the supervisor
acting on what it reads (hot air stops all charging, humid air runs the fan), a silent sensor only warned of."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.hardware import SafetyIoConfig
from tests.support import SimStation, sim_config, wait_until

WAIT = 10.0
BATTERY_BAYS = range(1, 9)


class AirCabinet(SimStation):
    """A station whose cabinet has an XY-MD02 on the slot controllers' bus (or, ``own_line``, on its own)."""

    def __init__(self, tmp_path: Path, *, own_line: bool = False) -> None:
        base = sim_config(tmp_path)
        io = SafetyIoConfig(
            cabinet_sensor="modbus",
            cabinet_sensor_poll_s=0.5,
            cabinet_sensor_port=str(tmp_path / "any") if own_line else None,
        )
        config = sim_config(tmp_path, hardware={"safety": io, "bays": base.hardware.bays})
        super().__init__(config, tmp_path, wait=WAIT)
        wait_until(lambda: self.safety()["cabinet"]["air_c"] == 24.0, WAIT, "the cabinet air read")


@pytest.fixture
def cabinet(tmp_path: Path) -> Iterator[AirCabinet]:
    made = AirCabinet(tmp_path)
    yield made
    made.close()


def test_the_simulator_moves_the_sensor_off_the_bays_addresses_and_the_station_reads_it(cabinet: AirCabinet) -> None:
    safety_io = cabinet.sim.hardware_config().safety
    assert safety_io.cabinet_sensor_address == 100  # 1 is bay 1's controller on the same bus
    assert cabinet.safety()["cabinet"]["humidity_pct"] == 55.0
    status = cabinet.tech.status()["components"]["cabinet"]["air_sensor"]
    assert status["reading"] == {"air_c": 24.0, "humidity_pct": 55.0, "error": None}


def test_hot_cabinet_air_stops_every_charger_and_the_alarm_stays_until_reset(cabinet: AirCabinet) -> None:
    assert cabinet.tech.sim("/faults", fault="cabinet_hot", on=True).status_code == 200
    wait_until(lambda: cabinet.safety()["cabinet"]["level"] == "alarm", WAIT, "the cabinet alarm")
    assert cabinet.safety()["cabinet"]["reasons"] == ["cabinet_hot"]
    wait_until(lambda: not any(cabinet.sim.charger_enabled(b) for b in BATTERY_BAYS), WAIT, "every charger off")
    wait_until(lambda: cabinet.sim.output_on("fan_pin"), WAIT, "the fan on")
    cabinet.tech.sim("/faults", fault="cabinet_hot", on=False)
    wait_until(lambda: cabinet.safety()["cabinet"]["air_c"] == 24.0, WAIT, "the air cooled")
    assert cabinet.safety()["cabinet"]["level"] == "alarm"  # latched
    assert cabinet.running.loop.call(cabinet.running.station.safety.reset, None, "wang") is None
    assert cabinet.safety()["cabinet"]["level"] == "normal"
    wait_until(lambda: all(cabinet.sim.charger_enabled(b) for b in BATTERY_BAYS), WAIT, "charging again")


def test_humid_air_runs_the_fan_as_a_condensation_watch(cabinet: AirCabinet) -> None:
    cabinet.tech.sim("/faults", fault="humid", on=True)
    wait_until(lambda: cabinet.safety()["cabinet"]["level"] == "watch", WAIT, "the condensation watch")
    assert cabinet.safety()["cabinet"]["reasons"] == ["condensation"]
    wait_until(lambda: cabinet.sim.output_on("fan_pin"), WAIT, "the fan on")
    assert all(cabinet.sim.charger_enabled(b) for b in BATTERY_BAYS)  # humidity alone stops no charger


def test_a_silent_sensor_is_a_warning_and_the_station_keeps_working(cabinet: AirCabinet) -> None:
    cabinet.tech.sim("/faults", fault="air_sensor_silent", on=True)
    warning = "cabinet temperature/humidity sensor: no answer from address 100"
    wait_until(lambda: f"safety: {warning}" in cabinet.tech.status()["warnings"], WAIT, "the warning")
    safety = cabinet.safety()
    assert (safety["level"], safety["cabinet"]["air_c"]) == ("normal", None)
    assert cabinet.tech.status()["components"]["safety"]["state"] == "running"
    assert cabinet.tech.bay(1)["battery"]["error"] is None  # the bays on the same bus still answer
    cabinet.tech.sim("/faults", fault="air_sensor_silent", on=False)
    wait_until(lambda: cabinet.safety()["cabinet"]["air_c"] == 24.0, WAIT, "the sensor back")
    assert not any("sensor" in w for w in cabinet.tech.status()["warnings"])


def test_a_disconnected_probe_is_no_reading_and_a_warning_never_a_temperature(cabinet: AirCabinet) -> None:
    cabinet.tech.sim("/faults", fault="air_probe_disconnected", on=True)
    warning = (
        "cabinet temperature/humidity sensor: temperature (FC 04, register 1) reads 0x8000, "
        "the sensor's 'no value': is its probe disconnected?"
    )
    wait_until(lambda: f"safety: {warning}" in cabinet.tech.status()["warnings"], WAIT, "the warning")
    safety = cabinet.safety()
    # -3276.8 °C is not judged as air (it would be "no cabinet air can be" or, worse, a real cold reading).
    assert (safety["level"], safety["cabinet"]["air_c"], safety["cabinet"]["humidity_pct"]) == ("normal", None, None)
    cabinet.tech.sim("/faults", fault="air_probe_disconnected", on=False)
    wait_until(lambda: cabinet.safety()["cabinet"]["air_c"] == 24.0, WAIT, "the probe back")


def test_a_sensor_on_its_own_line(tmp_path: Path) -> None:
    cabinet = AirCabinet(tmp_path, own_line=True)
    try:
        safety_io = cabinet.sim.hardware_config().safety
        assert safety_io.cabinet_sensor_port == str(tmp_path / "devices" / "air-sensor")
        assert safety_io.cabinet_sensor_address == 1
        cabinet.tech.sim("/faults", fault="humid", on=True)
        wait_until(lambda: cabinet.safety()["cabinet"]["humidity_pct"] == 93.0, WAIT, "the humid air read")
    finally:
        cabinet.close()
