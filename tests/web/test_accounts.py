"""Staff accounts, sessions and sign-in limits as units: the file, the stamps, the bounds, the clock."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from kiosk.api.auth import SessionStore, csrf_ok, token_matches
from kiosk.api.users import UserError, UserStore
from kiosk.core.clock import FakeClock
from kiosk.core.errors import ConfigError
from tests.web.conftest import FAST_HASH

SECRET = "a long enough password"  # noqa: S105 - a test account's password


@pytest.fixture
def users(tmp_path: Path) -> UserStore:
    return UserStore(tmp_path / "users.json", hasher=FAST_HASH)


def test_an_account_is_stored_as_an_argon2id_hash_in_a_private_file(users: UserStore) -> None:
    users.add("alice", SECRET)
    data = json.loads(users.path.read_text())
    assert data["users"]["alice"]["hash"].startswith("$argon2id$")
    assert SECRET not in users.path.read_text()
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600


def test_the_right_password_gives_the_accounts_stamp(users: UserStore) -> None:
    users.add("alice", SECRET)
    assert users.verify("alice", SECRET) == users.stamp("alice")


@pytest.mark.parametrize(("name", "password"), [("alice", "wrong password"), ("nobody", SECRET)])
def test_a_wrong_password_or_unknown_name_gives_nothing(users: UserStore, name: str, password: str) -> None:
    users.add("alice", SECRET)
    assert users.verify(name, password) is None


def test_a_new_password_changes_the_stamp(users: UserStore) -> None:
    users.add("alice", SECRET)
    before = users.stamp("alice")
    users.set_password("alice", "another long password")
    assert users.stamp("alice") != before
    assert users.verify("alice", SECRET) is None


def test_a_removed_account_has_no_stamp(users: UserStore) -> None:
    users.add("alice", SECRET)
    users.remove("alice")
    assert users.stamp("alice") is None
    assert users.names() == []


def test_a_change_by_another_process_is_seen(users: UserStore) -> None:
    users.add("alice", SECRET)
    assert users.names() == ["alice"]
    UserStore(users.path, hasher=FAST_HASH).add("bob", SECRET)  # as `kiosk admin add-user` would
    assert users.names() == ["alice", "bob"]


@pytest.mark.parametrize("name", ["A", "Alice", "1abc", "a b", "a" * 33, "ä"])
def test_a_bad_name_is_refused(users: UserStore, name: str) -> None:
    with pytest.raises(UserError, match="not a valid user name"):
        users.add(name, SECRET)


def test_a_short_password_is_refused(users: UserStore) -> None:
    with pytest.raises(UserError, match="at least 10 characters"):
        users.add("alice", "short")


def test_a_taken_name_is_refused(users: UserStore) -> None:
    users.add("alice", SECRET)
    with pytest.raises(UserError, match="already an account"):
        users.add("alice", SECRET)


def test_a_file_readable_by_others_is_refused(users: UserStore) -> None:
    users.add("alice", SECRET)
    users.path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        users.names()


def test_a_damaged_file_is_a_plain_error(users: UserStore) -> None:
    users.path.write_text("{not json")
    users.path.chmod(0o600)
    with pytest.raises(ConfigError, match="damaged"):
        users.names()


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(tmp_path: Path) -> None:
    UserStore(tmp_path / "users.json", hasher=FAST_HASH).add("alice", SECRET)
    stronger = UserStore(tmp_path / "users.json", hasher=PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1))
    stamp = stronger.stamp("alice")
    assert stronger.verify("alice", SECRET) == stamp
    assert "t=2" in json.loads(stronger.path.read_text())["users"]["alice"]["hash"]
    assert stronger.stamp("alice") == stamp  # same password: sessions go on


# --- sessions --------------------------------------------------------------------------------------


def test_a_session_ends_after_idling(fake_clock: FakeClock) -> None:
    sessions = SessionStore(idle_s=60, lifetime_s=3600, monotonic=fake_clock.monotonic)
    sid, _ = sessions.open("alice", "s")
    fake_clock.advance(59)
    assert sessions.get(sid) is not None
    fake_clock.advance(61)
    assert sessions.get(sid) is None


def test_a_used_session_still_ends_after_its_lifetime(fake_clock: FakeClock) -> None:
    sessions = SessionStore(idle_s=60, lifetime_s=300, monotonic=fake_clock.monotonic)
    sid, _ = sessions.open("alice", "s")
    for _ in range(5):
        fake_clock.advance(50)
        assert sessions.get(sid) is not None
    fake_clock.advance(51)  # idle for less than a minute, but 301 s after signing in
    assert sessions.get(sid) is None


def test_sessions_are_bounded_and_the_oldest_goes(fake_clock: FakeClock) -> None:
    sessions = SessionStore(max_sessions=3, monotonic=fake_clock.monotonic)
    first, _ = sessions.open("alice", "s")
    for _ in range(3):
        sessions.open("alice", "s")
    assert len(sessions) == 3
    assert sessions.get(first) is None


def test_each_session_has_its_own_csrf_token(fake_clock: FakeClock) -> None:
    sessions = SessionStore(monotonic=fake_clock.monotonic)
    _, one = sessions.open("alice", "s")
    _, two = sessions.open("alice", "s")
    assert csrf_ok(one, one.csrf)
    assert not csrf_ok(one, two.csrf)
    assert not csrf_ok(one, None)


def test_an_unset_token_never_matches() -> None:
    assert not token_matches("", "")
    assert not token_matches("x", None)
    assert token_matches("abc", "abc")
