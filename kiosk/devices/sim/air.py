"""A simulated cabinet temperature/humidity transmitter, speaking real Modbus RTU on a simulated line.

It serves exactly the registers of the :class:`~kiosk.core.airmap.AirMap` it is built with, on that
map's function code, and answers any other function code with exception 01 (illegal function) and any
other register with 02 (illegal data address), as the real modules do — so a station configured for
the wrong model sees the refusal, not made-up values. It sits on the slot controllers' simulated bus
(:meth:`~kiosk.devices.sim.slots.SimSlotControllers.attach`) or on a line of its own.

What modules in the field also do, played on request: answer both FC 03 and FC 04 with the same
registers (many XY-MD02 clones), answer late (:attr:`SimAirSensor.reply_delay_s`), and send the map's
"no value" sentinel when the probe is disconnected (:meth:`SimAirSensor.disconnect_probe`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kiosk.core.airmap import AirMap
from kiosk.core.hardware import SafetyIoConfig
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.slots import SimSlotControllers
from kiosk.devices.slots.registers import encode_number

ILLEGAL_FUNCTION = 0x01
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03

ROOM_AIR_C = 24.0
ROOM_HUMIDITY_PCT = 55.0
HOT_AIR_C = 62.0
"""Cabinet air made hot (°C): above the default cabinet alarm limit."""
HUMID_PCT = 93.0
"""Cabinet air made humid (%RH): above the default condensation watch."""


class SimAirSensor:
    """The sensor's state (air, humidity, silent) and its answers."""

    def __init__(self, amap: AirMap, *, also_answers: Iterable[int] = (), reply_delay_s: float = 0.0) -> None:
        self.amap = amap
        self.also_answers = frozenset(also_answers)
        """Function codes served with the map's registers besides the map's own (a clone answering 03 and 04)."""
        self.reply_delay_s = reply_delay_s
        """How long the module takes to answer (some take 100 ms and more); a real wait on the line."""
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.air_c = ROOM_AIR_C
        self.humidity_pct = ROOM_HUMIDITY_PCT
        self.silent = False
        self.probe_connected = True
        self.requests = 0

    def set(self, *, air_c: float | None = None, humidity_pct: float | None = None) -> None:
        """Change what the sensor measures."""
        with self._lock:
            if air_c is not None:
                self.air_c = air_c
            if humidity_pct is not None:
                self.humidity_pct = humidity_pct

    def disconnect_probe(self, disconnected: bool = True) -> None:
        """Unplug the probe (or plug it back): the module answers, with the map's "no value" sentinels."""
        with self._lock:
            self.probe_connected = not disconnected

    def close(self) -> None:
        """Stop any wait for a late answer."""
        self._closed.set()

    def set_silent(self, silent: bool = True) -> None:
        """Make the sensor stop answering (a cut wire, a dead module), or answer again."""
        with self._lock:
            self.silent = silent

    def _registers(self) -> dict[tuple[int, int], int]:
        out: dict[tuple[int, int], int] = {}
        fields = [(self.amap.temperature, self.air_c), (self.amap.humidity, self.humidity_pct)]
        for spec, value in fields:
            if spec is not None:
                words = encode_number(spec, value)
                if not self.probe_connected and spec.missing:
                    words = [spec.missing[-1] & 0xFFFF]  # 0x8000 / 0xFFFF: what such modules send
                for function in {spec.function, *self.also_answers}:
                    for offset, word in enumerate(words):
                        out[(function, spec.address + offset)] = word
        return out

    def respond(self, function: int, payload: bytes) -> bytes | None:
        """The reply PDU to one request (see :class:`~kiosk.devices.sim.slots.BusDevice`)."""
        with self._lock:
            self.requests += 1
            if self.silent:
                return None
            values = self._registers()
            delay = self.reply_delay_s
        if delay and self._closed.wait(delay):
            return None
        if function not in {f for f, _ in values}:
            return bytes([function | 0x80, ILLEGAL_FUNCTION])
        start, count = int.from_bytes(payload[0:2], "big"), int.from_bytes(payload[2:4], "big")
        if not 1 <= count <= 125:
            return bytes([function | 0x80, ILLEGAL_VALUE])
        if any((function, a) not in values for a in range(start, start + count)):
            return bytes([function | 0x80, ILLEGAL_ADDRESS])
        data = b"".join(values[(function, a)].to_bytes(2, "big") for a in range(start, start + count))
        return bytes([function, len(data)]) + data


AIR_LINK = "air-sensor"
"""Name of the stable symlink of an air sensor with a line of its own (under the simulator's workdir)."""
SHARED_ADDRESS = 100
"""Where the simulator puts a sensor sharing the slot bus whose configured address a bay's controller has."""
FAULTS = ("cabinet_hot", "humid", "air_sensor_silent", "air_probe_disconnected")
"""The air sensor's faults the simulated cabinet offers."""


def wire_air(safety: dict[str, Any], slaves: set[int], workdir: Path) -> None:
    """Point a ``[hardware.safety]`` dump's air sensor at the simulator: its own pty, or a free address."""
    if safety.get("cabinet_sensor") != "modbus":
        return
    if safety.get("cabinet_sensor_port") is not None:
        safety["cabinet_sensor_port"] = str(workdir / AIR_LINK)
    elif safety.get("cabinet_sensor_address") in slaves:
        safety["cabinet_sensor_address"] = next(a for a in range(SHARED_ADDRESS, 248) if a not in slaves)


class SimAir:
    """The simulated cabinet's air sensor and, when it has one, its own line."""

    def __init__(self, safety: SafetyIoConfig, slots: SimSlotControllers, port: Callable[[str], PtyPort]) -> None:
        self.sensor = SimAirSensor(safety.air_map())
        self._line: SimSlotControllers | None = None
        bus = slots
        if safety.cabinet_sensor_port is not None:
            bus = self._line = SimSlotControllers(port(AIR_LINK), {})
            self._line.start()
        bus.attach(safety.cabinet_sensor_address, self.sensor)

    def fault(self, fault: str, on: bool) -> None:
        """``cabinet_hot``: the air at 62 °C; ``humid``: 93 %RH; ``air_sensor_silent``: no answers;
        ``air_probe_disconnected``: answers with "no value" (off: room air, answering, probe back)."""
        if fault == "cabinet_hot":
            self.sensor.set(air_c=HOT_AIR_C if on else ROOM_AIR_C)
        elif fault == "humid":
            self.sensor.set(humidity_pct=HUMID_PCT if on else ROOM_HUMIDITY_PCT)
        elif fault == "air_sensor_silent":
            self.sensor.set_silent(on)
        elif fault == "air_probe_disconnected":
            self.sensor.disconnect_probe(on)
        else:
            raise ValueError(f"the air sensor has no fault {fault!r}")

    def status(self) -> dict[str, Any]:
        """What the sensor measures now (the world, not what the station read)."""
        sensor = self.sensor
        return {
            "air_c": sensor.air_c,
            "humidity_pct": sensor.humidity_pct,
            "silent": sensor.silent,
            "probe_connected": sensor.probe_connected,
        }

    def close(self) -> None:
        """Stop its own line, if it has one. Safe twice."""
        self.sensor.close()
        if self._line is not None:
            self._line.close()
