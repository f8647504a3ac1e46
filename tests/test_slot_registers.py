"""The slot controllers' register map and its pure decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.errors import ProtocolError
from kiosk.core.slotmap import SlotMap, TextField
from kiosk.devices.base import BatteryReading
from kiosk.devices.slots.registers import (
    DEFAULT_MAP,
    FAULT_FLAGS,
    RegisterImage,
    decode_faults,
    decode_reading,
    decode_text,
    encode_reading,
    encode_text,
    plan_reads,
)

NAMES = {"present": 0, "soc": 9, "voltage": 10, "current": 11, "temperature": 12}
NAMES |= {"soh": 13, "cycles": 14, "faults": 15, "charger_state": 16}


def block(**values: int) -> list[int]:
    """A default-map block: a present, healthy battery, with some registers overridden by name."""
    regs = dict.fromkeys(range(17), 0)
    regs[0] = 1
    for offset, word in enumerate(encode_text("BAT-000123", 8)):
        regs[1 + offset] = word
    regs.update({9: 873, 10: 5234, 11: 412, 12: 281, 13: 965, 14: 312, 15: 0, 16: 1})
    for name, value in values.items():
        regs[NAMES[name]] = value
    return [regs[a] for a in range(17)]


def image_of(registers: list[int], start: int = 0, function: int = 3) -> RegisterImage:
    """The image of holding registers read from ``start``."""
    return {(function, start + i): word for i, word in enumerate(registers)}


def decode_block(registers: list[int], bay: int, regmap: SlotMap = DEFAULT_MAP) -> BatteryReading:
    return decode_reading(image_of(registers), bay, regmap)


def test_the_default_map_is_read_in_one_request_of_17_holding_registers() -> None:
    [span] = plan_reads(DEFAULT_MAP)
    assert (span.function, span.start, span.count) == (3, 0, 17)


def test_a_full_block_decodes_every_field() -> None:
    reading = decode_block(block(), bay=4)
    assert reading == BatteryReading(
        bay=4,
        present=True,
        battery_id="BAT-000123",
        soc_pct=87.3,
        voltage_v=52.34,
        current_a=4.12,
        temperature_c=28.1,
        soh_pct=96.5,
        cycles=312,
        fault_flags=frozenset(),
        charger_state="charging",
    )


def test_a_negative_current_is_discharge() -> None:
    assert decode_block(block(current=0x10000 - 150), bay=1).current_a == -1.5


def test_a_negative_temperature_decodes_below_zero() -> None:
    assert decode_block(block(temperature=0x10000 - 52), bay=1).temperature_c == -5.2


def test_an_empty_bay_has_no_battery_fields() -> None:
    reading = decode_block(block(present=0, charger_state=0), bay=2)
    assert reading == BatteryReading(bay=2, present=False, charger_state="idle")


@pytest.mark.parametrize(("value", "state"), [(0, "idle"), (1, "charging"), (2, "full"), (3, "fault")])
def test_charger_states_have_names(value: int, state: str) -> None:
    assert decode_block(block(charger_state=value), bay=1).charger_state == state


def test_fault_bits_have_names() -> None:
    assert decode_faults(0b111111) == frozenset(FAULT_FLAGS)
    assert decode_faults(0b1) == {"over_temperature"}
    assert decode_faults(0b100000) == {"bms_comms_lost"}


def test_an_undefined_fault_bit_is_kept_as_unknown() -> None:
    assert decode_faults(1 << 9) == {"unknown_fault_bit_9"}


def test_the_serial_number_is_stripped_of_nuls_and_spaces() -> None:
    words = encode_text("  AB12 ", 8)
    assert decode_text(words) == "AB12"


def test_a_blank_serial_number_is_none() -> None:
    assert decode_text([0x2020] * 4 + [0] * 4) is None


def test_a_serial_number_with_control_bytes_is_a_protocol_error_naming_the_field() -> None:
    registers = block()
    registers[2] = 0x0743
    with pytest.raises(ProtocolError, match=r"battery_id \(FC 03, register 0x0001\): holds non-printable"):
        decode_block(registers, bay=1)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"present": 2}, "present"),
        ({"charger_state": 4}, "charger state"),
        ({"soc": 1001}, "state of charge"),
        ({"soh": 1200}, "state of health"),
    ],
)
def test_impossible_values_are_protocol_errors(override: dict[str, int], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_block(block(**override), bay=1)


def test_a_missing_register_is_a_protocol_error_naming_the_field() -> None:
    with pytest.raises(ProtocolError, match=r"field charger_state \(FC 03, register 0x0010\) was not read"):
        decode_block(block()[:-1], bay=1)


def test_a_value_beyond_16_bits_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="16-bit"):
        decode_block(block(cycles=70000), bay=1)


def test_a_custom_map_moves_the_fields() -> None:
    moved = {name: {"address": address + 20} for name, address in NAMES.items()}
    regmap = DEFAULT_MAP.model_validate({**DEFAULT_MAP.model_dump(), **moved, "battery_id": {"address": 21}})
    [span] = plan_reads(regmap)
    assert (span.start, span.count) == (20, 17)
    values = encode_reading(decode_block(block(), bay=1), regmap)
    assert decode_reading(values, bay=1, regmap=regmap).battery_id == "BAT-000123"


def test_a_map_with_overlapping_registers_is_refused() -> None:
    with pytest.raises(ValueError, match="used by both"):
        SlotMap(battery_id=TextField(address=3))


def test_fields_far_apart_are_read_in_separate_requests() -> None:
    regmap = SlotMap.model_validate({**DEFAULT_MAP.model_dump(), "charger_state": {"address": 300}})
    spans = [(span.start, span.count, span.fields) for span in plan_reads(regmap)]
    assert [span[:2] for span in spans] == [(0, 16), (300, 1)]
    assert spans[1][2] == ("charger_state",)


ANY_BLOCK = st.one_of(
    # Right length, any 16-bit values (the interesting case), and anything at all.
    st.lists(st.integers(min_value=0, max_value=0xFFFF), min_size=17, max_size=17),
    st.lists(st.integers(min_value=-5, max_value=0x10005), min_size=0, max_size=20),
)


@given(ANY_BLOCK)
def test_any_block_decodes_or_is_a_protocol_error(registers: list[int]) -> None:
    try:
        reading = decode_block(registers, bay=1)
    except ProtocolError:
        return
    assert reading.present in (True, False)


@given(
    battery_id=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=16),
    soc=st.integers(0, 1000),
    voltage=st.integers(0, 0xFFFF),
    current=st.integers(-0x8000, 0x7FFF),
    temperature=st.integers(-0x8000, 0x7FFF),
    soh=st.integers(0, 1000),
    cycles=st.integers(0, 0xFFFF),
    faults=st.frozensets(st.sampled_from(FAULT_FLAGS)),
    charger=st.sampled_from(["idle", "charging", "full", "fault"]),
)
def test_encoding_then_decoding_gives_the_reading_back(
    battery_id: str,
    soc: int,
    voltage: int,
    current: int,
    temperature: int,
    soh: int,
    cycles: int,
    faults: frozenset[str],
    charger: str,
) -> None:
    reading = BatteryReading(
        bay=3,
        present=True,
        battery_id=battery_id,
        soc_pct=soc / 10,
        voltage_v=voltage / 100,
        current_a=current / 100,
        temperature_c=temperature / 10,
        soh_pct=soh / 10,
        cycles=cycles,
        fault_flags=faults,
        charger_state=charger,
    )
    assert decode_reading(encode_reading(reading), bay=3) == reading
