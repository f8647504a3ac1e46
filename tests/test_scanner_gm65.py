"""GM65 command frames, replies and the reply splitter, against the bytes in HARDWARE.md and vendor tables."""

from __future__ import annotations

import pytest
import serial

from kiosk.core.errors import ProtocolError
from kiosk.devices.scanner.gm65 import (
    HONEYWELL_TRIGGER_OFF,
    HONEYWELL_TRIGGER_ON,
    OK_REPLY,
    Gm65Check,
    Gm65Command,
    Gm65Op,
    Gm65Reply,
    ReplySplitter,
    crc16_xmodem,
    parse_command,
    parse_reply,
    read_frame,
    reply_frame,
    save_frame,
    trigger_frame,
    write_frame,
)
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.scanner import SimScanner


def test_crc16_xmodem_check_value() -> None:
    assert crc16_xmodem(b"123456789") == 0x31C3


def test_crc16_xmodem_of_nothing_is_zero() -> None:
    assert crc16_xmodem(b"") == 0


def test_trigger_frame_with_abcd_matches_the_documented_bytes() -> None:
    assert trigger_frame() == bytes.fromhex("7E 00 08 01 00 02 01 AB CD")


def test_trigger_frame_with_crc_carries_the_xmodem_crc() -> None:
    frame = trigger_frame(check=Gm65Check.CRC)
    assert frame[:-2] == bytes.fromhex("7E 00 08 01 00 02 01")
    assert frame[-2:] == crc16_xmodem(bytes.fromhex("08 01 00 02 01")).to_bytes(2, "big")


def test_save_frame_with_crc_matches_the_vendor_table() -> None:
    assert save_frame(check=Gm65Check.CRC) == bytes.fromhex("7E 00 09 01 00 00 00 DE C8")


def test_write_frame_with_two_data_bytes_matches_the_vendor_table() -> None:
    # "set baud rate to 9600" as the module's manual lists it
    assert write_frame(0x002A, b"\x39\x01", check=Gm65Check.CRC) == bytes.fromhex("7E 00 08 02 00 2A 39 01 A7 EA")


def test_read_frame_matches_the_vendor_table() -> None:
    # "read the baud rate" (2 bytes at 002A)
    assert read_frame(0x002A, 2, check=Gm65Check.CRC) == bytes.fromhex("7E 00 07 01 00 2A 02 D8 0F")


def test_honeywell_trigger_bytes() -> None:
    assert bytes.fromhex("16 54 0D") == HONEYWELL_TRIGGER_ON
    assert bytes.fromhex("16 55 0D") == HONEYWELL_TRIGGER_OFF


@pytest.mark.parametrize("check", list(Gm65Check))
def test_built_command_parses_back(check: Gm65Check) -> None:
    frame = write_frame(0x1234, b"\x01\x02\x03", check=check)
    assert parse_command(frame) == Gm65Command(op=Gm65Op.WRITE, address=0x1234, data=b"\x01\x02\x03")


def test_command_with_wrong_crc_is_refused() -> None:
    frame = bytearray(trigger_frame(check=Gm65Check.CRC))
    frame[-1] ^= 0xFF
    with pytest.raises(ProtocolError, match="check bytes"):
        parse_command(bytes(frame))


def test_command_with_wrong_length_byte_is_refused() -> None:
    with pytest.raises(ProtocolError, match="length"):
        parse_command(bytes.fromhex("7E 00 08 02 00 02 01 AB CD"))


def test_command_of_unknown_type_is_refused() -> None:
    with pytest.raises(ProtocolError, match="type"):
        parse_command(bytes.fromhex("7E 00 05 01 00 02 01 AB CD"))


def test_command_data_must_fit_one_length_byte() -> None:
    with pytest.raises(ValueError, match="255"):
        write_frame(0, b"\x00" * 256)


def test_ok_reply_matches_the_documented_bytes() -> None:
    assert bytes.fromhex("02 00 00 01 00 33 31") == OK_REPLY


def test_ok_reply_parses_as_ok() -> None:
    assert parse_reply(OK_REPLY).ok


def test_read_reply_carries_its_data() -> None:
    reply = parse_reply(reply_frame(b"\x39\x01"))
    assert reply == Gm65Reply(data=b"\x39\x01")
    assert not reply.ok


def test_reply_with_wrong_crc_is_refused() -> None:
    with pytest.raises(ProtocolError, match="CRC"):
        parse_reply(bytes.fromhex("02 00 00 01 00 33 32"))


def test_reply_with_wrong_head_is_refused() -> None:
    with pytest.raises(ProtocolError, match="not a GM65 reply"):
        parse_reply(bytes.fromhex("02 01 00 01 00 33 31"))


def test_splitter_passes_everything_when_no_reply_is_expected() -> None:
    splitter = ReplySplitter()
    assert splitter.feed(OK_REPLY + b"CODE\r\n", 0.0) == (OK_REPLY + b"CODE\r\n", [])


def test_splitter_takes_an_expected_reply_out_of_the_stream() -> None:
    splitter = ReplySplitter()
    splitter.expect(0.0, 0.5)
    assert splitter.feed(OK_REPLY + b"CODE\r\n", 0.1) == (b"CODE\r\n", [Gm65Reply(data=b"\x00")])


def test_splitter_joins_a_reply_split_across_reads() -> None:
    splitter = ReplySplitter()
    splitter.expect(0.0, 0.5)
    first = splitter.feed(OK_REPLY[:2], 0.1)
    second = splitter.feed(OK_REPLY[2:5], 0.1)
    third = splitter.feed(OK_REPLY[5:] + b"X", 0.1)
    assert (first, second, third) == ((b"", []), (b"", []), (b"X", [Gm65Reply(data=b"\x00")]))


def test_splitter_looks_for_one_reply_per_command() -> None:
    splitter = ReplySplitter()
    splitter.expect(0.0, 0.5)
    _, replies = splitter.feed(OK_REPLY, 0.1)
    assert replies == [Gm65Reply(data=b"\x00")]
    assert splitter.feed(OK_REPLY, 0.1) == (OK_REPLY, [])


def test_splitter_stops_looking_after_the_window() -> None:
    splitter = ReplySplitter()
    splitter.expect(0.0, 0.5)
    assert splitter.feed(OK_REPLY, 0.6) == (OK_REPLY, [])


def test_splitter_hands_on_bytes_that_only_looked_like_a_reply() -> None:
    splitter = ReplySplitter()
    splitter.expect(0.0, 0.5)
    assert splitter.feed(b"\x02AB", 0.1) == (b"\x02AB", [])


def test_splitter_reports_a_reply_with_bad_crc() -> None:
    splitter = ReplySplitter()
    splitter.expect(0.0, 0.5)
    rest, replies = splitter.feed(bytes.fromhex("02 00 00 01 00 00 00") + b"OK", 0.1)
    assert rest == b"OK"
    assert len(replies) == 1
    assert isinstance(replies[0], ProtocolError)


def test_save_frame_carries_the_real_crc_by_default() -> None:
    assert save_frame() == bytes.fromhex("7E 00 09 01 00 00 00 DE C8")


def test_write_and_read_frames_carry_the_real_crc_by_default() -> None:
    assert write_frame(0x002A, b"\x39\x01")[-2:] == bytes.fromhex("A7 EA")
    assert read_frame(0x002A, 2)[-2:] == bytes.fromhex("D8 0F")


def test_a_read_reply_ending_in_the_constant_33_31_is_accepted() -> None:
    raw = bytes.fromhex("02 00 00 02 39 01 33 31")
    assert raw == reply_frame(b"\x39\x01", constant_tail=True)
    assert parse_reply(raw) == Gm65Reply(data=b"\x39\x01")


def test_a_reply_with_neither_its_crc_nor_33_31_is_still_refused() -> None:
    with pytest.raises(ProtocolError, match="CRC"):
        parse_reply(bytes.fromhex("02 00 00 02 39 01 33 30"))


def test_the_splitter_takes_a_33_31_read_reply_out_of_the_stream() -> None:
    splitter = ReplySplitter()
    splitter.expect(0.0, 0.5)
    raw = reply_frame(b"\x39\x01", constant_tail=True)
    assert splitter.feed(raw + b"CODE\r\n", 0.1) == (b"CODE\r\n", [Gm65Reply(data=b"\x39\x01")])


def _exchange(port: serial.Serial, frame: bytes, length: int) -> bytes:
    """Write ``frame`` and read up to ``length`` bytes (bounded by the port's timeout)."""
    port.write(frame)
    return bytes(port.read(length))


def test_a_strict_simulated_module_takes_the_real_crc_save_frame_and_refuses_abcd(pty_port: PtyPort) -> None:
    with SimScanner(pty_port) as sim, serial.Serial(pty_port.path, timeout=1.0) as port:
        sim.accepts_abcd = False
        sim.start()
        assert _exchange(port, save_frame(), len(OK_REPLY)) == OK_REPLY
        port.timeout = 0.2
        assert _exchange(port, save_frame(check=Gm65Check.ABCD), len(OK_REPLY)) == b""
        assert [c.op for c in sim.commands] == [Gm65Op.SAVE]


def test_a_simulated_module_with_the_33_31_tail_is_read_through_a_pty(pty_port: PtyPort) -> None:
    with SimScanner(pty_port) as sim, serial.Serial(pty_port.path, timeout=1.0) as port:
        sim.constant_tail = True
        sim.start()
        assert _exchange(port, write_frame(0x002A, b"\x39\x01"), len(OK_REPLY)) == OK_REPLY
        reply = _exchange(port, read_frame(0x002A, 2), 8)
        assert reply.endswith(b"\x33\x31")
        assert parse_reply(reply).data == b"\x39\x01"
