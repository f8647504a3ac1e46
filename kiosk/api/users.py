"""Staff accounts for the status page: a small JSON file next to the config, passwords hashed with argon2id.

Not in the station database: kiosk.api sits above kiosk.store in the layers, accounts change only by
``kiosk admin add-user|passwd|remove-user`` (while kiosk-core may be running), and a wiped database must
not lock staff out. The file is written atomically with mode 0600; a running kiosk-core rereads it when
it changes. Each account carries a random ``stamp`` that changes with its password: sessions remember
the stamp they were opened with, so a new password or a removed account ends every session at once.

File shape::

    {"version": 1, "users": {"alice": {"hash": "$argon2id$...", "stamp": "...", "changed": "2025-...Z"}}}
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kiosk.core.errors import ConfigError

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
FILE_VERSION = 1


class UserError(ValueError):
    """A request about accounts that cannot be done (bad name, weak password, unknown user...)."""


def check_username(name: str) -> str:
    """``name`` if it is a valid account name, else ``UserError`` saying what is allowed."""
    if not USERNAME_RE.fullmatch(name):
        raise UserError(
            f"{name!r} is not a valid user name: 2-32 characters, lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter"
        )
    return name


def check_password(password: str) -> str:
    """``password`` if long enough (and not absurdly long), else ``UserError``."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"a password may have at most {MAX_PASSWORD} characters")
    return password


def generate_password() -> str:
    """A random password for a first account (printed once by the installer): 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class Account:
    """One staff account as stored."""

    name: str
    hash: str
    stamp: str
    changed: str


class UserStore:
    """The staff accounts in one JSON file; thread-safe; rereads the file when it changed on disk."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self.hasher = hasher or PasswordHasher()
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._seen: tuple[int, int, int] | None = None
        self._dummy: str | None = None

    # --- reading ------------------------------------------------------------------------------

    def _load(self) -> dict[str, Account]:
        """The accounts now on disk (cached until the file's identity, size or mtime changes)."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._accounts, self._seen = {}, None
            return self._accounts
        except OSError as exc:
            raise ConfigError(f"cannot read the staff accounts file {self.path}: {exc.strerror or exc}") from exc
        key = (info.st_ino, info.st_size, info.st_mtime_ns)
        if key == self._seen:
            return self._accounts
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"the staff accounts file {self.path} is readable by others "
                f"(mode {stat.filemode(info.st_mode)}); chmod 600 it"
            )
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            accounts = {
                name: Account(name=name, hash=str(v["hash"]), stamp=str(v["stamp"]), changed=str(v.get("changed", "")))
                for name, v in dict(data["users"]).items()
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"the staff accounts file {self.path} is damaged ({exc}); restore it or remove it"
            ) from exc
        self._accounts, self._seen = accounts, key
        return accounts

    def names(self) -> list[str]:
        """Every account name, sorted."""
        with self._lock:
            return sorted(self._load())

    def stamp(self, name: str) -> str | None:
        """The account's current stamp (None when there is no such account)."""
        with self._lock:
            account = self._load().get(name)
        return account.stamp if account is not None else None

    def verify(self, name: str, password: str) -> str | None:
        """Check a sign-in; the account's stamp when right, None otherwise.

        An unknown name costs the same hashing work as a known one, so timing does not tell which
        names exist. A hash made with older parameters is upgraded on the way.
        """
        with self._lock:
            account = self._load().get(name)
            dummy = self._dummy_hash()
        try:
            self.hasher.verify(account.hash if account is not None else dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if account is None:
            return None
        if self.hasher.check_needs_rehash(account.hash):
            with contextlib.suppress(OSError, UserError):
                self._write_account(name, password, keep_stamp=True)
        return account.stamp

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    # --- changing -----------------------------------------------------------------------------

    def add(self, name: str, password: str) -> None:
        """Create an account; ``UserError`` if the name is taken or invalid, or the password too short."""
        check_username(name)
        check_password(password)
        with self._lock:
            if name in self._load():
                raise UserError(f"there is already an account named {name!r} (use 'kiosk admin passwd {name}')")
        self._write_account(name, password, keep_stamp=False)

    def set_password(self, name: str, password: str) -> None:
        """Give an account a new password; its sessions end."""
        check_password(password)
        with self._lock:
            if name not in self._load():
                raise UserError(f"there is no account named {name!r}")
        self._write_account(name, password, keep_stamp=False)

    def remove(self, name: str) -> None:
        """Delete an account; its sessions end."""
        with self._lock:
            accounts = dict(self._load())
            if accounts.pop(name, None) is None:
                raise UserError(f"there is no account named {name!r}")
            self._save(accounts)

    def _write_account(self, name: str, password: str, *, keep_stamp: bool) -> None:
        digest = self.hasher.hash(password)  # slow on purpose: outside the lock
        with self._lock:
            accounts = dict(self._load())
            old = accounts.get(name)
            stamp = old.stamp if keep_stamp and old is not None else secrets.token_urlsafe(12)
            changed = datetime.now(UTC).isoformat(timespec="seconds")
            accounts[name] = Account(name=name, hash=digest, stamp=stamp, changed=changed)
            self._save(accounts)

    def _save(self, accounts: dict[str, Account]) -> None:
        """Write the whole file atomically (temp file, fsync, rename), mode 0600."""
        data: dict[str, Any] = {
            "version": FILE_VERSION,
            "users": {
                a.name: {"hash": a.hash, "stamp": a.stamp, "changed": a.changed}
                for a in sorted(accounts.values(), key=lambda a: a.name)
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fp:
                json.dump(data, fp, indent=2, sort_keys=True)
                fp.write("\n")
                fp.flush()
                os.fsync(fp.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._seen = None  # reread (and re-stat) on next use
