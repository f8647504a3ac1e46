"""Base45 as RFC 9285 specifies it, strict on decoding."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.base45 import ALPHABET, Base45Error, b45decode, b45encode, encoded_length
from kiosk.core.errors import ProtocolError


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")],
)
def test_rfc_9285_examples_encode(data: bytes, text: str) -> None:
    assert b45encode(data) == text


@pytest.mark.parametrize(
    ("text", "data"),
    [("QED8WEX0", b"ietf!"), ("BB8", b"AB"), ("%69 VD92EX0", b"Hello!!"), ("UJCLQE7W581", b"base-45")],
)
def test_rfc_9285_examples_decode(text: str, data: bytes) -> None:
    assert b45decode(text) == data


def test_empty_input_is_empty_text() -> None:
    assert b45encode(b"") == ""
    assert b45decode("") == b""


def test_alphabet_is_the_qr_alphanumeric_set() -> None:
    assert sorted(ALPHABET) == sorted("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert len(set(ALPHABET)) == 45


@pytest.mark.parametrize("text", ["A", "BB8A", "%69 "])
def test_length_one_more_than_multiple_of_three_is_refused(text: str) -> None:
    with pytest.raises(Base45Error, match="long"):
        b45decode(text)


@pytest.mark.parametrize("text", ["bb8", "BB#", "ÄB8", "BB\n"])
def test_characters_outside_the_alphabet_are_refused(text: str) -> None:
    with pytest.raises(Base45Error, match="not a Base45 character"):
        b45decode(text)


def test_triple_over_65535_is_refused() -> None:
    # "GGW" = 16 + 16*45 + 32*2025 = 65536, one more than two bytes hold.
    with pytest.raises(Base45Error, match="out of range"):
        b45decode("GGW")


def test_largest_triple_decodes() -> None:
    assert b45decode("FGW") == b"\xff\xff"


def test_final_pair_over_255_is_refused() -> None:
    # "26" = 2 + 6*45 = 272 > 255.
    with pytest.raises(Base45Error, match="out of range"):
        b45decode("BB826")


def test_errors_are_protocol_errors_and_value_errors() -> None:
    with pytest.raises(ProtocolError):
        b45decode("GGW")
    with pytest.raises(ValueError, match="out of range"):
        b45decode("GGW")


@given(st.binary(max_size=200))
def test_round_trip(data: bytes) -> None:
    text = b45encode(data)
    assert len(text) == encoded_length(len(data))
    assert set(text) <= set(ALPHABET)
    assert b45decode(text) == data


@given(st.text(alphabet=ALPHABET, max_size=60))
def test_decoding_is_canonical(text: str) -> None:
    try:
        data = b45decode(text)
    except Base45Error:
        return
    assert b45encode(data) == text


@given(st.text(max_size=60))
def test_arbitrary_text_decodes_or_raises_base45_error_only(text: str) -> None:
    with contextlib.suppress(Base45Error):
        b45decode(text)
