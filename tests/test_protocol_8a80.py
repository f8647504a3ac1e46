"""Generic 8A/80 board frames: the bytes in HARDWARE.md, decoding, splitting, and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.errors import ProtocolError
from kiosk.devices.protocols import board8a80 as p

boards = st.integers(min_value=1, max_value=32)
locks = st.integers(min_value=1, max_value=32)
bits32 = st.integers(min_value=0, max_value=0xFFFF_FFFF)
headers = st.sampled_from([p.QUERY, p.UNLOCK, p.REPORT])


def test_unlock_board_1_lock_1_is_the_documented_bytes() -> None:
    assert p.unlock_request(1, 1) == bytes.fromhex("8A 01 01 11 9B")


def test_query_one_lock_is_the_documented_bytes() -> None:
    assert p.query_request(1, 1) == bytes.fromhex("80 01 01 33 B3")


def test_query_all_is_the_documented_bytes() -> None:
    assert p.query_all_request(1) == bytes.fromhex("80 01 00 33 B2")


def test_one_lock_reply_reads_board_lock_and_state() -> None:
    reply = p.decode_reply(bytes.fromhex("80 01 01 11 91"))
    assert reply == p.LockReply(header=0x80, board=1, lock=1, is_set=True)


def test_one_lock_reply_with_00_is_not_set() -> None:
    raw = p.lock_reply(1, 2, False)
    assert raw == bytes.fromhex("80 01 02 00 83")
    assert p.decode_reply(raw) == p.LockReply(header=0x80, board=1, lock=2, is_set=False)


def test_query_all_reply_has_the_documented_byte_order() -> None:
    raw = p.all_reply(1, (1 << 0) | (1 << 9) | (1 << 16) | (1 << 31))
    assert raw[:7] == bytes([0x80, 0x01, 0x80, 0x01, 0x02, 0x01, 0x33])
    assert raw[7] == p.checksum(raw[:7])


def test_query_all_reply_maps_bit_i_to_lock_i_plus_1() -> None:
    reply = p.decode_reply(p.all_reply(3, 0b101))
    assert isinstance(reply, p.BoardReply)
    assert [lock for lock in range(1, 33) if reply.is_set(lock)] == [1, 3]


def test_change_report_starts_with_82() -> None:
    reply = p.decode_reply(p.lock_reply(2, 7, True, header=p.REPORT))
    assert reply == p.LockReply(header=0x82, board=2, lock=7, is_set=True)


def test_echoed_unlock_reply_starts_with_8a() -> None:
    reply = p.decode_reply(p.lock_reply(1, 1, True, header=p.UNLOCK))
    assert isinstance(reply, p.LockReply)
    assert reply.header == 0x8A


def test_requests_decode_by_kind() -> None:
    assert p.decode_request(p.unlock_request(4, 9)) == p.Request(p.RequestKind.UNLOCK, 4, 9)
    assert p.decode_request(p.query_request(4, 9)) == p.Request(p.RequestKind.QUERY, 4, 9)
    assert p.decode_request(p.query_all_request(4)) == p.Request(p.RequestKind.QUERY_ALL, 4, 0)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (bytes.fromhex("80 01 01 11 90"), "checksum"),
        (bytes.fromhex("81 01 01 11 90"), "starts with 81"),
        (bytes.fromhex("80 00 01 11 90"), "board address 0"),
        (bytes.fromhex("80 01 01 22 a2"), "code byte 22"),
        (bytes.fromhex("80 01 00 00 00 00 34 b4"), "where 33 belongs"),
        (bytes.fromhex("80 01"), "must be 5 bytes"),
    ],
)
def test_bad_replies_are_refused_with_a_plain_reason(raw: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        p.decode_reply(raw)


def test_encoders_refuse_board_zero() -> None:
    with pytest.raises(ValueError, match="1-200"):
        p.unlock_request(0, 1)


def test_reply_splitter_finds_answers_and_reports_among_garbage() -> None:
    answer = p.lock_reply(1, 1, True)
    report = p.lock_reply(1, 2, False, header=p.REPORT)
    result = p.split_replies(b"\x00\xff" + answer + b"\x13" + report)
    assert result.frames == (answer, report)
    assert result.skipped == 3


def test_reply_splitter_takes_an_eight_byte_answer_whole() -> None:
    raw = p.all_reply(1, 0x00FF_FF00)
    assert p.split_replies(raw).frames == (raw,)


def test_reply_splitter_waits_for_all_eight_bytes_when_told_to_expect_them() -> None:
    # Bits chosen so the first five bytes are also a valid one-lock answer (80 01 01 11 91).
    raw = p.all_reply(1, 0x0111_9100)
    assert p.split_replies(raw[:5]).frames == (raw[:5],)
    assert p.split_replies(raw[:5], expect_all=True).frames == ()
    assert p.split_replies(raw, expect_all=True).frames == (raw,)


def test_request_splitter_cuts_back_to_back_requests() -> None:
    data = p.unlock_request(1, 1) + p.query_all_request(1)
    assert p.split_requests(data).frames == (p.unlock_request(1, 1), p.query_all_request(1))


@given(st.binary(max_size=300))
def test_decoding_arbitrary_bytes_raises_nothing_but_protocol_error(data: bytes) -> None:
    for decode in (p.decode_reply, p.decode_request):
        with contextlib.suppress(ProtocolError):
            decode(data)


@given(st.binary(max_size=300), st.booleans())
def test_splitting_arbitrary_replies_yields_only_frames_that_decode(data: bytes, expect_all: bool) -> None:
    result = p.split_replies(data, expect_all=expect_all)
    for frame in result.frames:
        p.decode_reply(frame)
    assert len(result.rest) < p.MAX_FRAME


@given(st.binary(max_size=300))
def test_splitting_arbitrary_requests_yields_only_frames_that_decode(data: bytes) -> None:
    for frame in p.split_requests(data).frames:
        p.decode_request(frame)


@given(headers, boards, locks, st.booleans())
def test_one_lock_reply_round_trips(header: int, board: int, lock: int, is_set: bool) -> None:
    raw = p.lock_reply(board, lock, is_set, header=header)
    assert p.decode_reply(raw) == p.LockReply(header=header, board=board, lock=lock, is_set=is_set)


@given(boards, bits32)
def test_all_reply_round_trips_through_the_splitter(board: int, bits: int) -> None:
    raw = p.all_reply(board, bits)
    (frame,) = p.split_replies(raw, expect_all=True).frames
    assert p.decode_reply(frame) == p.BoardReply(board=board, bits=bits)


@given(boards, locks)
def test_requests_round_trip(board: int, lock: int) -> None:
    assert p.decode_request(p.unlock_request(board, lock)) == p.Request(p.RequestKind.UNLOCK, board, lock)
    assert p.decode_request(p.query_request(board, lock)) == p.Request(p.RequestKind.QUERY, board, lock)


@given(boards, st.integers(min_value=0, max_value=0xFF_FFFF))
def test_a_7_byte_all_reply_round_trips_through_the_splitter(board: int, bits: int) -> None:
    raw = p.all_reply(board, bits, status_bytes=3)
    assert len(raw) == 7
    (frame,) = p.split_replies(raw, expect_all=True, status_bytes=3).frames
    assert p.decode_reply(frame) == p.BoardReply(board=board, bits=bits, status_bytes=3)
    either = p.split_replies(raw, expect_all=True)  # the profile does not say which length the board sends
    if raw[5:7] == b"\x33\x33":
        # Its checksum is 0x33: the same seven bytes begin an 8-byte answer too, so the splitter waits for
        # an eighth byte (and times out) — the reason a profile names its status length (docs/hardware.md).
        assert (either.frames, either.rest) == ((), raw)
    else:
        assert either.frames == (raw,)


def test_the_7_byte_all_reply_carries_locks_17_to_24_first() -> None:
    raw = p.all_reply(1, 1 << 23 | 1, status_bytes=3)
    assert raw == bytes([0x80, 0x01, 0x80, 0x00, 0x01, 0x33, 0x80 ^ 0x01 ^ 0x80 ^ 0x01 ^ 0x33])


def test_a_7_byte_all_reply_is_refused_where_only_8_bytes_are_allowed() -> None:
    raw = p.all_reply(1, 5, status_bytes=3)
    assert p.split_replies(raw, expect_all=True, status_bytes=4).frames == ()
    assert p.split_replies(raw, expect_all=True, status_bytes=3).frames == (raw,)


def test_an_8_byte_all_reply_is_not_cut_short_into_a_7_byte_one() -> None:
    # Chosen so that the first seven bytes are a valid 7-byte answer too (33 in place, xor = 33).
    raw = p.all_reply(1, 0x8100_0033)
    assert p.decode_reply(raw[:7]) == p.BoardReply(board=1, bits=0x81_0000, status_bytes=3)
    assert p.split_replies(raw[:7], expect_all=True).frames == ()  # waits for an eighth byte
    assert p.split_replies(raw, expect_all=True).frames == (raw,)


def test_boards_above_32_up_to_0xc8_are_encoded_and_decoded() -> None:
    raw = p.lock_reply(0xC8, 3, True)
    assert p.decode_reply(raw) == p.LockReply(header=p.QUERY, board=0xC8, lock=3, is_set=True)
    with pytest.raises(ValueError, match="1-200"):
        p.unlock_request(0xC9, 1)


@given(st.binary(max_size=300), st.booleans(), st.sampled_from([None, 3, 4]))
def test_splitting_arbitrary_replies_of_either_length_yields_only_frames_that_decode(
    data: bytes, expect_all: bool, status_bytes: int | None
) -> None:
    result = p.split_replies(data, expect_all=expect_all, status_bytes=status_bytes)
    for frame in result.frames:
        p.decode_reply(frame)
    assert len(result.rest) < p.MAX_FRAME


def test_a_7_byte_all_reply_whose_checksum_is_33_waits_unless_the_length_is_known() -> None:
    raw = p.all_reply(1, 18374, status_bytes=3)
    assert raw[5:7] == b"\x33\x33"
    assert p.split_replies(raw, expect_all=True).frames == ()
    assert p.split_replies(raw, expect_all=True, status_bytes=3).frames == (raw,)
