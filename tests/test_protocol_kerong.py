"""Kerong KR-CU16/CU12 frames: the bytes in HARDWARE.md, decoding, splitting, and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.errors import ProtocolError
from kiosk.devices.protocols import StreamBuffer
from kiosk.devices.protocols import kerong as k

boards = st.integers(min_value=0, max_value=15)
locks = st.integers(min_value=0, max_value=15)
bits16 = st.integers(min_value=0, max_value=0xFFFF)


def test_status_request_of_board_0_is_the_documented_bytes() -> None:
    assert k.status_request(0) == bytes.fromhex("02 00 30 03 35")


def test_unlock_board_0_lock_0_is_the_documented_bytes() -> None:
    assert k.unlock_request(0, 0) == bytes.fromhex("02 00 31 03 36")


def test_address_puts_board_in_high_nibble_and_lock_in_low_nibble() -> None:
    assert k.unlock_request(2, 5)[1] == 0x25


def test_checksum_is_low_byte_of_the_sum() -> None:
    assert k.checksum(bytes([0xFF, 0xFF, 0x03])) == 0x01


def test_status_all_and_unlock_all_use_commands_32_and_33() -> None:
    assert k.status_all_request() == bytes.fromhex("02 00 32 03 37")
    assert k.unlock_all_request(1)[:3] == bytes.fromhex("02 10 33")


def test_pulse_time_is_sent_in_10_ms_units() -> None:
    frame = k.pulse_time_request(0, 500)
    assert frame[2] == 0x37
    assert frame[3] == 50


def test_pulse_time_has_a_6_byte_and_a_7_byte_form() -> None:
    assert k.pulse_time_request(0, 500, "short") == bytes.fromhex("02 00 37 32 03 6e")
    assert k.pulse_time_request(0, 500, "long") == bytes.fromhex("02 00 37 00 32 03 6e")


@pytest.mark.parametrize("form", ["short", "long"])
def test_both_pulse_time_forms_split_decode_and_say_their_form(form: k.PulseForm) -> None:
    raw = k.pulse_time_reply(3, 1000, form)
    (frame,) = k.split_frames(raw + k.status_request(1)).frames[:1]
    decoded = k.decode_frame(frame)
    assert (k.pulse_form_of(decoded), k.pulse_ms_of(decoded), decoded.board) == (form, 1000, 3)


def test_status_reply_is_nine_bytes_in_the_documented_layout() -> None:
    frame = k.status_reply(1, lock_bits=0x0201, ir_bits=0x8004)
    assert len(frame) == 9
    assert frame[:3] == bytes.fromhex("02 10 35")
    assert frame[3:7] == bytes([0x01, 0x02, 0x04, 0x80])
    assert frame[7] == 0x03
    assert frame[8] == sum(frame[:8]) & 0xFF


def test_decoded_status_maps_bit_i_to_lock_i() -> None:
    status = k.decode_status(k.status_reply(3, lock_bits=0b1000_0000_0000_0010, ir_bits=0b100))
    assert status.board == 3
    assert [lock for lock in range(16) if status.locked(lock)] == [1, 15]
    assert [lock for lock in range(16) if status.occupied(lock)] == [2]


def test_polarity_zero_reads_a_clear_bit_as_locked() -> None:
    status = k.decode_status(k.status_reply(0, lock_bits=0b10, ir_bits=0))
    assert status.locked(0, locked_bit_value=0)
    assert not status.locked(1, locked_bit_value=0)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (bytes.fromhex("02 00 30 03 36"), "checksum"),
        (bytes.fromhex("03 00 30 03 36"), "start with 02"),
        (bytes.fromhex("02 00 30 04 36"), "end with 03"),
        (bytes.fromhex("02 00 7f 03 84"), "unknown"),
        (bytes.fromhex("02 00 35 03 3a"), "must be 9 bytes"),
        (bytes.fromhex("02 00"), "too short"),
    ],
)
def test_bad_frames_are_refused_with_a_plain_reason(raw: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        k.decode_frame(raw)


def test_status_of_a_non_status_frame_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        k.decode_status(k.status_request(0))


def test_encoders_refuse_addresses_outside_the_bus() -> None:
    with pytest.raises(ValueError, match="0-15"):
        k.unlock_request(16, 0)


def test_splitter_skips_garbage_before_a_frame() -> None:
    reply = k.status_reply(0, 1, 0)
    result = k.split_frames(b"\xff\x00\x99" + reply)
    assert result.frames == (reply,)
    assert result.skipped == 3


def test_splitter_keeps_an_incomplete_frame_for_later() -> None:
    reply = k.status_reply(0, 1, 0)
    result = k.split_frames(reply[:5])
    assert result.frames == ()
    assert result.rest == reply[:5]


def test_splitter_resynchronises_after_a_wrong_checksum() -> None:
    good = k.status_reply(1, 3, 0)
    bad = k.status_reply(0, 1, 0)[:-1] + b"\x00"
    assert k.split_frames(bad + good).frames == (good,)


def test_splitter_does_not_let_a_false_start_hold_up_a_real_frame() -> None:
    good = k.status_request(0)
    result = k.split_frames(b"\x02\x00\x35" + good)
    assert result.frames == (good,)


def test_stream_buffer_joins_a_frame_that_arrives_in_pieces() -> None:
    buffer = StreamBuffer(k.split_frames)
    reply = k.status_reply(0, 0xFFFF, 0)
    assert buffer.feed(reply[:4]) == []
    assert buffer.feed(reply[4:]) == [reply]


@given(st.binary(max_size=300))
def test_decoding_arbitrary_bytes_raises_nothing_but_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        k.decode_frame(data)


@given(st.binary(max_size=300))
def test_splitting_arbitrary_bytes_yields_only_frames_that_decode(data: bytes) -> None:
    result = k.split_frames(data)
    for frame in result.frames:
        k.decode_frame(frame)
    assert len(result.rest) < k.MAX_FRAME


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_stream_buffer_stays_bounded_whatever_arrives(chunks: list[bytes]) -> None:
    buffer = StreamBuffer(k.split_frames, max_bytes=32)
    for chunk in chunks:
        buffer.feed(chunk)
        assert len(buffer.pending) <= 32


@given(boards, locks, bits16, bits16)
def test_status_reply_round_trips(board: int, lock: int, lock_bits: int, ir_bits: int) -> None:
    frame = k.decode_frame(k.status_reply(board, lock_bits, ir_bits, lock=lock))
    assert (frame.board, frame.lock) == (board, lock)
    assert k.status_of(frame) == k.BoardStatus(board=board, lock_bits=lock_bits, ir_bits=ir_bits)


@given(boards, locks)
def test_unlock_request_round_trips(board: int, lock: int) -> None:
    frame = k.decode_frame(k.unlock_request(board, lock))
    assert (frame.command, frame.board, frame.lock) == (k.Command.UNLOCK, board, lock)


@given(st.lists(st.tuples(boards, bits16, bits16), max_size=8), st.binary(max_size=20))
def test_frames_separated_by_noise_without_start_bytes_all_come_back(
    replies: list[tuple[int, int, int]], noise: bytes
) -> None:
    noise = noise.replace(b"\x02", b"")
    frames = [k.status_reply(b, lb, ib) for b, lb, ib in replies]
    assert k.split_frames(noise.join(frames) + noise).frames == tuple(frames)
