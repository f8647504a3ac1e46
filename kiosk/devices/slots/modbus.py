"""The bays' slot controllers over Modbus RTU (pymodbus's synchronous serial client).

One slave address per bay; the fields of the configured register map (:mod:`kiosk.core.slotmap`) are
read in as few requests as the map allows and decoded by the pure :mod:`kiosk.devices.slots.registers`.
A field the controller refuses (a Modbus exception: wrong function code, unknown address) is a bay
fault that names the field. A controller that does not answer (or answers nonsense) gives a
:class:`~kiosk.devices.base.BatteryReading` with ``error`` set and a faulted bay in :meth:`get_status`;
the next good read clears it. While a controller stays silent, :meth:`SlotControllers.read_all` asks
it again only every ``silent_retry_s`` so one dead controller does not slow the whole bus.

Verified against pymodbus 3.16.1. The keyword naming the slave changed within 3.x (``slave=`` up to
3.9, ``device_id=`` from 3.10); the one this pymodbus takes is found from its signature.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pymodbus import FramerType, ModbusException
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ConnectionException

from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError, ProtocolError
from kiosk.core.hardware import SlotSettings
from kiosk.devices.base import BatteryReading, Closeable
from kiosk.devices.slots.registers import decode_reading, describe, plan_reads

log = logging.getLogger(__name__)
T = TypeVar("T")

_DEVICE_KW = (
    "device_id" if "device_id" in inspect.signature(ModbusSerialClient.read_holding_registers).parameters else "slave"
)


def addressed(slave: int) -> dict[str, Any]:
    """The keyword argument naming the slave, spelled as the installed pymodbus wants it."""
    return {_DEVICE_KW: slave}


_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "slave device failure",
    6: "slave device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
"""Modbus exception codes a controller may answer with, in the spec's words."""


class _Refused(Exception):
    """The controller answered one or more reads with a Modbus exception (the message names the fields)."""


@dataclass
class _BayHealth:
    slave: int
    fault: str | None = None
    failures: int = 0
    next_try: float = 0.0
    last: BatteryReading | None = None


class SlotControllers(Closeable):
    """The slot controllers of a cabinet, one Modbus slave per bay, on one serial port.

    Calls block for at most about ``timeout_s * (retries + 1)`` per bay; run them in a worker thread.
    """

    def __init__(
        self,
        port: str,
        slaves: Mapping[int, int],
        settings: SlotSettings,
        clock: Clock,
        *,
        name: str = "slots",
    ) -> None:
        addresses = list(slaves.values())
        if len(set(addresses)) != len(addresses):
            raise ValueError(f"two bays share a slave address: {dict(slaves)}")
        for bay, slave in slaves.items():
            if not 1 <= slave <= 247:
                raise ValueError(f"bay {bay}: slave address {slave} is outside 1..247")
        self.name = name
        self.port = port
        self.settings = settings
        self._clock = clock
        self._mutex = threading.Lock()
        self._closed = False
        self._bays = {bay: _BayHealth(slave=slave) for bay, slave in sorted(slaves.items())}
        self._map = settings.register_map()
        self._plan = plan_reads(self._map)
        self._client = ModbusSerialClient(
            port,
            framer=FramerType.RTU,
            baudrate=settings.line_speed(),
            parity=settings.parity,
            stopbits=settings.stopbits,
            timeout=settings.timeout_s,
            retries=settings.retries,
            name=name,
        )

    def bays(self) -> list[int]:
        """The bay numbers served."""
        return list(self._bays)

    def _health(self, bay: int) -> _BayHealth:
        health = self._bays.get(bay)
        if health is None:
            raise DeviceError(f"there is no slot controller for bay {bay} (bays: {list(self._bays)})")
        return health

    def read(self, bay: int) -> BatteryReading:
        """Ask the bay's controller now. A failure is reported in ``error``, never raised."""
        health = self._health(bay)
        with self._mutex:
            if self._closed:
                return BatteryReading(bay=bay, present=False, error=f"{self.name} is closed")
            error: str | None = None
            reading: BatteryReading | None = None
            try:
                image = self._read_image(health.slave)
                reading = decode_reading(image, bay, self._map)
            except _Refused as exc:
                error = str(exc)
            except ConnectionException:
                error = f"cannot open {self.port}"
            except ModbusException:
                error = f"no answer from slot controller {health.slave}"
            except ProtocolError as exc:
                error = f"slot controller {health.slave} sent impossible values: {exc}"
            except OSError as exc:
                error = f"{self.port}: {exc}"
            if reading is None:
                reading = BatteryReading(bay=bay, present=False, error=error)
            self._record(bay, health, reading)
            return reading

    def _read_image(self, slave: int) -> dict[tuple[int, int], int]:
        """Every span of the map (an empty bay's battery spans skipped); _Refused names refused fields."""
        image: dict[tuple[int, int], int] = {}
        refused: list[str] = []
        for span in self._plan:
            if not set(span.fields) & self._map.SLOT_FIELDS and not self._present(image):
                continue
            code = self._request(slave, span.function, span.start, span.count, image)
            if code is None:
                continue
            if len(span.fields) == 1:
                refused.append(self._refusal(span.fields[0], code))
                continue
            # One refused request cannot say which field the controller lacks: ask field by field.
            for name in span.fields:
                spec = self._map.field(name)
                code = self._request(slave, spec.function, spec.address, spec.registers(), image)
                if code is not None:
                    refused.append(self._refusal(name, code))
        if refused:
            raise _Refused(f"slot controller {slave} refused " + "; ".join(refused))
        return image

    def _present(self, image: dict[tuple[int, int], int]) -> bool:
        spec = self._map.present
        # Unknown (refused) presence counts as present so the battery's fields are still read and checked.
        return image.get((spec.function, spec.address), 1) != 0

    def _request(
        self, slave: int, function: int, start: int, count: int, image: dict[tuple[int, int], int]
    ) -> int | None:
        """Read ``count`` registers into ``image``; the Modbus exception code if the controller refused."""
        read = self._client.read_holding_registers if function == 3 else self._client.read_input_registers
        response = read(start, count=count, **addressed(slave))
        if response.isError():
            return int(getattr(response, "exception_code", 0))
        words = list(response.registers)
        if len(words) != count:
            raise ProtocolError(f"asked for {count} registers from 0x{start:04X}, got {len(words)}")
        step = self._map.step(function)  # a byte-addressed BMS's next register is two addresses on
        for offset, word in enumerate(words):
            image[(function, start + offset * step)] = word
        return None

    def _refusal(self, name: str, code: int) -> str:
        meaning = _EXCEPTIONS.get(code, "unknown exception")
        return f"field {describe(name, self._map.field(name))}: exception {code:02d} ({meaning})"

    def _record(self, bay: int, health: _BayHealth, reading: BatteryReading) -> None:
        health.last = reading
        if reading.error is None:
            if health.fault is not None:
                log.info("bay %d: slot controller %d answers again", bay, health.slave)
            health.fault = None
            health.failures = 0
            return
        health.failures += 1
        health.next_try = self._clock.monotonic() + self.settings.silent_retry_s
        if health.fault != reading.error:
            log.warning("bay %d: %s", bay, reading.error)
        health.fault = reading.error

    def read_all(self) -> dict[int, BatteryReading]:
        """Every bay; a controller that is silent is asked again only every ``silent_retry_s``. Never raises."""
        out: dict[int, BatteryReading] = {}
        for bay, health in self._bays.items():
            if health.fault is not None and health.last is not None and self._clock.monotonic() < health.next_try:
                out[bay] = health.last
                continue
            try:
                out[bay] = self.read(bay)
            except Exception as exc:  # a bug must not stop the other bays being read
                log.exception("bay %d: reading the slot controller failed", bay)
                out[bay] = BatteryReading(bay=bay, present=False, error=f"internal error: {exc}")
        return out

    def set_charger(self, bay: int, on: bool) -> None:
        """Switch the bay's charger on or off; DeviceError if the controller does not confirm."""
        health = self._health(bay)
        value = 1 if on else 0
        with self._mutex:
            if self._closed:
                raise DeviceError(f"{self.name} is closed")
            try:
                response = self._client.write_register(self._map.charger_enable, value, **addressed(health.slave))
            except ModbusException as exc:
                raise DeviceError(f"bay {bay}: no answer from slot controller {health.slave}") from exc
            except OSError as exc:
                raise DeviceError(f"bay {bay}: {self.port}: {exc}") from exc
            if response.isError():
                raise DeviceError(
                    f"bay {bay}: slot controller {health.slave} refused to switch the charger "
                    f"(exception {response.exception_code})"
                )
        log.info("bay %d: charger %s", bay, "on" if on else "off")

    def transact(self, work: Callable[[ModbusSerialClient], T]) -> T:
        """Run ``work`` with the bus to itself, between two controllers' reads (another device on the same
        RS-485 line, such as the cabinet's temperature sensor, uses this). DeviceError once closed."""
        with self._mutex:
            if self._closed:
                raise DeviceError(f"{self.name} is closed")
            return work(self._client)

    def close(self) -> None:
        """Release the port. Safe twice."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            client: Any = self._client  # close() is untyped in pymodbus
            client.close()

    def get_status(self) -> dict[str, Any]:
        """Fresh JSON-safe status: per-bay controller health and last reading, warnings for faulted bays."""
        with self._mutex:
            bays = [
                {
                    "bay": bay,
                    "slave": h.slave,
                    "ok": h.fault is None and h.last is not None,
                    "fault": h.fault,
                    "failures": h.failures,
                    "reading": h.last.as_dict() if h.last is not None else None,
                }
                for bay, h in self._bays.items()
            ]
            return {
                "name": self.name,
                "kind": "modbus",
                "port": self.port,
                "connected": not self._closed and bool(self._client.connected),
                "bays": bays,
                "warnings": [f"bay {b['bay']}: {b['fault']}" for b in bays if b["fault"]],
            }
