"""Slot-controller register maps as data: each field's function code, address, width, sign, scale, word order.

There is no public standard map for swap-cabinet slot controllers, so a map is a table and the station
ships named profiles (:data:`SLOT_MAPS`); ``[hardware.slots]`` names one with ``map`` and may override
single properties of single fields under ``[hardware.slots.fields.<name>]``. The decoding is in
:mod:`kiosk.devices.slots.registers`; this module is config only (core imports nothing of ours).

Profiles (sources in docs/slot-maps.md):

- ``kiosk`` — the project's own map (HARDWARE.md): holding registers 0-16, 16-bit fields, 9600 baud.
- ``kiosk-capacity`` — the kiosk map for a BMS that reports no state of health, only its learnt
  full-charge capacity (register 13) and its design capacity (17); SoH = full / design.
- ``jk-pb`` — a JK-PB BMS read as it is (115200 baud): FC 03 addresses are JK's, 0x1200 + byte offset,
  byte-addressed (a read from A returns the bytes from A on), big-endian words and high word first;
  SoC and SoH are single bytes; the serial number is 11 characters at 0x1450; the slot controller's
  own presence and charger state in input registers (FC 04) 0 and 1.
- ``jk-bms`` — a slot controller that re-maps the same JK data to ordinary registers (byte offset / 2
  from 0x1200, serial from 0x1428), same FC 04 registers.
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
    width: Literal[8, 16, 32] = 16
    """Bits: 8 (one byte of a register, see ``byte``), 16 (one register) or 32 (a pair of registers)."""
    byte: Literal["high", "low"] = "high"
    """8-bit fields: which byte of the register holds the value (the other belongs to something else)."""
    signed: bool = False
    """Two's complement (ignored for float32)."""
    float32: bool = False
    """The register pair holds an IEEE-754 float (width must be 32)."""
    scale: float = 1.0
    """Value = raw number x scale (e.g. 0.1 for a register counting 0.1 %)."""
    word_order: Literal["big", "little"] = "big"
    """32-bit fields: 'big' = high word first (the Modbus habit), 'little' = low word first."""
    offset: int = 0
    """Value = (raw - offset) x scale: some BMSes send a temperature + 40 or a current + 30000 (Daly)."""
    missing: tuple[Annotated[int, Field(ge=0, le=0xFFFFFFFF)], ...] = ()
    """Raw values that mean "no value" (a disconnected probe answers 0x7FFF or 0x8000): read as no reading."""

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
        return 2 if self.width == 32 else 1


class TextField(Section):
    """A text field (the battery id): ASCII, two characters per register.

    Padding (NUL, space, 0xFF of unwritten flash) at either end is trimmed; anything else that is not
    printable ASCII makes the field unreadable (a bay fault naming it), never a made-up id.
    """

    function: FunctionCode = 3
    """Modbus function that reads it: 3 (holding registers) or 4 (input registers)."""
    address: Address
    """First register, 0-based as on the wire."""
    length: Annotated[int, Field(ge=1, le=32)] = 8
    """Registers (two characters each)."""
    byte_order: Literal["big", "little"] = "big"
    """'big': each register's first character in its high byte (the Modbus habit); 'little': in its low byte
    (controllers that copy a C string into registers on a little-endian chip)."""
    chars: Annotated[int, Field(ge=1, le=64)] | None = None
    """Characters that belong to the field when it does not fill its registers (JK's 11-character serial in
    6 registers: the 12th byte is the next field's); unset: all ``2 x length``."""

    @model_validator(mode="after")
    def _fits(self) -> TextField:
        if self.chars is not None and self.chars > 2 * self.length:
            raise ValueError(f"chars = {self.chars} does not fit {self.length} registers ({2 * self.length} bytes)")
        return self

    def registers(self) -> int:
        """How many registers the field takes."""
        return self.length


class FieldOverride(Section):
    """Properties of one field to change from the profile; the ones left out keep the profile's value."""

    function: FunctionCode | None = None
    """Modbus function: 3 (holding) or 4 (input registers)."""
    address: Address | None = None
    """First register, 0-based."""
    width: Literal[8, 16, 32] | None = None
    """8, 16 or 32 bits (numeric fields)."""
    byte: Literal["high", "low"] | None = None
    """8-bit fields: the register's high or low byte."""
    signed: bool | None = None
    """Two's complement (numeric fields)."""
    float32: bool | None = None
    """IEEE-754 float in a register pair (numeric fields)."""
    scale: float | None = None
    """Value = raw x scale (numeric fields)."""
    word_order: Literal["big", "little"] | None = None
    """32-bit fields: 'big' (high word first) or 'little'."""
    offset: int | None = None
    """Numeric fields: value = (raw - offset) x scale."""
    missing: tuple[Annotated[int, Field(ge=0, le=0xFFFFFFFF)], ...] | None = None
    """Numeric fields: raw values that mean "no value"."""
    length: Annotated[int, Field(ge=1, le=32)] | None = None
    """Registers of a text field (battery_id)."""
    byte_order: Literal["big", "little"] | None = None
    """Text fields: first character in the high ('big') or low byte."""
    chars: Annotated[int, Field(ge=1, le=64)] | None = None
    """Text fields: characters that belong to the field."""


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
    soh: RegisterField | None = RegisterField(address=13, scale=0.1)
    """State of health, %; None for a BMS that reports none (then derived from the two capacities below)."""
    full_capacity: RegisterField | None = None
    """Full-charge capacity the BMS has learnt, Ah (with ``design_capacity``: SoH = full / design)."""
    design_capacity: RegisterField | None = None
    """Rated (design) capacity of the pack, Ah."""
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
    byte_addressed: tuple[FunctionCode, ...] = ()
    """Function codes whose addresses count bytes, not registers (JK-PB BMSes): a read from A returns the
    bytes from A on, so the register after A is A + 2 and a 32-bit field takes A and A + 2."""
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
        "full_capacity",
        "design_capacity",
        "cycles",
        "faults",
        "charger_state",
    )
    FIELDS: ClassVar[tuple[str, ...]] = ("present", "battery_id", *NUMERIC_FIELDS[1:])
    OPTIONAL_FIELDS: ClassVar[frozenset[str]] = frozenset({"soh", "full_capacity", "design_capacity"})
    """Fields a map may leave out (None)."""
    SLOT_FIELDS: ClassVar[frozenset[str]] = frozenset({"present", "charger_state"})
    """Fields the controller has whether a battery is in the bay or not."""
    WHOLE_FIELDS: ClassVar[frozenset[str]] = frozenset({"present", "faults", "charger_state"})
    """Fields read as whole numbers: no scale, no float."""

    @model_validator(mode="after")
    def _consistent(self) -> SlotMap:
        unknown = sorted(set(self.fault_bits.values()) - set(FAULT_FLAGS))
        if unknown:
            raise ValueError(f"fault_bits names unknown flags {unknown}; known: {', '.join(FAULT_FLAGS)}")
        if self.soh is None and (self.full_capacity is None or self.design_capacity is None):
            raise ValueError("a map without soh needs full_capacity and design_capacity to derive it from")
        used: dict[tuple[int, int], str] = {}
        for name in self.mapped():
            spec = self.field(name)
            if name in self.WHOLE_FIELDS and isinstance(spec, RegisterField) and (spec.float32 or spec.scale != 1):
                raise ValueError(f"field {name} is a whole number: it takes neither float32 nor a scale")
            # Units of the address space: registers, or bytes where the function code is byte-addressed.
            step = self.step(spec.function)
            for unit in range(spec.address, spec.address + spec.registers() * step):
                key = (spec.function, unit)
                if key in used:
                    raise ValueError(f"register {key[1]} (FC {key[0]:02d}) is used by both {used[key]} and {name}")
                used[key] = name
        return self

    def step(self, function: int) -> int:
        """Address units per register for ``function``: 2 where it is byte-addressed, else 1."""
        return 2 if function in self.byte_addressed else 1

    def mapped(self) -> tuple[str, ...]:
        """The fields this map has (:attr:`FIELDS` less the optional ones it leaves out)."""
        return tuple(name for name in self.FIELDS if getattr(self, name) is not None)

    def field(self, name: str) -> RegisterField | TextField:
        """The field called ``name`` (one of :meth:`mapped`)."""
        if name not in self.FIELDS:
            raise KeyError(f"no field {name!r}; fields: {', '.join(self.FIELDS)}")
        spec: RegisterField | TextField | None = getattr(self, name)
        if spec is None:
            raise KeyError(f"this map has no field {name!r}")
        return spec

    def with_overrides(self, overrides: dict[str, FieldOverride]) -> SlotMap:
        """This map with some fields' properties replaced; ValueError naming the field if that is impossible."""
        data = self.model_dump()
        for name, override in overrides.items():
            if name not in self.FIELDS:
                raise ValueError(f"[fields.{name}]: no such field; fields: {', '.join(self.FIELDS)}")
            changes = override.model_dump(exclude_none=True)
            allowed = _TEXT_PROPERTIES if name == "battery_id" else set(FieldOverride.model_fields) - _TEXT_ONLY
            wrong = sorted(set(changes) - allowed)
            if wrong:
                raise ValueError(f"[fields.{name}]: {', '.join(wrong)} does not apply to this field")
            if data[name] is None and "address" not in changes:
                raise ValueError(f"[fields.{name}]: this map has no {name}; give its address to add it")
            data[name] = {**(data[name] or {}), **changes}
        return SlotMap.model_validate(data)


_TEXT_PROPERTIES = frozenset({"function", "address", "length", "byte_order", "chars"})
_TEXT_ONLY = frozenset({"length", "byte_order", "chars"})

# JK-BMS-style pass-through: register = 0x1200 + (byte offset in JK's data domain) / 2.
_JK = 0x1200
# JK-PB read as it is: FC 03 addresses are JK's own, 0x1200 + byte offset (data) and 0x1400 + offset (device).
_PB = 0x1200
_PB_INFO = 0x1400

# JK's alarm word: which of its bits mean which of the station's flags.
_JK_ALARM_BITS = {
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
}

SLOT_MAPS: dict[str, SlotMap] = {
    "kiosk": SlotMap(),
    "kiosk-capacity": SlotMap(
        # The kiosk map for packs whose BMS keeps capacities but no SoH (JBD- and Daly-style BMSes):
        # register 13 holds the learnt full-charge capacity instead, 17 the design capacity.
        soh=None,
        full_capacity=RegisterField(address=13, scale=0.01),
        design_capacity=RegisterField(address=17, scale=0.01),
    ),
    "jk-bms": SlotMap(
        baudrate=115200,
        present=RegisterField(function=4, address=0x0000),
        charger_state=RegisterField(function=4, address=0x0001),
        # The serial number (device-information offset 0x50, 11 characters); offset 0 is the model name,
        # the same on every pack of a model, so it cannot be the registry's key.
        battery_id=TextField(address=0x1400 + 0x50 // 2, length=6, chars=11),
        voltage=RegisterField(address=_JK + 0x90 // 2, width=32, scale=0.001),
        current=RegisterField(address=_JK + 0x98 // 2, width=32, signed=True, scale=0.001),
        temperature=RegisterField(address=_JK + 0x9C // 2, signed=True, scale=0.1),
        faults=RegisterField(address=_JK + 0xA0 // 2, width=32),
        soc=RegisterField(address=_JK + 0xA6 // 2, width=8, byte="low"),  # byte 0xA7; 0xA6 is balancing
        cycles=RegisterField(address=_JK + 0xB0 // 2, width=32),
        soh=RegisterField(address=_JK + 0xB8 // 2, width=8, byte="high"),  # byte 0xB8; 0xB9 is precharge
        charger_enable=0x0000,
        read_gap=8,  # the BMS serves its whole data block, so the fields are read in one request
        fault_bits=_JK_ALARM_BITS,
    ),
    "jk-pb": SlotMap(
        baudrate=115200,
        byte_addressed=(3,),
        present=RegisterField(function=4, address=0x0000),
        charger_state=RegisterField(function=4, address=0x0001),
        battery_id=TextField(address=_PB_INFO + 0x50, length=6, chars=11),
        voltage=RegisterField(address=_PB + 0x90, width=32, scale=0.001),
        current=RegisterField(address=_PB + 0x98, width=32, signed=True, scale=0.001),
        temperature=RegisterField(address=_PB + 0x9C, signed=True, scale=0.1),
        faults=RegisterField(address=_PB + 0xA0, width=32),
        soc=RegisterField(address=_PB + 0xA6, width=8, byte="low"),
        cycles=RegisterField(address=_PB + 0xB0, width=32),
        soh=RegisterField(address=_PB + 0xB8, width=8, byte="high"),
        charger_enable=0x0000,
        read_gap=8,  # bytes here: voltage .. soh in one request of 21 registers
        fault_bits=_JK_ALARM_BITS,
    ),
}
"""The named register-map profiles ``[hardware.slots] map`` chooses from."""

SlotMapName = Literal["kiosk", "kiosk-capacity", "jk-bms", "jk-pb"]
"""The names of :data:`SLOT_MAPS` (kept in step by a test)."""
