"""Slot-controller register maps as data: each field's function code, address, width, sign, scale, word order.

There is no public standard map for swap-cabinet slot controllers, so a map is a table and the station
ships named profiles (:data:`SLOT_MAPS`); ``[hardware.slots]`` names one with ``map`` and may override
single properties of single fields under ``[hardware.slots.fields.<name>]``. The decoding is in
:mod:`kiosk.devices.slots.registers`; this module is config only (core imports nothing of ours).

Profiles:

- ``kiosk`` — the project's own map (HARDWARE.md): holding registers 0-16, 16-bit fields, 9600 baud.
- ``jk-bms`` — a slot controller that passes a JK-BMS-style map through: 115200 baud; the BMS's data in
  holding registers (FC 03) from 0x1200, 32-bit pack voltage (mV) and current (mA, signed) and cycle
  count, 16-bit temperatures (0.1 °C, signed), a 32-bit alarm word, the device id as 16 ASCII bytes
  from 0x1400; the controller's own presence and charger state in input registers (FC 04) from 0.
  Facts from public descriptions of JK's "RS485 Modbus V1.0" document (data domain at 0x1000/0x1200,
  byte offsets halved to register offsets); the offsets differ between firmware versions, so check them
  against the BMS at hand and override fields as needed.
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from kiosk.core.schema import Section

FAULT_FLAGS: tuple[str, ...] = (
    "over_temperature",
    "over_voltage",
    "under_voltage",
    "over_current",
    "short_circuit",
    "bms_comms_lost",
)
"""The station's fault-flag names (the kiosk map's bits 0..5); other set bits read as ``unknown_fault_bit_<n>``."""

MAX_READ_REGISTERS = 125
"""Modbus limit of one read-registers request (FC 03 and FC 04)."""

Address = Annotated[int, Field(ge=0, le=0xFFFF)]
FunctionCode = Literal[3, 4]
"""03 read holding registers, 04 read input registers."""


class RegisterField(Section):
    """One numeric field: where it is read and how its register(s) become a value (``raw * scale``)."""

    function: FunctionCode = 3
    """Modbus function that reads it: 3 (holding registers) or 4 (input registers)."""
    address: Address
    """First register, 0-based as on the wire."""
    width: Literal[16, 32] = 16
    """Bits: 16 (one register) or 32 (a pair of registers)."""
    signed: bool = False
    """Two's complement (ignored for float32)."""
    float32: bool = False
    """The register pair holds an IEEE-754 float (width must be 32)."""
    scale: float = 1.0
    """Value = raw number x scale (e.g. 0.1 for a register counting 0.1 %)."""
    word_order: Literal["big", "little"] = "big"
    """32-bit fields: 'big' = high word first (the Modbus habit), 'little' = low word first."""

    @model_validator(mode="after")
    def _sane(self) -> RegisterField:
        if self.float32 and self.width != 32:
            raise ValueError("a float32 field needs width = 32")
        if not math.isfinite(self.scale) or self.scale == 0:
            raise ValueError(f"scale {self.scale} must be a finite number other than 0")
        if self.address + self.registers() - 1 > 0xFFFF:
            raise ValueError(f"a {self.width}-bit field at {self.address} runs past register 65535")
        return self

    def registers(self) -> int:
        """How many registers the field takes."""
        return self.width // 16


class TextField(Section):
    """A text field (the battery id): ASCII, two characters per register, first character in the high byte."""

    function: FunctionCode = 3
    """Modbus function that reads it: 3 (holding registers) or 4 (input registers)."""
    address: Address
    """First register, 0-based as on the wire."""
    length: Annotated[int, Field(ge=1, le=32)] = 8
    """Registers (two characters each)."""

    def registers(self) -> int:
        """How many registers the field takes."""
        return self.length


class FieldOverride(Section):
    """Properties of one field to change from the profile; the ones left out keep the profile's value."""

    function: FunctionCode | None = None
    """Modbus function: 3 (holding) or 4 (input registers)."""
    address: Address | None = None
    """First register, 0-based."""
    width: Literal[16, 32] | None = None
    """16 or 32 bits (numeric fields)."""
    signed: bool | None = None
    """Two's complement (numeric fields)."""
    float32: bool | None = None
    """IEEE-754 float in a register pair (numeric fields)."""
    scale: float | None = None
    """Value = raw x scale (numeric fields)."""
    word_order: Literal["big", "little"] | None = None
    """32-bit fields: 'big' (high word first) or 'little'."""
    length: Annotated[int, Field(ge=1, le=32)] | None = None
    """Registers of a text field (battery_id)."""


class SlotMap(Section):
    """The register map of one slot-controller model: every field the station reads, and the charger switch."""

    baudrate: Annotated[int, Field(ge=1200, le=115200)] = 9600
    """The bus speed controllers of this model ship with (used unless [hardware.slots] sets baudrate)."""
    present: RegisterField = RegisterField(address=0)
    """Battery present (0/1)."""
    battery_id: TextField = TextField(address=1)
    """The battery's id (ASCII)."""
    soc: RegisterField = RegisterField(address=9, scale=0.1)
    """State of charge, %."""
    voltage: RegisterField = RegisterField(address=10, scale=0.01)
    """Pack voltage, V."""
    current: RegisterField = RegisterField(address=11, signed=True, scale=0.01)
    """Current, A, positive while charging."""
    temperature: RegisterField = RegisterField(address=12, signed=True, scale=0.1)
    """Temperature, °C."""
    soh: RegisterField = RegisterField(address=13, scale=0.1)
    """State of health, %."""
    cycles: RegisterField = RegisterField(address=14)
    """Cycle count."""
    faults: RegisterField = RegisterField(address=15)
    """Fault flag bits (their meaning is fault_bits)."""
    charger_state: RegisterField = RegisterField(address=16)
    """Charger state 0 idle, 1 charging, 2 full, 3 fault."""
    read_gap: Annotated[int, Field(ge=0, le=32)] = 0
    """Unmapped registers one request may read across between two fields (for controllers that serve a
    whole block); 0 reads only adjacent fields in one request."""
    charger_enable: Address = 100
    """Holding register written (FC 06) with 0/1 to switch the bay's charger off/on."""
    fault_bits: dict[Annotated[int, Field(ge=0, le=31)], str] = Field(
        default_factory=lambda: dict(enumerate(FAULT_FLAGS))
    )
    """Bit number of the fault field -> the station's flag name; other set bits read as unknown_fault_bit_<n>."""

    NUMERIC_FIELDS: ClassVar[tuple[str, ...]] = (
        "present",
        "soc",
        "voltage",
        "current",
        "temperature",
        "soh",
        "cycles",
        "faults",
        "charger_state",
    )
    FIELDS: ClassVar[tuple[str, ...]] = ("present", "battery_id", *NUMERIC_FIELDS[1:])
    SLOT_FIELDS: ClassVar[frozenset[str]] = frozenset({"present", "charger_state"})
    """Fields the controller has whether a battery is in the bay or not."""
    WHOLE_FIELDS: ClassVar[frozenset[str]] = frozenset({"present", "faults", "charger_state"})
    """Fields read as whole numbers: no scale, no float."""

    @model_validator(mode="after")
    def _consistent(self) -> SlotMap:
        unknown = sorted(set(self.fault_bits.values()) - set(FAULT_FLAGS))
        if unknown:
            raise ValueError(f"fault_bits names unknown flags {unknown}; known: {', '.join(FAULT_FLAGS)}")
        used: dict[tuple[int, int], str] = {}
        for name in self.FIELDS:
            spec: RegisterField | TextField = getattr(self, name)
            if name in self.WHOLE_FIELDS and isinstance(spec, RegisterField) and (spec.float32 or spec.scale != 1):
                raise ValueError(f"field {name} is a whole number: it takes neither float32 nor a scale")
            for offset in range(spec.registers()):
                key = (spec.function, spec.address + offset)
                if key in used:
                    raise ValueError(f"register {key[1]} (FC {key[0]:02d}) is used by both {used[key]} and {name}")
                used[key] = name
        return self

    def field(self, name: str) -> RegisterField | TextField:
        """The field called ``name`` (one of :attr:`FIELDS`)."""
        if name not in self.FIELDS:
            raise KeyError(f"no field {name!r}; fields: {', '.join(self.FIELDS)}")
        spec: RegisterField | TextField = getattr(self, name)
        return spec

    def with_overrides(self, overrides: dict[str, FieldOverride]) -> SlotMap:
        """This map with some fields' properties replaced; ValueError naming the field if that is impossible."""
        data = self.model_dump()
        for name, override in overrides.items():
            if name not in self.FIELDS:
                raise ValueError(f"[fields.{name}]: no such field; fields: {', '.join(self.FIELDS)}")
            changes = override.model_dump(exclude_none=True)
            allowed = _TEXT_PROPERTIES if name == "battery_id" else set(FieldOverride.model_fields) - {"length"}
            wrong = sorted(set(changes) - allowed)
            if wrong:
                raise ValueError(f"[fields.{name}]: {', '.join(wrong)} does not apply to this field")
            data[name] = {**data[name], **changes}
        return SlotMap.model_validate(data)


_TEXT_PROPERTIES = frozenset({"function", "address", "length"})

# JK-BMS-style pass-through: register = 0x1200 + (byte offset in JK's data domain) / 2.
_JK = 0x1200

SLOT_MAPS: dict[str, SlotMap] = {
    "kiosk": SlotMap(),
    "jk-bms": SlotMap(
        baudrate=115200,
        present=RegisterField(function=4, address=0x0000),
        charger_state=RegisterField(function=4, address=0x0001),
        battery_id=TextField(address=0x1400, length=8),
        voltage=RegisterField(address=_JK + 0x48, width=32, scale=0.001),
        current=RegisterField(address=_JK + 0x4C, width=32, signed=True, scale=0.001),
        temperature=RegisterField(address=_JK + 0x4E, signed=True, scale=0.1),
        faults=RegisterField(address=_JK + 0x50, width=32),
        soc=RegisterField(address=_JK + 0x54),
        cycles=RegisterField(address=_JK + 0x5A, width=32),
        soh=RegisterField(address=_JK + 0x5C),
        charger_enable=0x0000,
        read_gap=8,  # the BMS serves its whole data block, so the fields are read in one request
        # JK's alarm word: which of its bits mean which of the station's flags.
        fault_bits={
            1: "over_temperature",  # MOS over-temperature
            4: "over_voltage",  # cell over-voltage
            5: "over_voltage",  # pack over-voltage
            6: "over_current",  # charge over-current
            7: "short_circuit",  # charge short circuit
            8: "over_temperature",  # charge over-temperature
            10: "bms_comms_lost",  # internal communication error
            11: "under_voltage",  # cell under-voltage
            12: "under_voltage",  # pack under-voltage
            13: "over_current",  # discharge over-current
            14: "short_circuit",  # discharge short circuit
            15: "over_temperature",  # discharge over-temperature
        },
    ),
}
"""The named register-map profiles ``[hardware.slots] map`` chooses from."""

SlotMapName = Literal["kiosk", "jk-bms"]
"""The names of :data:`SLOT_MAPS` (kept in step by a test)."""
