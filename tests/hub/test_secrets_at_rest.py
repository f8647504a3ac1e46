"""The hub's secrets at rest: a private database file and folder whatever the umask, and signing keys
encrypted with a key kept in a file of its own (on both engines)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import main
from hub.storage import Storage, VaultError, open_storage
from hub.storage.vault import KEY_FILE_ENV
from kiosk.core.ridercode import private_key_to_pem, public_key_to_b64


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that takes nothing away (the worst an operator's shell may have)."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def stored_private(storage: Storage) -> list[str]:
    with storage.db.transaction(write=False) as tx:
        return [str(r[0]) for r in tx.execute("SELECT private_pem FROM signing_keys ORDER BY kid")]


def test_the_database_its_folder_and_its_key_file_are_private_whatever_the_umask(
    tmp_path: Path, permissive_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    db = tmp_path / "state" / "hub.db"
    storage = open_storage(str(db))
    try:
        storage.rotate_key()
        storage.add_station("st-a", name="甲", name_en="A")
        assert mode(db.parent) == 0o700
        assert mode(db) == 0o600
        sides = [db.with_name(db.name + s) for s in ("-wal", "-shm")]
        assert any(p.exists() for p in sides)
        assert all(mode(p) == 0o600 for p in sides if p.exists())
        assert mode(db.with_name("hub.db.key")) == 0o600
    finally:
        storage.close()


def test_an_existing_database_open_to_others_is_made_private(tmp_path: Path, permissive_umask: None) -> None:
    db = tmp_path / "hub.db"
    open_storage(str(db)).close()
    db.chmod(0o644)
    open_storage(str(db)).close()
    assert mode(db) == 0o600


def test_the_key_column_does_not_hold_the_private_key(storage: Storage) -> None:
    key = storage.rotate_key()
    [stored] = stored_private(storage)
    pem = private_key_to_pem(key.private_key)
    assert "PRIVATE KEY" not in stored
    assert pem not in stored
    [back] = storage.valid_keys()
    assert public_key_to_b64(back.private_key.public_key()) == public_key_to_b64(key.private_key.public_key())


def test_another_key_file_is_a_clear_error_naming_it(db_target: str, tmp_path: Path) -> None:
    first = open_storage(db_target, key_file=tmp_path / "right.key")
    first.rotate_key()
    first.close()
    wrong = tmp_path / "wrong.key"
    with pytest.raises(VaultError, match=r"cannot be decrypted with the key file .*wrong\.key"):
        open_storage(db_target, key_file=wrong)


def test_an_unreadable_or_damaged_key_file_is_a_clear_error(db_target: str, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.key"
    folder.mkdir()
    with pytest.raises(VaultError, match="cannot read the hub's key file"):
        open_storage(db_target, key_file=folder).rotate_key()
    damaged = tmp_path / "damaged.key"
    damaged.write_text("not a key\n")
    with pytest.raises(VaultError, match="does not hold a key"):
        open_storage(db_target, key_file=damaged).rotate_key()


def test_plaintext_keys_of_an_older_hub_are_encrypted_when_it_opens(db_target: str, tmp_path: Path) -> None:
    storage = open_storage(db_target, key_file=tmp_path / "hub.key")
    key = storage.rotate_key()
    with storage.db.transaction() as tx:  # what a hub before encryption wrote
        tx.execute("UPDATE signing_keys SET private_pem = ?", (private_key_to_pem(key.private_key),))
    storage.close()
    again = open_storage(db_target, key_file=tmp_path / "hub.key")
    try:
        [stored] = stored_private(again)
        assert "PRIVATE KEY" not in stored
        assert again.signing_key().kid == key.kid
    finally:
        again.close()


def test_a_postgresql_hub_without_a_key_file_says_what_to_set(db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db_target.startswith("postgresql"):
        monkeypatch.setenv(KEY_FILE_ENV, "")  # SQLite: the file beside the database is the default
        storage = open_storage(db_target)
        assert storage.signing_key().kid == "k1"
        storage.close()
        return
    monkeypatch.delenv(KEY_FILE_ENV)
    storage = open_storage(db_target)
    try:
        with pytest.raises(VaultError, match=KEY_FILE_ENV):
            storage.signing_key()
    finally:
        storage.close()


def test_the_cli_takes_the_key_file_and_refuses_the_wrong_one(
    db_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    right, wrong = tmp_path / "right.key", tmp_path / "wrong.key"
    assert main(["keys", "rotate", "--db", db_target, "--key-secret-file", str(right)]) == 0
    assert mode(right) == 0o600
    capsys.readouterr()
    assert main(["keys", "list", "--db", db_target, "--key-secret-file", str(wrong)]) == 1
    assert "cannot be decrypted with the key file" in capsys.readouterr().err
