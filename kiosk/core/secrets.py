"""Secret files (the UI token, the hub token): one line of text in a file only its owner may read."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from kiosk.core.errors import ConfigError


def read_secret_file(path: Path) -> str:
    """Read a token file; refuse one that others can read or write, or that is empty.

    The mode check is why this is not a plain ``read_text``: a token readable by every user on the
    Pi is a token anyone with a shell can use.
    """
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"secret file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {path}: {exc.strerror or exc}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"secret file {path} is readable by others (mode {stat.filemode(info.st_mode)}); chmod 600 it"
        )
    if not text:
        raise ConfigError(f"secret file {path} is empty")
    return text


def ensure_secret_file(path: Path) -> str:
    """Return the token in ``path``, creating it (mode 0600, random, atomically) if it does not exist."""
    if path.exists():
        return read_secret_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created by someone else between our check and now
        return read_secret_file(path)
    try:
        os.write(fd, (token + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)  # against a umask that would have widened nothing, but be explicit
    return token
