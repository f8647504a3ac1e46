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
    for name in regmap.mapped():
        spec = regmap.field(name)
        by_function.setdefault(spec.function, []).append((spec.address, spec.registers(), name))
    spans: list[ReadSpan] = []
    for function, fields in sorted(by_function.items()):
        step = regmap.step(function)  # address units per register (2 where addresses count bytes)
        fields.sort()
        start, end, names = fields[0][0], fields[0][0] + fields[0][1] * step, [fields[0][2]]
        for address, count, name in fields[1:]:
            fits = address + count * step - start <= MAX_READ_REGISTERS * step
            if end <= address <= end + regmap.read_gap and (address - start) % step == 0 and fits:
                end = address + count * step
                names.append(name)
                continue
            spans.append(ReadSpan(function, start, (end - start) // step, tuple(names)))
            start, end, names = address, address + count * step, [name]
        spans.append(ReadSpan(function, start, (end - start) // step, tuple(names)))
    spans.sort(key=lambda span: not (set(span.fields) & regmap.SLOT_FIELDS))
    return spans


def _words(image: RegisterImage, name: str, spec: RegisterField | TextField, step: int = 1) -> list[int]:
    words = []
    for offset in range(spec.registers()):
        value = image.get((spec.function, spec.address + offset * step))
        if value is None:
            raise ProtocolError(f"field {describe(name, spec)} was not read")
        if not isinstance(value, int) or not 0 <= value <= _U16:
            raise ProtocolError(f"field {describe(name, spec)} holds {value!r}, not a 16-bit value")
        words.append(value)
    return words


def raw_number(spec: RegisterField, words: Sequence[int]) -> int:
    """The field's raw number before sign, offset and scale (its byte, register, or register pair)."""
    if spec.width == 8:
        return words[0] >> 8 if spec.byte == "high" else words[0] & 0xFF
    if spec.width == 32:
        high, low = (words[0], words[1]) if spec.word_order == "big" else (words[1], words[0])
        return (high << 16) | low
    return words[0]


def decode_number(spec: RegisterField, words: Sequence[int]) -> float:
    """The value of a numeric field from its register(s): word order, sign or float32, offset, then the scale."""
    if spec.width == 8:
        raw, bits = raw_number(spec, words), 8
    elif spec.width == 32:
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
    return round((raw - spec.offset) * spec.scale, 9)


def encode_number(spec: RegisterField, value: float) -> list[int]:
    """The register(s) holding ``value`` in a numeric field (inverse of :func:`decode_number`).

    ValueError if the value does not fit the field.
    """
    if spec.float32:
        raw = int.from_bytes(struct.pack(">f", value / spec.scale), "big")
    else:
        number = round(value / spec.scale) + spec.offset
        bits = spec.width
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if spec.signed else (0, (1 << bits) - 1)
        if not low <= number <= high:
            raise ValueError(f"{value} does not fit a {'signed' if spec.signed else 'unsigned'} {bits}-bit field")
        raw = number & ((1 << bits) - 1)
    if spec.width == 8:
        return [raw << 8 if spec.byte == "high" else raw]
    if spec.width == 16:
        return [raw]
    high_word, low_word = raw >> 16, raw & _U16
    return [high_word, low_word] if spec.word_order == "big" else [low_word, high_word]


TEXT_PADDING = b"\x00 \xff"
"""What pads a text field at either end: NUL, space, and 0xFF (flash never written)."""


def decode_text(words: Sequence[int], spec: TextField | None = None) -> str | None:
    """A text field from its registers, in the field's byte order and character count; the padding at either
    end stripped; None if nothing is left. ProtocolError if what is left is not printable ASCII."""
    order = "big" if spec is None else spec.byte_order
    raw = b"".join(word.to_bytes(2, order) for word in words)
    if spec is not None and spec.chars is not None:
        raw = raw[: spec.chars]
    text = raw.strip(TEXT_PADDING)
    if not text:
        return None
    if any(not 0x20 <= byte <= 0x7E for byte in text):
        raise ProtocolError(f"holds non-printable bytes: {raw.hex(' ')}")
    return text.decode("ascii")


def encode_text(text: str | None, length: int, spec: TextField | None = None, *, pad: bytes = b"\x00") -> list[int]:
    """The ``length`` registers of a text field (ASCII, padded with ``pad``); ValueError if it is too long.

    With a ``spec``: its byte order, and only its ``chars`` characters (the bytes after them read 0x20)."""
    raw = (text or "").encode("ascii")
    room = 2 * length if spec is None or spec.chars is None else spec.chars
    if len(raw) > room:
        raise ValueError(f"{text!r} is longer than {room} characters")
    # Past the field's characters sits another field's byte: a printable one, to show it is never read as text.
    raw = raw.ljust(room, pad).ljust(2 * length, b"0")
    order = "big" if spec is None else spec.byte_order
    return [int.from_bytes(raw[i : i + 2], order) for i in range(0, len(raw), 2)]


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

    def words(self, name: str, spec: RegisterField | TextField) -> list[int]:
        return _words(self.image, name, spec, self.regmap.step(spec.function))

    def number(self, name: str) -> float:
        spec = self.regmap.field(name)
        assert isinstance(spec, RegisterField)
        try:
            words = self.words(name, spec)
            if spec.missing and raw_number(spec, words) in spec.missing:
                raise ProtocolError(f"reports no value (0x{raw_number(spec, words):X}): its sensor is missing")
            return decode_number(spec, words)
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

    def soh(self) -> float:
        """The state of health: the map's register, or 100 x full-charge / design capacity (at most 100 %)."""
        if self.regmap.soh is not None:
            return self.percent("soh", "state of health")
        full, design = self.number("full_capacity"), self.number("design_capacity")
        if design <= 0 or full < 0:
            field = describe(
                "design_capacity" if design <= 0 else "full_capacity", self.regmap.field("design_capacity")
            )
            raise ProtocolError(f"field {field}: capacities {full:g} / {design:g} Ah give no state of health")
        # A new pack may learn a little more than its rating; its health is then whole, not above.
        return min(100.0, round(100 * full / design, 1))

    def text(self, name: str) -> str | None:
        spec = self.regmap.field(name)
        try:
            assert isinstance(spec, TextField)
            return decode_text(self.words(name, spec), spec)
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
    step = regmap.step(faults_spec.function)
    faults_read = all(
        (faults_spec.function, faults_spec.address + i * step) in image for i in range(faults_spec.registers())
    )
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
        soh_pct=fields.soh(),
        cycles=int(cycles),
        fault_flags=faults,
        charger_state=charger,
    )


def encode_reading(
    reading: BatteryReading,
    regmap: SlotMap = DEFAULT_MAP,
    *,
    design_capacity_ah: float = 20.0,
    id_padding: bytes = b"\x00",
) -> dict[tuple[int, int], int]:
    """The register image a controller holds for a reading (inverse of :func:`decode_reading`).

    A map without SoH gets the capacities that give it (``design_capacity_ah`` and that x SoH); the id is
    padded with ``id_padding``. ValueError, naming the field, if a value does not fit it.
    """
    present = reading.present
    soh = (reading.soh_pct or 0.0) if present else 0.0
    values: dict[str, float] = {
        "present": int(present),
        "charger_state": CHARGER_STATES.index(reading.charger_state or "idle"),
        "faults": encode_faults(reading.fault_flags, regmap),
        "soc": (reading.soc_pct or 0.0) if present else 0.0,
        "voltage": (reading.voltage_v or 0.0) if present else 0.0,
        "current": (reading.current_a or 0.0) if present else 0.0,
        "temperature": (reading.temperature_c or 0.0) if present else 0.0,
        "soh": soh,
        "full_capacity": design_capacity_ah * soh / 100 if present else 0.0,
        "design_capacity": design_capacity_ah if present else 0.0,
        "cycles": (reading.cycles or 0) if present else 0,
    }
    image: dict[tuple[int, int], int] = {}
    for name, value in values.items():
        if name not in regmap.mapped():
            continue
        spec = regmap.field(name)
        assert isinstance(spec, RegisterField)
        try:
            words = encode_number(spec, value)
        except ValueError as exc:
            raise ValueError(f"field {name}: {exc}") from exc
        step = regmap.step(spec.function)
        for offset, word in enumerate(words):
            image[(spec.function, spec.address + offset * step)] = word
    text_spec = regmap.field("battery_id")
    assert isinstance(text_spec, TextField)
    try:
        words = encode_text(reading.battery_id if present else None, text_spec.registers(), text_spec, pad=id_padding)
    except ValueError as exc:
        raise ValueError(f"field battery_id: {exc}") from exc
    step = regmap.step(text_spec.function)
    for offset, word in enumerate(words):
        image[(text_spec.function, text_spec.address + offset * step)] = word
    return image
