"""Decoding a slot controller's registers with a :class:`~kiosk.core.slotmap.SlotMap` — pure, no I/O.

A map says, per field, which function code reads it, where, and how its register(s) become a value
(16/32 bits, signed, float32, word order, scale). :func:`plan_reads` groups the fields into as few
requests as possible; the driver fills a :data:`RegisterImage` from the replies and :func:`decode_reading`
turns it into a :class:`~kiosk.devices.base.BatteryReading`. :func:`encode_reading` is the inverse, used
by the simulator and the tests. Every error names the field it is about.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kiosk.core.errors import ProtocolError
from kiosk.core.slotmap import FAULT_FLAGS, MAX_READ_REGISTERS, SLOT_MAPS, RegisterField, SlotMap, TextField
from kiosk.devices.base import BatteryReading

__all__ = [
    "CHARGER_STATES",
    "DEFAULT_MAP",
    "FAULT_FLAGS",
    "ReadSpan",
    "RegisterImage",
    "decode_reading",
    "encode_reading",
    "plan_reads",
]

CHARGER_STATES: tuple[str, ...] = ("idle", "charging", "full", "fault")
"""Charger state register values 0..3."""

DEFAULT_MAP: SlotMap = SLOT_MAPS["kiosk"]
"""The project's own map (HARDWARE.md)."""

RegisterImage = Mapping[tuple[int, int], int]
"""(function code, address) -> 16-bit register value, as read from (or held by) a controller."""

_U16 = 0xFFFF


@dataclass(frozen=True)
class ReadSpan:
    """One read request: ``count`` registers from ``start`` with ``function``, covering ``fields``."""

    function: int
    start: int
    count: int
    fields: tuple[str, ...]


def describe(name: str, spec: RegisterField | TextField) -> str:
    """A field as a technician reads it: ``soc (FC 03, register 0x1254)``."""
    return f"{name} (FC {spec.function:02d}, register 0x{spec.address:04X})"


def plan_reads(regmap: SlotMap) -> list[ReadSpan]:
    """The requests that read every field: adjacent fields of one function code share a request.

    Gaps wider than the map's ``read_gap`` are not read across (a controller may refuse an unmapped
    register: the kiosk map's gap is 0); spans holding a
    field the controller has without a battery (presence, charger state) come first, so the driver can
    skip the battery's spans when the bay is empty.
    """
    by_function: dict[int, list[tuple[int, int, str]]] = {}
    for name in regmap.FIELDS:
        spec = regmap.field(name)
        by_function.setdefault(spec.function, []).append((spec.address, spec.registers(), name))
    spans: list[ReadSpan] = []
    for function, fields in sorted(by_function.items()):
        fields.sort()
        start, end, names = fields[0][0], fields[0][0] + fields[0][1], [fields[0][2]]
        for address, count, name in fields[1:]:
            if end <= address <= end + regmap.read_gap and address + count - start <= MAX_READ_REGISTERS:
                end = address + count
                names.append(name)
                continue
            spans.append(ReadSpan(function, start, end - start, tuple(names)))
            start, end, names = address, address + count, [name]
        spans.append(ReadSpan(function, start, end - start, tuple(names)))
    spans.sort(key=lambda span: not (set(span.fields) & regmap.SLOT_FIELDS))
    return spans


def _words(image: RegisterImage, name: str, spec: RegisterField | TextField) -> list[int]:
    words = []
    for offset in range(spec.registers()):
        value = image.get((spec.function, spec.address + offset))
        if value is None:
            raise ProtocolError(f"field {describe(name, spec)} was not read")
        if not isinstance(value, int) or not 0 <= value <= _U16:
            raise ProtocolError(f"field {describe(name, spec)} holds {value!r}, not a 16-bit value")
        words.append(value)
    return words


def decode_number(spec: RegisterField, words: Sequence[int]) -> float:
    """The value of a numeric field from its register(s): word order, sign or float32, then the scale."""
    if spec.width == 32:
        high, low = (words[0], words[1]) if spec.word_order == "big" else (words[1], words[0])
        raw = (high << 16) | low
        if spec.float32:
            number: float = struct.unpack(">f", raw.to_bytes(4, "big"))[0]
            if not math.isfinite(number):
                raise ProtocolError(f"float32 register pair holds {number}")
            # A float32 carries about 7 significant digits; more would be the binary noise of the format.
            return float(f"{number * spec.scale:.7g}")
        bits = 32
    else:
        raw, bits = words[0], 16
    if spec.signed and raw >> (bits - 1):
        raw -= 1 << bits
    # Rounding drops the binary noise of a decimal scale (873 * 0.1 = 87.30000000000001).
    return round(raw * spec.scale, 9)


def encode_number(spec: RegisterField, value: float) -> list[int]:
    """The register(s) holding ``value`` in a numeric field (inverse of :func:`decode_number`).

    ValueError if the value does not fit the field.
    """
    if spec.float32:
        raw = int.from_bytes(struct.pack(">f", value / spec.scale), "big")
    else:
        number = round(value / spec.scale)
        bits = spec.width
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if spec.signed else (0, (1 << bits) - 1)
        if not low <= number <= high:
            raise ValueError(f"{value} does not fit a {'signed' if spec.signed else 'unsigned'} {bits}-bit field")
        raw = number & ((1 << bits) - 1)
    if spec.width == 16:
        return [raw]
    high_word, low_word = raw >> 16, raw & _U16
    return [high_word, low_word] if spec.word_order == "big" else [low_word, high_word]


def decode_text(words: Sequence[int]) -> str | None:
    """A text field from its registers; NULs and spaces at either end stripped; None if empty."""
    raw = b"".join(word.to_bytes(2, "big") for word in words)
    text = raw.strip(b"\x00 ")
    if not text:
        return None
    if any(not 0x20 <= byte <= 0x7E for byte in text):
        raise ProtocolError(f"holds non-printable bytes: {raw.hex(' ')}")
    return text.decode("ascii")


def encode_text(text: str | None, length: int) -> list[int]:
    """The ``length`` registers of a text field (ASCII, NUL-padded); ValueError if it is too long."""
    raw = (text or "").encode("ascii")
    if len(raw) > 2 * length:
        raise ValueError(f"{text!r} is longer than {2 * length} characters")
    raw = raw.ljust(2 * length, b"\x00")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def decode_faults(value: int, regmap: SlotMap = DEFAULT_MAP) -> frozenset[str]:
    """Fault flag names of a fault field value (bits the map does not name are kept as unknown_fault_bit_<n>)."""
    names = set()
    for bit in range(32):
        if value & (1 << bit):
            names.add(regmap.fault_bits.get(bit, f"unknown_fault_bit_{bit}"))
    return frozenset(names)


def encode_faults(flags: frozenset[str], regmap: SlotMap = DEFAULT_MAP) -> int:
    """The fault field value of a set of flag names (each as the lowest bit the map gives it)."""
    value = 0
    for flag in flags:
        bits = sorted(bit for bit, name in regmap.fault_bits.items() if name == flag)
        if bits:
            value |= 1 << bits[0]
        elif flag.startswith("unknown_fault_bit_"):
            value |= 1 << int(flag.removeprefix("unknown_fault_bit_"))
        else:
            raise ValueError(f"fault flag {flag!r} has no bit in this map")
    return value


class _Decoder:
    """Reads fields out of an image, turning every failure into a ProtocolError that names the field."""

    def __init__(self, image: RegisterImage, regmap: SlotMap) -> None:
        self.image = image
        self.regmap = regmap

    def number(self, name: str) -> float:
        spec = self.regmap.field(name)
        assert isinstance(spec, RegisterField)
        try:
            return decode_number(spec, _words(self.image, name, spec))
        except ProtocolError as exc:
            if str(exc).startswith("field "):
                raise
            raise ProtocolError(f"field {describe(name, spec)}: {exc}") from exc

    def whole(self, name: str, allowed: range | None = None, what: str = "") -> int:
        value = int(self.number(name))
        if allowed is not None and value not in allowed:
            spec = self.regmap.field(name)
            raise ProtocolError(
                f"field {describe(name, spec)}: {what} {value} is not one of {allowed.start}..{allowed.stop - 1}"
            )
        return value

    def percent(self, name: str, what: str) -> float:
        value = self.number(name)
        if not 0 <= value <= 100:
            field = describe(name, self.regmap.field(name))
            raise ProtocolError(f"field {field}: {what} {value:g} % is outside 0-100 %")
        return value

    def text(self, name: str) -> str | None:
        spec = self.regmap.field(name)
        try:
            return decode_text(_words(self.image, name, spec))
        except ProtocolError as exc:
            if str(exc).startswith("field "):
                raise
            raise ProtocolError(f"field {describe(name, spec)}: {exc}") from exc


def decode_reading(image: RegisterImage, bay: int, regmap: SlotMap = DEFAULT_MAP) -> BatteryReading:
    """A reading from the registers of every field (only presence and charger state when the bay is empty).

    ProtocolError, naming the field, when a register is missing or a value is impossible.
    """
    fields = _Decoder(image, regmap)
    present = fields.whole("present", range(2), "battery-present value")
    charger = CHARGER_STATES[fields.whole("charger_state", range(len(CHARGER_STATES)), "charger state")]
    faults_spec = regmap.field("faults")
    faults_read = all((faults_spec.function, faults_spec.address + i) in image for i in range(faults_spec.registers()))
    faults = decode_faults(fields.whole("faults"), regmap) if present or faults_read else frozenset()
    if not present:
        return BatteryReading(bay=bay, present=False, fault_flags=faults, charger_state=charger)
    cycles = fields.number("cycles")
    if cycles < 0 or cycles != int(cycles):
        raise ProtocolError(f"field {describe('cycles', regmap.field('cycles'))}: cycle count {cycles} is not a count")
    return BatteryReading(
        bay=bay,
        present=True,
        battery_id=fields.text("battery_id"),
        soc_pct=fields.percent("soc", "state of charge"),
        voltage_v=fields.number("voltage"),
        current_a=fields.number("current"),
        temperature_c=fields.number("temperature"),
        soh_pct=fields.percent("soh", "state of health"),
        cycles=int(cycles),
        fault_flags=faults,
        charger_state=charger,
    )


def encode_reading(reading: BatteryReading, regmap: SlotMap = DEFAULT_MAP) -> dict[tuple[int, int], int]:
    """The register image a controller holds for a reading (inverse of :func:`decode_reading`).

    ValueError, naming the field, if a value does not fit it.
    """
    present = reading.present
    values: dict[str, float] = {
        "present": int(present),
        "charger_state": CHARGER_STATES.index(reading.charger_state or "idle"),
        "faults": encode_faults(reading.fault_flags, regmap),
        "soc": (reading.soc_pct or 0.0) if present else 0.0,
        "voltage": (reading.voltage_v or 0.0) if present else 0.0,
        "current": (reading.current_a or 0.0) if present else 0.0,
        "temperature": (reading.temperature_c or 0.0) if present else 0.0,
        "soh": (reading.soh_pct or 0.0) if present else 0.0,
        "cycles": (reading.cycles or 0) if present else 0,
    }
    image: dict[tuple[int, int], int] = {}
    for name, value in values.items():
        spec = regmap.field(name)
        assert isinstance(spec, RegisterField)
        try:
            words = encode_number(spec, value)
        except ValueError as exc:
            raise ValueError(f"field {name}: {exc}") from exc
        for offset, word in enumerate(words):
            image[(spec.function, spec.address + offset)] = word
    text_spec = regmap.field("battery_id")
    try:
        words = encode_text(reading.battery_id if present else None, text_spec.registers())
    except ValueError as exc:
        raise ValueError(f"field battery_id: {exc}") from exc
    for offset, word in enumerate(words):
        image[(text_spec.function, text_spec.address + offset)] = word
    return image
