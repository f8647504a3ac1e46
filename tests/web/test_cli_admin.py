"""``kiosk admin add-user|passwd|remove-user|list-users`` on a throwaway accounts file."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from kiosk.api.users import UserStore
from kiosk.cli.admin import add_admin_commands
from kiosk.core.errors import KioskError
from tests.web.conftest import FAST_HASH

SECRET = "a long enough password"  # noqa: S105 - a test account's password


def run(argv: list[str], stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk")
    add_admin_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return int(args.func(args))


@pytest.fixture
def accounts(tmp_path: Path) -> Path:
    return tmp_path / "users.json"


def store(path: Path) -> UserStore:
    return UserStore(path, hasher=FAST_HASH)


def test_add_user_reads_the_password_from_stdin(accounts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = run(
        ["admin", "add-user", "alice", "--users-file", str(accounts), "--password-stdin"], SECRET + "\n", monkeypatch
    )
    assert code == 0
    assert store(accounts).verify("alice", SECRET) is not None


def test_a_generated_password_is_printed_once_and_works(accounts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["admin", "add-user", "alice", "--users-file", str(accounts), "--generate"])
    out = capsys.readouterr().out
    password = out.split("password (shown once): ")[1].strip()
    assert store(accounts).verify("alice", password) is not None


def test_passwd_changes_the_password(accounts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store(accounts).add("alice", SECRET)
    run(
        ["admin", "passwd", "alice", "--users-file", str(accounts), "--password-stdin"],
        "new long password\n",
        monkeypatch,
    )
    assert store(accounts).verify("alice", SECRET) is None
    assert store(accounts).verify("alice", "new long password") is not None


def test_remove_user_removes_the_account(accounts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store(accounts).add("alice", SECRET)
    run(["admin", "remove-user", "alice", "--users-file", str(accounts)])
    run(["admin", "list-users", "--users-file", str(accounts)])
    assert "no staff accounts" in capsys.readouterr().out


def test_a_short_password_is_a_plain_error_and_adds_nothing(accounts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KioskError, match="at least 10 characters"):
        run(["admin", "add-user", "alice", "--users-file", str(accounts), "--password-stdin"], "short\n", monkeypatch)
    assert not accounts.exists()


def test_passwd_for_an_unknown_account_is_a_plain_error(accounts: Path) -> None:
    with pytest.raises(KioskError, match="no account named 'bob'"):
        run(["admin", "passwd", "bob", "--users-file", str(accounts), "--generate"])


def test_without_a_terminal_or_option_the_password_is_not_guessed(
    accounts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(KioskError, match="--password-stdin or --generate"):
        run(["admin", "add-user", "alice", "--users-file", str(accounts)], "", monkeypatch)


def test_the_accounts_file_comes_from_the_config_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[station]\nid = "t-001"\nname = "测试"\nname_en = "Test"\n')
    run(["admin", "list-users", "--config", str(config)])
    assert "users.json" in capsys.readouterr().out
