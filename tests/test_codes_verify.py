"""The station's verdict on a scanned rider code: every refusal, key rotation, skew, and fuzzing."""

from __future__ import annotations

import json
from collections.abc import Callable, Container
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.base45 import ALPHABET, b45encode
from kiosk.core.clock import FakeClock
from kiosk.core.errors import ProtocolError
from kiosk.core.events import parse_body
from kiosk.core.ridercode import NONCE_SIZE, RiderCode, Scope, public_key_to_b64, sign_code
from kiosk.station.codes import (
    Accepted,
    KeyInfo,
    KeySet,
    Refusal,
    Refused,
    Unreadable,
    Verdict,
    check_scan,
    read_scan,
    verify,
)
from kiosk.station.events import CodeAccepted, CodeRefused, verdict_event

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SKEW = 120.0
OLD = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
NEW = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
STRANGER = Ed25519PrivateKey.from_private_bytes(b"\x03" * 32)

# Rotation: k-old is retired at T0 + 1 h, k-new took over at T0 - 1 h, so both are valid around T0.
KEYSET = KeySet(
    [
        KeyInfo("k-old", public_key_to_b64(OLD.public_key()), T0 - timedelta(days=30), T0 + timedelta(hours=1)),
        KeyInfo("k-new", public_key_to_b64(NEW.public_key()), T0 - timedelta(hours=1), None),
    ]
)


def make(
    *,
    key: Ed25519PrivateKey = NEW,
    kid: str = "k-new",
    rider: str = "R1001",
    issued: datetime = T0,
    ttl: timedelta = timedelta(minutes=5),
    scopes: Scope = Scope.SWAP,
    nonce: bytes = b"\x07" * NONCE_SIZE,
    points: int | None = None,
) -> str:
    code = RiderCode(
        kid=kid, rider_id=rider, issued_at=issued, expires_at=issued + ttl, nonce=nonce, scopes=scopes, points=points
    )
    return sign_code(code, key)


def check(
    text: str,
    *,
    now: datetime = T0 + timedelta(seconds=30),
    scope: Scope = Scope.SWAP,
    keyset: KeySet = KEYSET,
    revoked: Container[str] = frozenset(),
    nonce_seen: Callable[[str], bool] = lambda nonce: False,
    skew_s: float = SKEW,
) -> Verdict:
    return verify(
        read_scan(text),
        scope=scope,
        keyset=keyset,
        revoked_riders=revoked,
        nonce_seen=nonce_seen,
        now=now,
        skew_s=skew_s,
    )


def reason(verdict: Verdict) -> Refusal | None:
    return verdict.reason if isinstance(verdict, Refused) else None


# --- accepted ----------------------------------------------------------------------------------


def test_valid_code_is_accepted_with_its_fields() -> None:
    verdict = check(make(points=120))
    assert isinstance(verdict, Accepted)
    assert verdict.code.rider_id == "R1001"
    assert verdict.code.points == 120
    assert verdict.code.nonce_hex == "07" * NONCE_SIZE


def test_code_with_both_scopes_is_accepted_for_entry() -> None:
    assert isinstance(check(make(scopes=Scope.SWAP | Scope.ENTRY), scope=Scope.ENTRY), Accepted)


def test_verify_asks_about_the_codes_nonce_in_hex() -> None:
    asked: list[str] = []

    def seen(nonce: str) -> bool:
        asked.append(nonce)
        return False

    check(make(nonce=bytes.fromhex("0011223344556677")), nonce_seen=seen)
    assert asked == ["0011223344556677"]


def test_verify_does_not_record_the_nonce() -> None:
    text = make()
    assert isinstance(check(text), Accepted)
    assert isinstance(check(text), Accepted)  # only the app's nonce table makes the second one a repeat


def test_verify_works_with_the_fake_clock(fake_clock: FakeClock) -> None:
    fake_clock.set_wall(T0)
    text = make()
    assert isinstance(check(text, now=fake_clock.wall()), Accepted)
    fake_clock.advance(5 * 60 + SKEW)
    assert reason(check(text, now=fake_clock.wall())) is Refusal.EXPIRED


# --- each refusal ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "hello", "RK1:", "RK1:!!!", "RK2:ABC", "https://example.com/?c=1"])
def test_unreadable_text_is_refused_as_bad_encoding(text: str) -> None:
    verdict = check(text)
    assert verdict == Refused(Refusal.BAD_ENCODING)
    assert isinstance(verdict, Refused)
    assert verdict.detail


def test_unknown_key_id_is_refused() -> None:
    verdict = check(make(key=STRANGER, kid="k-x"))
    assert verdict == Refused(Refusal.UNKNOWN_KEY, kid="k-x")


def test_signature_by_another_key_is_refused_without_naming_the_rider() -> None:
    verdict = check(make(key=STRANGER, kid="k-new"))
    assert verdict == Refused(Refusal.BAD_SIGNATURE, kid="k-new", rider_id=None)


def test_code_signed_with_the_right_key_under_the_other_kid_is_refused() -> None:
    assert reason(check(make(key=OLD, kid="k-new"))) is Refusal.BAD_SIGNATURE


def test_key_retired_now_is_refused() -> None:
    late = T0 + timedelta(hours=1, seconds=SKEW)
    verdict = check(make(key=OLD, kid="k-old", issued=late - timedelta(seconds=30)), now=late)
    assert verdict == Refused(Refusal.KEY_NOT_VALID, kid="k-old", rider_id="R1001")


def test_key_not_yet_in_its_window_is_refused() -> None:
    early = T0 - timedelta(hours=1, seconds=SKEW + 1)
    assert reason(check(make(issued=early), now=early)) is Refusal.KEY_NOT_VALID


def test_code_issued_before_its_key_was_valid_is_refused() -> None:
    before = T0 - timedelta(hours=2)
    assert reason(check(make(issued=before, ttl=timedelta(hours=3)))) is Refusal.KEY_NOT_VALID


def test_expired_code_is_refused() -> None:
    verdict = check(make(), now=T0 + timedelta(minutes=5, seconds=SKEW))
    assert verdict == Refused(Refusal.EXPIRED, kid="k-new", rider_id="R1001")


def test_code_from_the_future_is_refused_as_not_yet_valid() -> None:
    verdict = check(make(issued=T0 + timedelta(seconds=SKEW + 1)), now=T0)
    assert verdict == Refused(Refusal.NOT_YET_VALID, kid="k-new", rider_id="R1001")


def test_swap_code_scanned_for_entry_is_refused_as_wrong_scope() -> None:
    assert reason(check(make(scopes=Scope.SWAP), scope=Scope.ENTRY)) is Refusal.WRONG_SCOPE


def test_entry_code_scanned_for_swap_is_refused_as_wrong_scope() -> None:
    assert reason(check(make(scopes=Scope.ENTRY), scope=Scope.SWAP)) is Refusal.WRONG_SCOPE


def test_revoked_rider_is_refused() -> None:
    verdict = check(make(rider="R666"), revoked={"R666"})
    assert verdict == Refused(Refusal.REVOKED, kid="k-new", rider_id="R666")


def test_nonce_already_used_here_is_refused() -> None:
    text = make()
    verdict = check(text, nonce_seen=lambda nonce: nonce == "07" * NONCE_SIZE)
    assert verdict == Refused(Refusal.NONCE_USED, kid="k-new", rider_id="R1001")


# --- order of checks ---------------------------------------------------------------------------


def test_forged_code_never_reaches_the_revocation_or_nonce_lookups() -> None:
    def must_not_be_asked(nonce: str) -> bool:
        raise AssertionError("nonce looked up for a forged code")

    text = make(key=STRANGER, rider="R666", ttl=timedelta(minutes=1), scopes=Scope.ENTRY)
    verdict = check(text, now=T0 + timedelta(hours=2), revoked={"R666"}, nonce_seen=must_not_be_asked)
    assert reason(verdict) is Refusal.BAD_SIGNATURE


def test_expiry_is_checked_before_scope_revocation_and_nonce() -> None:
    verdict = check(
        make(rider="R666", scopes=Scope.ENTRY),
        now=T0 + timedelta(hours=1),
        revoked={"R666"},
        nonce_seen=lambda nonce: True,
    )
    assert reason(verdict) is Refusal.EXPIRED


def test_revocation_is_checked_before_the_nonce() -> None:
    assert reason(check(make(rider="R666"), revoked={"R666"}, nonce_seen=lambda nonce: True)) is Refusal.REVOKED


# --- key rotation ------------------------------------------------------------------------------


def test_during_rotation_codes_from_both_keys_are_accepted() -> None:
    assert isinstance(check(make(key=OLD, kid="k-old")), Accepted)
    assert isinstance(check(make(key=NEW, kid="k-new")), Accepted)


def test_after_rotation_only_the_new_key_is_accepted() -> None:
    later = T0 + timedelta(hours=2)
    assert reason(check(make(key=OLD, kid="k-old", issued=later), now=later)) is Refusal.KEY_NOT_VALID
    assert isinstance(check(make(key=NEW, kid="k-new", issued=later), now=later), Accepted)


# --- clock skew --------------------------------------------------------------------------------


def test_code_issued_slightly_ahead_of_the_station_clock_is_accepted_within_the_skew() -> None:
    assert isinstance(check(make(issued=T0 + timedelta(seconds=SKEW)), now=T0), Accepted)


def test_code_just_past_expiry_is_accepted_within_the_skew() -> None:
    assert isinstance(check(make(), now=T0 + timedelta(minutes=5, seconds=SKEW - 1)), Accepted)


def test_without_skew_allowance_a_code_from_the_future_is_refused() -> None:
    assert reason(check(make(issued=T0 + timedelta(seconds=1)), now=T0, skew_s=0)) is Refusal.NOT_YET_VALID


def test_without_skew_allowance_expiry_is_exact() -> None:
    assert isinstance(check(make(), now=T0 + timedelta(minutes=5) - timedelta(microseconds=1), skew_s=0), Accepted)
    assert reason(check(make(), now=T0 + timedelta(minutes=5), skew_s=0)) is Refusal.EXPIRED


def test_skew_widens_the_key_window_too() -> None:
    late = T0 + timedelta(hours=1, seconds=SKEW - 1)
    assert isinstance(check(make(key=OLD, kid="k-old", issued=late - timedelta(seconds=30)), now=late), Accepted)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check(make(), now=datetime(2026, 3, 1, 8, 0))


# --- messages and events -----------------------------------------------------------------------


@pytest.mark.parametrize("refusal", list(Refusal))
def test_every_refusal_has_a_short_message_in_both_languages(refusal: Refusal) -> None:
    assert 0 < len(refusal.message_zh) <= 40
    assert 0 < len(refusal.message_en) <= 100


def test_accepted_event_carries_rider_scope_key_and_nonce() -> None:
    event = verdict_event(check(make()), Scope.SWAP)
    assert event == CodeAccepted(rider_id="R1001", scope="swap", kid="k-new", nonce="07" * NONCE_SIZE)
    assert parse_body("code.accepted", event.payload()) == event


def test_refused_event_carries_the_reason_and_never_the_text() -> None:
    text = make(rider="R666")
    event = verdict_event(check(text, revoked={"R666"}), Scope.SWAP)
    assert event == CodeRefused(reason=Refusal.REVOKED, scope="swap", kid="k-new", rider_id="R666")
    assert event.payload()["reason"] == "revoked"
    assert parse_body("code.refused", event.payload()) == event
    assert text[4:20] not in json.dumps(event.payload())


def test_event_for_more_than_one_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="exactly one scope"):
        verdict_event(check(make()), Scope.SWAP | Scope.ENTRY)


# --- key sets ----------------------------------------------------------------------------------


def test_key_set_json_round_trips() -> None:
    again = KeySet.from_json(KEYSET.to_json())
    assert list(again) == list(KEYSET)


def test_key_set_file_example_parses() -> None:
    text = json.dumps(
        {
            "keys": [
                {
                    "kid": "k1",
                    "public_key": public_key_to_b64(NEW.public_key()),
                    "valid_from": "2026-01-01T00:00:00Z",
                    "valid_until": None,
                }
            ]
        }
    )
    info = KeySet.from_json(text).get("k1")
    assert info is not None
    assert info.valid_from == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not valid JSON"),
        ("[]", "one member"),
        ('{"keys": [], "x": 1}', "one member"),
        ('{"keys": [{"kid": "k1"}]}', "entry 1"),
        ('{"keys": [{"kid": "k1", "public_key": "AAAA", "valid_from": "2026-01-01T00:00:00Z"}]}', "32 bytes"),
        ('{"keys": [{"kid": "k1", "public_key": "x", "valid_from": "2026-01-01T00:00:00"}]}', "no time zone"),
        ('{"keys": [{"kid": "k1", "public_key": "x", "valid_from": "soon"}]}', "not an ISO 8601"),
    ],
)
def test_bad_key_set_is_a_protocol_error_naming_the_problem(text: str, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        KeySet.from_json(text)


def test_key_id_twice_is_refused() -> None:
    info = KeyInfo("k1", public_key_to_b64(NEW.public_key()), T0)
    with pytest.raises(ProtocolError, match="twice"):
        KeySet([info, info])


def test_key_window_must_not_end_before_it_starts() -> None:
    with pytest.raises(ProtocolError, match="after valid_from"):
        KeyInfo("k1", public_key_to_b64(NEW.public_key()), T0, T0)


# --- never raises, never accepts garbage ---------------------------------------------------------

VALID = make(key=NEW, kid="k-new", rider="R1001", scopes=Scope.SWAP | Scope.ENTRY)


@given(st.text(max_size=400))
def test_arbitrary_text_is_refused_and_never_raises(text: str) -> None:
    assert isinstance(check(text), Refused)


@given(st.text(alphabet=ALPHABET, max_size=180))
def test_arbitrary_alphanumeric_text_is_refused(text: str) -> None:
    assert isinstance(check("RK1:" + text), Refused)


@given(st.binary(min_size=86, max_size=116))
def test_arbitrary_bytes_in_the_text_form_are_refused(raw: bytes) -> None:
    assert isinstance(check("RK1:" + b45encode(raw)), Refused)


@settings(max_examples=300)
@given(st.data())
def test_mutated_valid_code_is_never_accepted(data: st.DataObject) -> None:
    body = list(VALID)
    mutations = data.draw(st.integers(1, 4))
    for _ in range(mutations):
        kind = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        at = data.draw(st.integers(0, len(body) - 1 if body else 0))
        char = data.draw(st.sampled_from(ALPHABET + "abc\n\x00é"))
        if kind == "replace" and body:
            body[at] = char
        elif kind == "insert":
            body.insert(at, char)
        elif body:
            del body[at]
    mutated = "".join(body)
    verdict = check(mutated)
    if mutated == VALID:  # e.g. a character replaced by itself
        assert isinstance(verdict, Accepted)
    else:
        assert isinstance(verdict, Refused)


# --- what a scan is for: a swap, or the entry --------------------------------------------------------


def scan_check(text: str, *, now: datetime = T0 + timedelta(seconds=30)) -> tuple[Refusal | None, Scope]:
    verdict, scope = check_scan(
        read_scan(text), keyset=KEYSET, revoked_riders=frozenset(), nonce_seen=lambda n: False, now=now, skew_s=SKEW
    )
    return reason(verdict), scope


def test_a_scan_is_for_a_swap_unless_its_code_is_for_the_entry_only() -> None:
    assert scan_check(make(scopes=Scope.SWAP)) == (None, Scope.SWAP)
    assert scan_check(make(scopes=Scope.SWAP | Scope.ENTRY)) == (None, Scope.SWAP)
    assert scan_check(make(scopes=Scope.ENTRY)) == (None, Scope.ENTRY)


def test_an_entry_code_refused_before_its_scope_is_an_entry_refusal() -> None:
    late = T0 + timedelta(hours=2)
    assert scan_check(make(scopes=Scope.ENTRY), now=late) == (Refusal.EXPIRED, Scope.ENTRY)
    assert scan_check(make(scopes=Scope.SWAP), now=late) == (Refusal.EXPIRED, Scope.SWAP)
    assert scan_check(make(scopes=Scope.ENTRY, key=STRANGER)) == (Refusal.BAD_SIGNATURE, Scope.ENTRY)


def test_a_scan_that_is_no_code_is_refused_as_a_swap_scan() -> None:
    assert scan_check("HELLO") == (Refusal.BAD_ENCODING, Scope.SWAP)
    unreadable = read_scan("HELLO")
    assert isinstance(unreadable, Unreadable)
    assert unreadable.problem  # what is malformed, for technicians


def test_verify_refuses_a_text_it_was_not_given_parsed() -> None:
    with pytest.raises(TypeError, match="read_scan"):
        verify(make(), scope=Scope.SWAP, keyset=KEYSET, revoked_riders=(), nonce_seen=lambda n: False, now=T0, skew_s=0)  # type: ignore[arg-type]
