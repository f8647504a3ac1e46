"""The code framer: terminators, idle gaps, length bound, control bytes, undecodable bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.errors import ConfigError
from kiosk.devices.base import Scan
from kiosk.devices.scanner.framing import CodeFramer, FramerSettings


def texts(scans: list[Scan]) -> list[str]:
    return [s.text for s in scans]


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"])
def test_each_terminator_ends_a_code(terminator: bytes) -> None:
    framer = CodeFramer()
    assert texts(framer.feed(b"ABC123" + terminator + b"XYZ" + terminator, 0.0)) == ["ABC123", "XYZ"]


def test_crlf_is_one_terminator_even_split_between_reads() -> None:
    framer = CodeFramer()
    out = framer.feed(b"ABC\r", 0.0) + framer.feed(b"\nDEF\r", 0.001) + framer.feed(b"\n", 0.002)
    assert texts(out) == ["ABC", "DEF"]


def test_code_without_terminator_waits_for_more_before_the_gap() -> None:
    framer = CodeFramer(FramerSettings(idle_gap_s=0.05))
    assert framer.feed(b"ABC", 10.0) == []
    assert framer.poll(10.049) == []


def test_idle_gap_ends_a_code_without_terminator() -> None:
    framer = CodeFramer(FramerSettings(idle_gap_s=0.05))
    framer.feed(b"ABC", 10.0)
    framer.feed(b"DEF", 10.03)
    assert framer.poll(10.08) == [Scan(text="ABCDEF", mono=10.03)]


def test_bytes_after_a_gap_start_a_new_code() -> None:
    framer = CodeFramer(FramerSettings(idle_gap_s=0.05))
    framer.feed(b"ONE", 1.0)
    assert texts(framer.feed(b"TWO", 1.2)) == ["ONE"]
    assert texts(framer.poll(1.3)) == ["TWO"]


def test_without_idle_gap_only_terminators_end_codes() -> None:
    framer = CodeFramer(FramerSettings(idle_gap_s=None))
    framer.feed(b"ABC", 1.0)
    assert framer.poll(1000.0) == []
    assert framer.deadline() is None
    assert texts(framer.feed(b"\n", 1001.0)) == ["ABC"]


def test_deadline_is_last_byte_plus_gap() -> None:
    framer = CodeFramer(FramerSettings(idle_gap_s=0.05))
    assert framer.deadline() is None
    framer.feed(b"A", 2.0)
    assert framer.deadline() == pytest.approx(2.05)


def test_empty_codes_are_ignored() -> None:
    framer = CodeFramer()
    assert framer.feed(b"\r\n\r\n\n\r\x02\x03\r\n", 0.0) == []


def test_control_bytes_are_stripped() -> None:
    framer = CodeFramer()
    assert texts(framer.feed(b"\x02AB\x1dC\x7f\x03\r\n", 0.0)) == ["ABC"]


def test_undecodable_bytes_give_a_bad_scan_with_a_reason() -> None:
    framer = CodeFramer()
    (scan,) = framer.feed(b"AB\xff\xfeC\r", 5.0)
    assert scan.text == ""
    assert scan.error is not None
    assert "UTF-8" in scan.error
    assert scan.mono == 5.0


def test_ascii_encoding_refuses_non_ascii_text() -> None:
    framer = CodeFramer(FramerSettings(encoding="ascii"))
    (scan,) = framer.feed("café\r".encode(), 0.0)
    assert scan.error is not None
    assert "ASCII" in scan.error


def test_utf8_encoding_accepts_non_ascii_text() -> None:
    framer = CodeFramer(FramerSettings(encoding="utf-8"))
    assert texts(framer.feed("换电站\r".encode(), 0.0)) == ["换电站"]


def test_a_good_code_after_a_bad_one_still_reads() -> None:
    framer = CodeFramer()
    out = framer.feed(b"\xff\xff\rGOOD\r", 0.0)
    assert [s.error is None for s in out] == [False, True]
    assert out[1].text == "GOOD"


def test_code_of_exactly_the_bound_is_accepted() -> None:
    framer = CodeFramer(FramerSettings(max_length=8))
    assert texts(framer.feed(b"12345678\r", 0.0)) == ["12345678"]


def test_overlong_code_is_reported_once_as_soon_as_it_passes_the_bound() -> None:
    framer = CodeFramer(FramerSettings(max_length=8))
    out = framer.feed(b"123456789", 0.0)
    assert len(out) == 1
    assert out[0].text == ""
    assert out[0].error is not None
    assert "too long" in out[0].error
    assert framer.feed(b"0" * 1000, 0.001) == []


def test_rest_of_an_overlong_code_is_discarded_up_to_its_end() -> None:
    framer = CodeFramer(FramerSettings(max_length=8))
    framer.feed(b"123456789ABCDEF", 0.0)
    assert texts(framer.feed(b"GHI\rNEXT\r", 0.001)) == ["NEXT"]


def test_idle_gap_also_ends_an_overlong_code() -> None:
    framer = CodeFramer(FramerSettings(max_length=4, idle_gap_s=0.05))
    framer.feed(b"123456", 0.0)
    assert framer.poll(1.0) == []
    assert not framer.pending
    assert texts(framer.feed(b"OK\r", 1.1)) == ["OK"]


def test_endless_stream_keeps_memory_bounded() -> None:
    framer = CodeFramer(FramerSettings(max_length=16, idle_gap_s=None))
    for i in range(1000):
        framer.feed(b"X" * 100, float(i))
        assert len(framer._buf) <= 16


def test_reset_forgets_the_code_in_progress() -> None:
    framer = CodeFramer()
    framer.feed(b"HALF", 0.0)
    framer.reset()
    assert texts(framer.feed(b"WHOLE\r", 0.01)) == ["WHOLE"]


@pytest.mark.parametrize(
    "kwargs",
    [{"idle_gap_s": 0.0}, {"idle_gap_s": -1.0}, {"max_length": 0}, {"encoding": "latin-1"}],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        FramerSettings(**kwargs)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------

MAX = 32


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for p in points:
        pieces.append(data[start:p])
        start = p
    pieces.append(data[start:])
    return pieces


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=400),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=20),
    steps=st.lists(st.floats(min_value=0.0, max_value=0.2), min_size=21, max_size=21),
    encoding=st.sampled_from(["ascii", "utf-8"]),
)
def test_any_bytes_in_any_chunks_never_raise_nor_exceed_the_bound(
    data: bytes, cuts: list[int], steps: list[float], encoding: str
) -> None:
    framer = CodeFramer(FramerSettings(max_length=MAX, idle_gap_s=0.05, encoding=encoding))  # type: ignore[arg-type]
    now = 0.0
    out: list[Scan] = []
    for piece, step in zip(split_at(data, cuts), steps, strict=False):
        now += step
        out += framer.feed(piece, now)
        out += framer.poll(now)
    out += framer.poll(now + 1.0)
    for scan in out:
        assert len(scan.text.encode()) <= MAX
        assert (scan.text == "") == (scan.error is not None)
        assert not any(ch in scan.text for ch in "\r\n\x00\x7f")
    assert not framer.pending


code_bytes = st.binary(min_size=1, max_size=60).filter(lambda b: b"\r" not in b and b"\n" not in b)


@settings(max_examples=300, deadline=None)
@given(
    codes=st.lists(code_bytes, max_size=8),
    terminators=st.lists(st.sampled_from([b"\r", b"\n", b"\r\n"]), min_size=8, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=30),
)
def test_chunking_does_not_change_terminated_codes(
    codes: list[bytes], terminators: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(code + term for code, term in zip(codes, terminators, strict=False))
    whole = CodeFramer(FramerSettings(max_length=MAX)).feed(stream, 0.0)
    chunked_framer = CodeFramer(FramerSettings(max_length=MAX))
    chunked: list[Scan] = []
    for piece in split_at(stream, cuts):
        chunked += chunked_framer.feed(piece, 0.0)
    assert chunked == whole


@settings(max_examples=200, deadline=None)
@given(codes=st.lists(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", min_size=1), max_size=6))
def test_qr_alphanumeric_codes_come_out_as_sent(codes: list[str]) -> None:
    framer = CodeFramer(FramerSettings(max_length=1000))
    stream = b"".join(c.encode() + b"\r\n" for c in codes)
    assert texts(framer.feed(stream, 0.0)) == codes
