"""Cabinet temperature/humidity sensors on RS-485 (Modbus RTU): their register maps as data.

Cheap DIN-rail transmitters built on Sensirion SHT20/SHT30/SHT40 chips are what cabinets use. Their
manuals agree on the frame (Modbus RTU, 9600 baud 8N1, slave address 1 by factory default, values in
tenths) but not on where the values sit, so — as for the slot controllers (:mod:`kiosk.core.slotmap`) —
a map is a table, the station ships named profiles (:data:`AIR_MAPS`), and ``[hardware.safety]``
names one with ``cabinet_sensor_model`` and may change single properties of its two fields under
``[hardware.safety.cabinet_sensor_fields.<temperature|humidity>]``.

Profiles (from the vendors' published manuals; check the one that came with the module):

- ``xy-md02`` — the XY-MD02 and its clones: input registers (FC 04), temperature at 0x0001 (signed,
  0.1 °C), humidity at 0x0002 (0.1 %RH). The module also keeps its address and baud rate in holding
  registers 0x0101/0x0102 (the station never writes them).
- ``xy-md02-holding`` — the same map read with FC 03, for firmware versions that answer only that.
- ``th-holding`` — the common "RS485 temperature and humidity transmitter" map: holding registers
  (FC 03), temperature at 0x0000 (signed, 0.1 °C), humidity at 0x0001 (0.1 %RH).
- ``th-holding-rh-first`` — the other common transmitter order: FC 03, humidity at 0x0000, temperature
  at 0x0001 (same scales). Read with the wrong one of the two, 55 %RH shows as 55 °C.

Every profile reads the raw values such modules send for a disconnected or failed probe (0x7FFF and
0x8000 for temperature, 0x7FFF and 0xFFFF for humidity) as "no reading", never as air.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from kiosk.core.schema import Section
from kiosk.core.slotmap import FieldOverride, RegisterField

AirSensorModel = Literal["xy-md02", "xy-md02-holding", "th-holding", "th-holding-rh-first"]
"""The names of :data:`AIR_MAPS` (kept in step by a test)."""


class AirMap(Section):
    """Where one sensor model keeps its readings."""

    baudrate: Annotated[int, Field(ge=1200, le=115200)] = 9600
    """The speed the model ships with (used on a port of its own; on the slot bus it must be the bus's)."""
    temperature: RegisterField
    """Air temperature, °C."""
    humidity: RegisterField | None = None
    """Relative humidity, %; None for a temperature-only model."""

    FIELDS: ClassVar[tuple[str, ...]] = ("temperature", "humidity")

    @model_validator(mode="after")
    def _apart(self) -> AirMap:
        hum = self.humidity
        if hum is not None and hum.function == self.temperature.function:
            first, second = sorted((self.temperature, hum), key=lambda f: f.address)
            if first.address + first.registers() > second.address:
                raise ValueError("temperature and humidity overlap in the same registers")
        return self

    def with_overrides(self, overrides: dict[str, FieldOverride]) -> AirMap:
        """This map with some fields' properties changed; ValueError naming the field if that is impossible."""
        data = self.model_dump()
        for name, override in overrides.items():
            if name not in self.FIELDS:
                raise ValueError(f"[cabinet_sensor_fields.{name}]: no such field; fields: temperature, humidity")
            changes = override.model_dump(exclude_none=True)
            wrong = sorted(set(changes) & {"length", "byte_order", "chars"})
            if wrong:
                raise ValueError(f"[cabinet_sensor_fields.{name}]: {', '.join(wrong)} does not apply to this field")
            if data[name] is None:
                raise ValueError(f"[cabinet_sensor_fields.{name}]: this model reports no {name}")
            data[name] = {**data[name], **changes}
        return AirMap.model_validate(data)


NO_TEMPERATURE = (0x7FFF, 0x8000)
"""Raw temperatures that mean "no probe": the extremes of a signed register (3276.7 / -3276.8 °C)."""
NO_HUMIDITY = (0x7FFF, 0xFFFF)
"""Raw humidities that mean "no probe"."""


def _temperature(function: Literal[3, 4], address: int) -> RegisterField:
    return RegisterField(function=function, address=address, signed=True, scale=0.1, missing=NO_TEMPERATURE)


def _humidity(function: Literal[3, 4], address: int) -> RegisterField:
    return RegisterField(function=function, address=address, scale=0.1, missing=NO_HUMIDITY)


AIR_MAPS: dict[str, AirMap] = {
    "xy-md02": AirMap(temperature=_temperature(4, 0x0001), humidity=_humidity(4, 0x0002)),
    "xy-md02-holding": AirMap(temperature=_temperature(3, 0x0001), humidity=_humidity(3, 0x0002)),
    "th-holding": AirMap(temperature=_temperature(3, 0x0000), humidity=_humidity(3, 0x0001)),
    "th-holding-rh-first": AirMap(temperature=_temperature(3, 0x0001), humidity=_humidity(3, 0x0000)),
}
"""The named sensor maps ``[hardware.safety] cabinet_sensor_model`` chooses from."""
