"""The slot controllers' holding-register map and its decoding — pure, no I/O.

There is no public standard map for swap-cabinet slot controllers, so the map is configuration; the
default is the one in HARDWARE.md, which the simulator implements. All battery registers are read in
one request (:meth:`RegisterMap.read_span`) and decoded by :func:`decode_block`; :func:`encode_reading`
is the inverse, used by the simulator and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kiosk.core.errors import ProtocolError
from kiosk.core.hardware import SERIAL_REGISTERS, RegisterMap
from kiosk.devices.base import BatteryReading

FAULT_FLAGS: tuple[str, ...] = (
    "over_temperature",
    "over_voltage",
    "under_voltage",
    "over_current",
    "short_circuit",
    "bms_comms_lost",
)
"""Names of fault-flag bits 0..5; other set bits read as ``unknown_fault_bit_<n>``."""

CHARGER_STATES: tuple[str, ...] = ("idle", "charging", "full", "fault")
"""Charger state register values 0..3."""


_U16 = 0xFFFF


DEFAULT_MAP = RegisterMap()


def _signed(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


def decode_serial(words: Sequence[int]) -> str | None:
    """The battery id from its registers; NULs and spaces at either end stripped; None if empty."""
    raw = b"".join(word.to_bytes(2, "big") for word in words)
    text = raw.strip(b"\x00 ")
    if not text:
        return None
    if any(not 0x20 <= byte <= 0x7E for byte in text):
        raise ProtocolError(f"battery id holds non-printable bytes: {raw.hex(' ')}")
    return text.decode("ascii")


def decode_faults(value: int) -> frozenset[str]:
    """Fault flag names of a fault register value (undefined bits are kept as unknown_fault_bit_<n>)."""
    names = set()
    for bit in range(16):
        if value & (1 << bit):
            names.add(FAULT_FLAGS[bit] if bit < len(FAULT_FLAGS) else f"unknown_fault_bit_{bit}")
    return frozenset(names)


def decode_block(registers: Sequence[int], bay: int, regmap: RegisterMap = DEFAULT_MAP) -> BatteryReading:
    """Decode the registers of :meth:`RegisterMap.read_span` into a reading; ProtocolError if impossible."""
    start, count = regmap.read_span()
    if len(registers) != count:
        raise ProtocolError(f"expected {count} registers from {start}, got {len(registers)}")
    for index, value in enumerate(registers):
        if not isinstance(value, int) or not 0 <= value <= _U16:
            raise ProtocolError(f"register {start + index} holds {value!r}, not a 16-bit value")

    def reg(address: int) -> int:
        return registers[address - start]

    present = reg(regmap.present)
    if present not in (0, 1):
        raise ProtocolError(f"battery-present register holds {present}, expected 0 or 1")
    charger = reg(regmap.charger_state)
    if charger >= len(CHARGER_STATES):
        raise ProtocolError(f"charger state {charger} is not one of 0..{len(CHARGER_STATES) - 1}")
    faults = decode_faults(reg(regmap.faults))
    if not present:
        return BatteryReading(bay=bay, present=False, fault_flags=faults, charger_state=CHARGER_STATES[charger])
    soc, soh = reg(regmap.soc), reg(regmap.soh)
    for name, value in (("state of charge", soc), ("state of health", soh)):
        if value > 1000:
            raise ProtocolError(f"{name} {value / 10:g} % is above 100 %")
    serial_start = regmap.serial - start
    return BatteryReading(
        bay=bay,
        present=True,
        battery_id=decode_serial(registers[serial_start : serial_start + SERIAL_REGISTERS]),
        soc_pct=soc / 10,
        voltage_v=reg(regmap.voltage) / 100,
        current_a=_signed(reg(regmap.current)) / 100,
        temperature_c=_signed(reg(regmap.temperature)) / 10,
        soh_pct=soh / 10,
        cycles=reg(regmap.cycles),
        fault_flags=faults,
        charger_state=CHARGER_STATES[charger],
    )


def _scaled(name: str, value: float | None, scale: float, *, signed: bool = False) -> int:
    number = round((value or 0.0) * scale)
    low, high = (-0x8000, 0x7FFF) if signed else (0, _U16)
    if not low <= number <= high:
        raise ValueError(f"{name} {value} does not fit its register")
    return number & _U16


def encode_faults(flags: frozenset[str]) -> int:
    """The fault register value of a set of flag names (inverse of :func:`decode_faults`)."""
    value = 0
    for flag in flags:
        if flag in FAULT_FLAGS:
            value |= 1 << FAULT_FLAGS.index(flag)
        elif flag.startswith("unknown_fault_bit_"):
            value |= 1 << int(flag.removeprefix("unknown_fault_bit_"))
        else:
            raise ValueError(f"unknown fault flag {flag!r}")
    return value


def encode_serial(battery_id: str | None) -> list[int]:
    """The 8 registers of a battery id (ASCII, at most 16 characters, NUL-padded)."""
    raw = (battery_id or "").encode("ascii")
    if len(raw) > 2 * SERIAL_REGISTERS:
        raise ValueError(f"battery id {battery_id!r} is longer than {2 * SERIAL_REGISTERS} characters")
    raw = raw.ljust(2 * SERIAL_REGISTERS, b"\x00")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def encode_reading(reading: BatteryReading, regmap: RegisterMap = DEFAULT_MAP) -> Mapping[int, int]:
    """Register address → value for a reading (what a controller would hold); ValueError if it cannot."""
    charger = CHARGER_STATES.index(reading.charger_state or "idle")
    out: dict[int, int] = {
        regmap.present: int(reading.present),
        regmap.faults: encode_faults(reading.fault_flags),
        regmap.charger_state: charger,
    }
    present = reading.present
    for offset, word in enumerate(encode_serial(reading.battery_id if present else None)):
        out[regmap.serial + offset] = word
    out[regmap.soc] = _scaled("soc_pct", reading.soc_pct if present else None, 10)
    out[regmap.voltage] = _scaled("voltage_v", reading.voltage_v if present else None, 100)
    out[regmap.current] = _scaled("current_a", reading.current_a if present else None, 100, signed=True)
    out[regmap.temperature] = _scaled("temperature_c", reading.temperature_c if present else None, 10, signed=True)
    out[regmap.soh] = _scaled("soh_pct", reading.soh_pct if present else None, 10)
    out[regmap.cycles] = _scaled("cycles", reading.cycles if present else None, 1)
    return out


def block_of(values: Mapping[int, int], regmap: RegisterMap = DEFAULT_MAP) -> list[int]:
    """The read span of a register dictionary, unset registers as 0."""
    start, count = regmap.read_span()
    return [values.get(address, 0) for address in range(start, start + count)]
