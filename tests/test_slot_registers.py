"""The slot controllers' register map and its pure decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.errors import ProtocolError
from kiosk.devices.base import BatteryReading
from kiosk.devices.slots.registers import (
    DEFAULT_MAP,
    FAULT_FLAGS,
    RegisterMap,
    block_of,
    decode_block,
    decode_faults,
    decode_serial,
    encode_reading,
    encode_serial,
)


def block(**values: int) -> list[int]:
    """A default-map block: a present, healthy battery, with some registers overridden by name."""
    regs = dict.fromkeys(range(17), 0)
    regs[0] = 1
    for offset, word in enumerate(encode_serial("BAT-000123")):
        regs[1 + offset] = word
    regs.update({9: 873, 10: 5234, 11: 412, 12: 281, 13: 965, 14: 312, 15: 0, 16: 1})
    names = {"present": 0, "soc": 9, "voltage": 10, "current": 11, "temperature": 12}
    names |= {"soh": 13, "cycles": 14, "faults": 15, "charger_state": 16}
    for name, value in values.items():
        regs[names[name]] = value
    return [regs[a] for a in range(17)]


def test_the_default_map_is_read_in_one_span_of_17_registers() -> None:
    assert DEFAULT_MAP.read_span() == (0, 17)


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
    words = encode_serial("  AB12 ")
    assert decode_serial(words) == "AB12"


def test_a_blank_serial_number_is_none() -> None:
    assert decode_serial([0x2020] * 4 + [0] * 4) is None


def test_a_serial_number_with_control_bytes_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="non-printable"):
        decode_serial([0x4142, 0x0743, 0, 0, 0, 0, 0, 0])


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


def test_a_block_of_the_wrong_length_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="expected 17 registers"):
        decode_block(block()[:-1], bay=1)


def test_a_value_beyond_16_bits_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="16-bit"):
        decode_block(block(cycles=70000), bay=1)


def test_a_custom_map_moves_the_fields() -> None:
    regmap = RegisterMap(
        present=20,
        serial=21,
        soc=29,
        voltage=30,
        current=31,
        temperature=32,
        soh=33,
        cycles=34,
        faults=35,
        charger_state=36,
    )
    assert regmap.read_span() == (20, 17)
    values = encode_reading(decode_block(block(), bay=1), regmap)
    assert decode_block(block_of(values, regmap), bay=1, regmap=regmap).battery_id == "BAT-000123"


def test_a_map_with_overlapping_registers_is_refused() -> None:
    with pytest.raises(ValueError, match="used by both"):
        RegisterMap(soc=3)


def test_a_map_too_wide_for_one_read_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 125"):
        RegisterMap(charger_state=300)


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
    assert decode_block(block_of(encode_reading(reading)), bay=3) == reading
