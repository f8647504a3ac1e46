"""Secret files (the UI token, the hub token): one line of text in a file only its owner may read."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import stat
from collections.abc import Callable
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


def ensure_secret_file(path: Path, make: Callable[[], str] | None = None) -> str:
    """Return the token in ``path``, creating it (mode 0600, atomically) if it does not exist.

    A new token is ``make()``, by default 43 random URL-safe characters (256 bits).
    """
    if path.exists():
        return read_secret_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32) if make is None else make()
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


SYLLABLE_CONSONANTS = "bdfghkmnprstvz"
"""Consonants of a typeable password: lower case, none easily misread (no l, j, c, q, w, x, y)."""
SYLLABLE_VOWELS = "aeiou"


def typeable_password(words: int = 4, syllables: int = 3) -> str:
    """A random password a person can read off a screen and type on a phone: lower-case, pronounceable words.

    Each syllable is a consonant and a vowel, so each adds log2(14 * 5) ≈ 6.1 bits; the default 4 words of
    3 syllables (``"bakoti mezufa ranodi kupesa"``) carry about 73.6 bits, more than a 12-character random
    password of letters and digits. Only letters and single spaces: a phone keyboard's first page.
    """
    if words < 1 or syllables < 1:
        raise ValueError("a password needs at least one word of one syllable")
    return " ".join(
        "".join(secrets.choice(SYLLABLE_CONSONANTS) + secrets.choice(SYLLABLE_VOWELS) for _ in range(syllables))
        for _ in range(words)
    )


def typeable_password_bits(words: int = 4, syllables: int = 3) -> float:
    """The entropy of :func:`typeable_password` with these arguments, in bits."""
    return words * syllables * math.log2(len(SYLLABLE_CONSONANTS) * len(SYLLABLE_VOWELS))
