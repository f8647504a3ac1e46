"""A stranger on the RS-485 line answering as the cabinet's air sensor, against the real driver on a pty.

The stranger speaks Modbus RTU as badly as it likes: a garbled CRC, exception codes, a reply from another
address, a short or over-long answer, line noise, values no air can have (3276.6 °C, -3276.7 °C, 6553.4 %RH),
the modules' own "no value" sentinels.
Each is a reading with an error in plain words — a warning — never an exception for the poller, and the
next honest answer is read again. The safety supervisor's cabinet rules take an errored reading as no air
(no alarm, let alone fire, from one bad frame) and still judge the honest readings around it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from kiosk.core.airmap import AIR_MAPS
from kiosk.core.safety_config import SafetyConfig
from kiosk.devices.air import AirReading
from kiosk.devices.air.modbus import AirLine, AirSensor
from kiosk.devices.sim.pty import PtyDevice, PtyPort
from kiosk.devices.sim.slots import with_crc
from kiosk.station.safety import CabinetSample, CabinetWatch, Level, cabinet_findings

ADDRESS = 1
Reply = Callable[[int, int, int, int], bytes | None]
"""(slave, function, start, count) of a request → the raw bytes to send back (None: stay silent)."""


def registers(slave: int, function: int, values: list[int]) -> bytes:
    body = bytes([slave, function, 2 * len(values)]) + b"".join(v.to_bytes(2, "big") for v in values)
    return with_crc(body)


def honest(temperature_tenths: int = 253, humidity_tenths: int = 480) -> Reply:
    def reply(slave: int, function: int, start: int, count: int) -> bytes:
        values = {1: temperature_tenths & 0xFFFF, 2: humidity_tenths & 0xFFFF}
        return registers(slave, function, [values.get(start + i, 0) for i in range(count)])

    return reply


class Stranger:
    """Whatever answers requests on the line: each request takes the next planned reply (then honest ones)."""

    def __init__(self, port: PtyPort) -> None:
        self.plan: list[Reply] = []
        self.requests = 0
        self._buffer = b""
        self._lock = threading.Lock()
        self._device = PtyDevice(port, self._on_bytes, name="stranger")
        self._device.start()

    def _on_bytes(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 8:
            frame, self._buffer = self._buffer[:8], self._buffer[8:]
            slave, function = frame[0], frame[1]
            start, count = int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big")
            with self._lock:
                self.requests += 1
                reply = self.plan.pop(0) if self.plan else honest()
            answer = reply(slave, function, start, count)
            if answer:
                self._device.send(answer)

    def close(self) -> None:
        self._device.close()


@pytest.fixture
def stranger(pty_port: PtyPort) -> Iterator[Stranger]:
    device = Stranger(pty_port)
    yield device
    device.close()


@pytest.fixture
def sensor(pty_port: PtyPort, stranger: Stranger) -> Iterator[AirSensor]:
    line = AirLine(pty_port.path, 9600, timeout_s=0.2, retries=0)
    air = AirSensor(line, ADDRESS, AIR_MAPS["xy-md02"], model="xy-md02", line=line)
    yield air
    air.close()


def garbled(slave: int, function: int, start: int, count: int) -> bytes:
    frame = bytearray(honest()(slave, function, start, count) or b"")
    frame[-1] ^= 0xFF
    return bytes(frame)


def exception(code: int) -> Reply:
    return lambda slave, function, start, count: with_crc(bytes([slave, function | 0x80, code]))


def other_address(slave: int, function: int, start: int, count: int) -> bytes:
    return registers(slave + 1, function, [999] * count)


def too_many(slave: int, function: int, start: int, count: int) -> bytes:
    return registers(slave, function, [253] * (count + 3))


def noise(slave: int, function: int, start: int, count: int) -> bytes:
    return bytes(range(256)) * 2


def silent(slave: int, function: int, start: int, count: int) -> None:
    return None


def value(tenths: int) -> Reply:
    return lambda slave, function, start, count: registers(slave, function, [tenths & 0xFFFF] * count)


@pytest.mark.parametrize(
    ("attack", "words"),
    [
        (garbled, "no answer from address 1"),
        (exception(2), "exception 02"),
        (exception(4), "exception 04"),
        (other_address, "no answer from address 1"),  # pymodbus drops a reply from another slave
        (too_many, "asked for 1 register(s) of temperature (FC 04, register 1), got 4"),
        (noise, "no answer from address 1"),
        (silent, "no answer from address 1"),
        (value(0x7FFE), "3276.6, which no cabinet air can be"),  # the most a signed register says, but one
        (value(-32767), "-3276.7, which no cabinet air can be"),
        (value(1251), "125.1, which no cabinet air can be"),
        # 0x7FFF and 0x8000 are what real modules send for a disconnected probe (docs/safety.md): no reading either.
        (value(0x7FFF), "reads 0x7FFF, the sensor's 'no value': is its probe disconnected?"),
        (value(-32768), "reads 0x8000, the sensor's 'no value': is its probe disconnected?"),
    ],
)
def test_one_bad_answer_is_a_warning_and_the_next_honest_one_is_read(
    sensor: AirSensor, stranger: Stranger, attack: Reply, words: str
) -> None:
    stranger.plan = [attack]
    bad = sensor.read()
    assert bad.air_c is None
    assert bad.error is not None
    assert words in bad.error
    assert sensor.get_status()["warnings"] == [f"cabinet air sensor: {bad.error}"]
    again = [sensor.read() for _ in range(3)]  # the line resynchronises within a few polls at most
    assert again[-1] == AirReading(air_c=25.3, humidity_pct=48.0)
    assert sensor.get_status()["warnings"] == []


def test_absurd_humidity_is_a_warning_not_a_reading(sensor: AirSensor, stranger: Stranger) -> None:
    stranger.plan = [honest(), value(0xFFFE)]  # temperature fine, then humidity 6553.4 %
    bad = sensor.read()
    assert bad.humidity_pct is None
    assert bad.error is not None
    assert "6553.4, which no cabinet air can be" in bad.error
    stranger.plan = [honest(), value(0xFFFF)]  # 0xFFFF: the module's "no value" for humidity
    bad = sensor.read()
    assert bad.humidity_pct is None
    assert bad.error is not None
    assert "reads 0xFFFF, the sensor's 'no value'" in bad.error


def test_the_supervisors_rules_take_an_errored_reading_as_no_air() -> None:
    """Through the rules as the safety component feeds them: an errored reading is a sample without air."""
    rules = SafetyConfig()
    watch = CabinetWatch()
    assert cabinet_findings(watch, CabinetSample(at=1.0, air_c=None, humidity_pct=None), [], rules) == {}
    hot = cabinet_findings(watch, CabinetSample(at=1.0, air_c=rules.cabinet_alarm_c + 1, humidity_pct=None), [], rules)
    assert max(hot.values()) == Level.ALARM  # hot air alone is an alarm, never a fire: only smoke or a bay is
