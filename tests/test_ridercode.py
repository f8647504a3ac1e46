"""The rider code wire format: layout, bounds, signature, text form, QR size, keys."""

from __future__ import annotations

import base64
import contextlib
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.base45 import b45decode, b45encode
from kiosk.core.errors import ConfigError, ProtocolError
from kiosk.core.ridercode import (
    DOMAIN_TAG,
    MAX_COVERED,
    MAX_PAYLOAD_SIZE,
    MAX_TEXT_LENGTH,
    NONCE_SIZE,
    POINTS_MAX,
    TEXT_PREFIX,
    V1_MAX_PAYLOAD_SIZE,
    V1_MAX_TEXT_LENGTH,
    CodeFormatError,
    KeyFormatError,
    PointsCover,
    RiderCode,
    Scope,
    generate_key,
    parse_code,
    private_key_from_pem,
    private_key_to_pem,
    public_key_from_b64,
    public_key_to_b64,
    read_private_key,
    scope_words,
    sign_code,
    signature_valid,
    station_tag,
    write_private_key,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def fields(**changes: object) -> RiderCode:
    values: dict[str, object] = {
        "kid": "k1",
        "rider_id": "R1001",
        "issued_at": T0,
        "expires_at": T0 + timedelta(minutes=5),
        "nonce": bytes(range(1, 9)),
        "scopes": Scope.SWAP,
        "points": None,
    }
    values.update(changes)
    return RiderCode(**values)  # type: ignore[arg-type]


def longest() -> RiderCode:
    return fields(
        kid="K" * 8,
        rider_id="r" * 20,
        issued_at=datetime(2106, 1, 1, tzinfo=UTC),
        expires_at=datetime(2106, 1, 8, tzinfo=UTC),
        nonce=b"\xff" * NONCE_SIZE,
        scopes=Scope.SWAP | Scope.ENTRY,
        points=POINTS_MAX,
    )


# --- layout --------------------------------------------------------------------------------------


def test_payload_layout_is_as_documented() -> None:
    payload = fields(points=513).to_bytes()
    assert payload == (
        b"\x01"  # version
        + b"\x81"  # flags: swap + points present
        + int(T0.timestamp()).to_bytes(4, "big")
        + int((T0 + timedelta(minutes=5)).timestamp()).to_bytes(4, "big")
        + bytes(range(1, 9))
        + b"\x02k1"
        + b"\x05R1001"
        + (513).to_bytes(4, "big")
    )


def test_payload_without_points_has_no_points_field() -> None:
    assert len(fields().to_bytes()) == 18 + 3 + 6
    assert fields().to_bytes()[1] == 0x01


def test_payload_round_trips() -> None:
    code = fields(scopes=Scope.ENTRY | Scope.SWAP, points=0)
    assert RiderCode.from_bytes(code.to_bytes()) == code


def test_longest_payload_is_the_documented_maximum() -> None:
    assert len(longest().to_bytes()) == V1_MAX_PAYLOAD_SIZE == 52
    assert len(longest_v2().to_bytes()) == MAX_PAYLOAD_SIZE == 77


def longest_v2() -> RiderCode:
    cover = PointsCover.of({f"st-{n}": 0xFFFF_FFFF for n in range(MAX_COVERED)}, complete=False)
    return RiderCode(**{**longest().__dict__, "version": 0, "covers": cover})


def test_a_version_2_payload_adds_its_points_cover() -> None:
    cover = PointsCover(((station_tag("sim-001"), 258),), complete=True)
    code = fields(points=513, covers=cover)
    assert code.version == 2
    payload = code.to_bytes()
    assert payload[0] == 2
    assert payload[: len(fields(points=513).to_bytes())][1:] == fields(points=513).to_bytes()[1:]
    assert payload[len(fields(points=513).to_bytes()) :] == b"\x81" + station_tag("sim-001") + (258).to_bytes(4, "big")
    assert RiderCode.from_bytes(payload) == code


def test_a_version_2_code_is_rk2_and_parses_back() -> None:
    cover = PointsCover.of({"sim-001": 7, "st-east-1": 90}, complete=False)
    text = sign_code(fields(points=42, covers=cover), KEY)
    assert text.startswith("RK2:")
    signed = parse_code(text)
    assert signed.code.covers == cover
    assert (signed.code.covers.seq_for("sim-001"), signed.code.covers.seq_for("elsewhere")) == (7, None)
    assert signature_valid(signed, KEY.public_key())


def test_a_complete_cover_holds_none_of_a_station_it_does_not_list() -> None:
    assert PointsCover.of({"st-east-1": 90}, complete=True).seq_for("sim-001") == 0


def test_the_longest_version_2_code_fits_qr_version_8_at_level_m() -> None:
    text = sign_code(longest_v2(), KEY)
    assert len(text) == MAX_TEXT_LENGTH == 216
    qr = segno.make(text, error="m", boost_error=False, micro=False)
    assert (qr.mode, qr.error, qr.version) == ("alphanumeric", "M", 8)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda p: p[:-9], "ends inside its points cover"),
        (lambda p: p[:-17] + b"\x42" + p[-16:], "unknown points cover bits"),
        (lambda p: p[:-17] + b"\x04" + p[-16:], "ends inside its points cover"),
        (lambda p: p + b"\x00", "unexpected bytes"),
        (lambda p: p[:-17], "ends before its points cover"),
        (lambda p: p[:-8] + p[-16:-8], "names each station once"),
    ],
)
def test_a_malformed_points_cover_is_refused(mutate: object, match: str) -> None:
    code = fields(points=5, covers=PointsCover.of({"a": 1, "b": 2}, complete=True))
    payload = mutate(code.to_bytes())  # type: ignore[operator]
    with pytest.raises(CodeFormatError, match=match):
        parse_code("RK2:" + b45encode(payload + KEY.sign(DOMAIN_TAG + payload)))


def test_a_version_2_payload_in_a_version_1_text_is_refused() -> None:
    payload = fields(points=5, covers=PointsCover()).to_bytes()
    with pytest.raises(CodeFormatError, match="says version 1"):
        parse_code(TEXT_PREFIX + b45encode(payload + KEY.sign(DOMAIN_TAG + payload)))


def test_a_cover_without_points_is_refused() -> None:
    with pytest.raises(CodeFormatError, match="points"):
        fields(covers=PointsCover())


def test_times_are_normalised_to_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    code = fields(issued_at=T0.astimezone(shanghai), expires_at=(T0 + timedelta(minutes=5)).astimezone(shanghai))
    assert code.issued_at.tzinfo is UTC
    assert code == fields()


# --- bounds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"kid": ""}, "key id"),
        ({"kid": "K" * 9}, "key id"),
        ({"kid": "k 1"}, "key id"),
        ({"rider_id": "r" * 21}, "rider id"),
        ({"rider_id": "骑手"}, "rider id"),
        ({"rider_id": "-r1"}, "rider id"),
        ({"issued_at": datetime(2026, 3, 1, 8, 0)}, "timezone-aware"),
        ({"issued_at": 1772352000}, "must be a datetime"),
        ({"issued_at": T0.replace(microsecond=5)}, "whole seconds"),
        ({"expires_at": datetime(2106, 2, 8, tzinfo=UTC)}, "outside"),
        ({"expires_at": T0}, "after issued_at"),
        ({"expires_at": T0 + timedelta(days=7, seconds=1)}, "at most 7 days"),
        ({"nonce": b"short"}, "nonce"),
        ({"scopes": Scope(0)}, "at least one scope"),
        ({"points": -1}, "points"),
        ({"points": POINTS_MAX + 1}, "points"),
        ({"points": True}, "points"),
    ],
)
def test_out_of_bounds_fields_are_refused(changes: dict[str, object], match: str) -> None:
    with pytest.raises(CodeFormatError, match=match):
        fields(**changes)


def test_issue_makes_a_fresh_nonce_and_whole_second_times() -> None:
    a = RiderCode.issue(kid="k1", rider_id="r1", scopes=Scope.SWAP, now=T0.replace(microsecond=999), ttl=timedelta(1))
    b = RiderCode.issue(kid="k1", rider_id="r1", scopes=Scope.SWAP, now=T0, ttl=timedelta(1))
    assert a.nonce != b.nonce
    assert a.issued_at == T0
    assert a.expires_at == T0 + timedelta(days=1)


def test_scope_words() -> None:
    assert scope_words(Scope.SWAP | Scope.ENTRY) == ["swap", "entry"]
    assert scope_words(Scope.ENTRY) == ["entry"]


# --- text form and signature ----------------------------------------------------------------------


def test_signed_code_parses_back_to_its_fields() -> None:
    signed = parse_code(sign_code(fields(points=42), KEY))
    assert signed.code == fields(points=42)
    assert signature_valid(signed, KEY.public_key())


def test_text_is_prefix_and_base45_of_payload_and_signature() -> None:
    text = sign_code(fields(), KEY)
    assert text.startswith(TEXT_PREFIX)
    raw = b45decode(text[len(TEXT_PREFIX) :])
    assert raw[:-64] == fields().to_bytes()
    assert raw[-64:] == KEY.sign(DOMAIN_TAG + fields().to_bytes())


def test_signature_covers_the_domain_tag() -> None:
    payload = fields().to_bytes()
    untagged = TEXT_PREFIX + b45encode(payload + KEY.sign(payload))
    assert not signature_valid(parse_code(untagged), KEY.public_key())


def test_signature_by_another_key_is_not_valid() -> None:
    signed = parse_code(sign_code(fields(), generate_key()))
    assert not signature_valid(signed, KEY.public_key())


def test_longest_code_fits_qr_version_7_at_level_m() -> None:
    text = sign_code(longest(), KEY)
    assert len(text) == V1_MAX_TEXT_LENGTH == 178
    qr = segno.make(text, error="m", boost_error=False, micro=False)
    assert qr.mode == "alphanumeric"
    assert qr.error == "M"
    assert qr.version == 7


def test_typical_code_fits_qr_version_6_at_level_m() -> None:
    text = sign_code(fields(rider_id="R12345678"), KEY)
    assert segno.make(text, error="m", boost_error=False, micro=False).version == 6


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "does not start"),
        ("rk1:" + "0" * 130, "does not start"),
        ("RK3:ABC", "another format version"),
        ("RK1:" + "0" * 200, "at most 178"),
        ("RK1:abc", "damaged"),
        ("RK1:0000", "damaged"),
        ("RK1:" + b45encode(b"\x01" * 40), "too short"),
    ],
)
def test_malformed_text_raises_code_format_error(text: str, match: str) -> None:
    with pytest.raises(CodeFormatError, match=match):
        parse_code(text)


def _resigned(payload: bytes) -> str:
    return TEXT_PREFIX + b45encode(payload + KEY.sign(DOMAIN_TAG + payload))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda p: b"\x03" + p[1:], "format version 3"),
        (lambda p: b"\x02" + p[1:], "says version 1 but the code inside is version 2"),
        (lambda p: p[:1] + b"\x05" + p[2:], "unknown flags"),
        (lambda p: p[:1] + b"\x00" + p[2:], "at least one scope"),
        (lambda p: p[:1] + b"\x81" + p[2:], "points field"),
        (lambda p: p + b"\x00", "unexpected bytes"),
        (lambda p: p[:21] + b"\x15" + b"r" * 21, "rider id must be 1-20"),
        (lambda p: p[:-2], "ends inside its rider id"),
        (lambda p: p[:-6] + b"\x05R\xff001", "not ASCII"),
        (lambda p: p[:18] + b"\x00" + p[21:], "key id must be 1-8"),
        (lambda p: p[:18] + b"\x03k 1" + p[21:], "key id must be"),
    ],
)
def test_malformed_payload_raises_code_format_error(mutate: object, match: str) -> None:
    payload = mutate(fields().to_bytes())  # type: ignore[operator]
    with pytest.raises(CodeFormatError, match=match):
        parse_code(_resigned(payload))


def test_code_format_error_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_code("nonsense")


def test_parse_code_refuses_non_text() -> None:
    with pytest.raises(CodeFormatError, match="text"):
        parse_code(b"RK1:")  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_parse_code_raises_only_code_format_error(text: str) -> None:
    with contextlib.suppress(CodeFormatError):
        parse_code(text)


@given(
    kid=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,7}", fullmatch=True),
    rider=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}", fullmatch=True),
    issued=st.integers(0, 0xFFFF_FFFF - 1),
    lifetime=st.integers(1, 7 * 86400),
    nonce=st.binary(min_size=8, max_size=8),
    scopes=st.sampled_from([Scope.SWAP, Scope.ENTRY, Scope.SWAP | Scope.ENTRY]),
    points=st.none() | st.integers(0, POINTS_MAX),
)
def test_every_valid_code_round_trips_and_fits_the_text_bound(
    kid: str, rider: str, issued: int, lifetime: int, nonce: bytes, scopes: Scope, points: int | None
) -> None:
    issued_at = datetime.fromtimestamp(issued, UTC)
    expires_at = min(issued_at + timedelta(seconds=lifetime), datetime.fromtimestamp(0xFFFF_FFFF, UTC))
    code = RiderCode(
        kid=kid, rider_id=rider, issued_at=issued_at, expires_at=expires_at, nonce=nonce, scopes=scopes, points=points
    )
    text = sign_code(code, KEY)
    assert len(text) <= MAX_TEXT_LENGTH
    assert parse_code(text).code == code


# --- keys --------------------------------------------------------------------------------------


def test_private_key_pem_round_trip() -> None:
    key = private_key_from_pem(private_key_to_pem(KEY))
    assert public_key_to_b64(key.public_key()) == public_key_to_b64(KEY.public_key())


def test_public_key_b64_is_raw_32_bytes() -> None:
    text = public_key_to_b64(KEY.public_key())
    assert len(base64.b64decode(text)) == 32
    assert public_key_to_b64(public_key_from_b64(text)) == text


@pytest.mark.parametrize("text", ["", "not base64!", base64.b64encode(b"x" * 31).decode(), "公钥"])
def test_bad_public_key_text_is_refused(text: str) -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_b64(text)


def test_pem_that_is_not_a_key_is_refused() -> None:
    with pytest.raises(KeyFormatError):
        private_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_key_file_is_written_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "k1.key"
    write_private_key(path, KEY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_to_b64(read_private_key(path).public_key()) == public_key_to_b64(KEY.public_key())


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k1.key"
    write_private_key(path, KEY)
    with pytest.raises(FileExistsError):
        write_private_key(path, generate_key())


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k1.key"
    write_private_key(path, KEY)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_private_key(path)


def test_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_private_key(tmp_path / "nope.key")
