"""A cabinet temperature/humidity transmitter on RS-485 (Modbus RTU), read with pymodbus.

The sensor either shares the slot controllers' bus (its reads go between two controllers', through
:meth:`~kiosk.devices.slots.modbus.SlotControllers.transact`) or has an adapter of its own
(:class:`AirLine`). Where its values sit is the configured :class:`~kiosk.core.airmap.AirMap`; the
registers are decoded by the slot maps' own number decoding. A sensor that does not answer, refuses a
read, reports a value no air can have, or sends the raw value the map lists as "no value" (a
disconnected probe: 0x7FFF, 0x8000 …) gives an :class:`~kiosk.devices.air.AirReading` with ``error``
set — a warning for staff and no reading, never an exception for the poller and never a temperature.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pymodbus import FramerType, ModbusException
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ConnectionException

from kiosk.core.airmap import AirMap
from kiosk.core.errors import DeviceError, ProtocolError
from kiosk.core.slotmap import RegisterField
from kiosk.devices.air import AirReading
from kiosk.devices.slots.modbus import addressed
from kiosk.devices.slots.registers import decode_number, raw_number

log = logging.getLogger(__name__)
T = TypeVar("T")

AIR_RANGE_C = (-40.0, 125.0)
"""What an SHT-family chip can measure (°C): a value outside is a wrong map or a broken sensor."""
HUMIDITY_RANGE_PCT = (0.0, 100.0)


class Bus(Protocol):
    """An RS-485 line the sensor's requests can be run on, one transaction at a time."""

    def transact(self, work: Callable[[ModbusSerialClient], T]) -> T:
        """Run ``work`` with the line to itself."""
        ...


class AirLine:
    """An RS-485 adapter of the sensor's own (when it does not share the slot controllers' bus)."""

    def __init__(
        self,
        port: str,
        baudrate: int,
        *,
        parity: str = "N",
        stopbits: int = 1,
        timeout_s: float = 0.3,
        retries: int = 1,
    ) -> None:
        self.port = port
        self._mutex = threading.Lock()
        self._closed = False
        self._client = ModbusSerialClient(
            port,
            framer=FramerType.RTU,
            baudrate=baudrate,
            parity=parity,
            stopbits=stopbits,
            timeout=timeout_s,
            retries=retries,
            name="air-sensor",
        )

    def transact(self, work: Callable[[ModbusSerialClient], T]) -> T:
        """Run ``work`` with the line to itself; DeviceError once closed."""
        with self._mutex:
            if self._closed:
                raise DeviceError("the air sensor's line is closed")
            return work(self._client)

    def close(self) -> None:
        """Release the port. Safe twice."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            client: Any = self._client  # close() is untyped in pymodbus
            client.close()


class _Refused(Exception):
    """The sensor answered with a Modbus exception."""


class AirSensor:
    """The cabinet's temperature/humidity sensor at ``address`` on ``bus``; :meth:`read` never raises."""

    def __init__(self, bus: Bus, address: int, amap: AirMap, *, model: str, line: AirLine | None = None) -> None:
        self.bus = bus
        self.address = address
        self.amap = amap
        self.model = model
        self._line = line
        """The line this sensor owns (closed with it); None when it shares the slot controllers' bus."""
        self.last: AirReading | None = None
        self.failures = 0

    def read(self) -> AirReading:
        """Ask the sensor now: its values, or why there are none."""
        try:
            air_c = self._field(self.amap.temperature, "temperature", AIR_RANGE_C)
            humidity = self.amap.humidity
            humidity_pct = None if humidity is None else self._field(humidity, "humidity", HUMIDITY_RANGE_PCT)
            reading = AirReading(air_c=air_c, humidity_pct=humidity_pct)
        except _Refused as exc:
            reading = AirReading(error=str(exc))
        except ConnectionException:
            reading = AirReading(error="cannot open its serial port")
        except ModbusException:
            reading = AirReading(error=f"no answer from address {self.address}")
        except (ProtocolError, DeviceError, OSError) as exc:
            reading = AirReading(error=str(exc))
        self._remember(reading)
        return reading

    def _field(self, spec: RegisterField, name: str, allowed: tuple[float, float]) -> float:
        def ask(client: ModbusSerialClient) -> Any:
            read = client.read_input_registers if spec.function == 4 else client.read_holding_registers
            return read(spec.address, count=spec.registers(), **addressed(self.address))

        response = self.bus.transact(ask)
        where = f"{name} (FC {spec.function:02d}, register {spec.address})"
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            raise _Refused(f"the sensor refused {where}: exception {code:02d} (check cabinet_sensor_model)")
        words = list(response.registers)
        if len(words) != spec.registers():
            raise ProtocolError(f"asked for {spec.registers()} register(s) of {where}, got {len(words)}")
        if spec.missing and raw_number(spec, words) in spec.missing:
            raw = raw_number(spec, words)
            raise ProtocolError(f"{where} reads 0x{raw:04X}, the sensor's 'no value': is its probe disconnected?")
        value = decode_number(spec, words)
        low, high = allowed
        if not low <= value <= high:
            raise ProtocolError(f"{where} reads {value}, which no cabinet air can be (check cabinet_sensor_model)")
        return round(value, 2)

    def _remember(self, reading: AirReading) -> None:
        was = self.last
        self.last = reading
        if reading.error is None:
            if was is not None and was.error is not None:
                log.info("cabinet air sensor answers again")
            self.failures = 0
            return
        self.failures += 1
        if was is None or was.error != reading.error:
            log.warning("cabinet air sensor: %s", reading.error)

    def close(self) -> None:
        """Release its own line, if it has one. Safe twice."""
        if self._line is not None:
            self._line.close()

    def get_status(self) -> dict[str, Any]:
        """JSON-safe: model, address, last reading, warnings."""
        last = self.last
        return {
            "kind": "modbus",
            "model": self.model,
            "address": self.address,
            "port": self._line.port if self._line is not None else "the slot controllers' bus",
            "reading": last.as_dict() if last is not None else None,
            "failures": self.failures,
            "warnings": [f"cabinet air sensor: {last.error}"] if last is not None and last.error else [],
        }
