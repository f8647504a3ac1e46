"""The hub's signing keys encrypted at rest, with a key kept outside the database.

The rider-code signing keys are the city's most valuable secret: whoever has one can mint codes every
station accepts. They are stored in the database encrypted with AES-256-GCM (the key id as associated
data, so a row copied onto another key id does not decrypt) under a 32-byte key that lives in a file
of its own, never in the database: a copy of the database (a backup, a ``pg_dump``, a stolen disk image
of the database server) does not reveal them.

**Where the key file is.** ``--key-secret-file`` of ``kiosk-hub``, else ``$KIOSK_HUB_KEY_FILE``, else
beside a SQLite database (``hub.db`` -> ``hub.db.key``). A PostgreSQL hub must be told (the database is
elsewhere; there is no "beside"). A missing file is created with a new random key, mode 0600, in a
folder made 0700. An unreadable file, or one that does not open the keys in the database, is a clear
error that names the file.

Keys written by a hub before encryption (PEM text in the column) are encrypted the first time the hub
opens the database with a key file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.core.errors import StoreError

log = logging.getLogger(__name__)

KEY_FILE_ENV = "KIOSK_HUB_KEY_FILE"
"""The environment variable naming the key file."""
SEALED_PREFIX = "aesgcm1:"
"""How an encrypted private key starts in the database (a plaintext one starts with ``-----BEGIN``)."""
_KEY_BYTES = 32
_NONCE_BYTES = 12


class VaultError(StoreError):
    """The key file is missing, unreadable, malformed or not the one the keys were encrypted with."""


def default_key_file(target: str, *, postgres: bool) -> Path | None:
    """Where the key file is when none is given: ``$KIOSK_HUB_KEY_FILE``, else beside a SQLite file."""
    named = os.environ.get(KEY_FILE_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    if postgres or target == ":memory:":
        return None
    return Path(target).expanduser().with_name(Path(target).name + ".key")


def is_sealed(text: str) -> bool:
    """Whether a stored private key is encrypted (else it is legacy plaintext PEM)."""
    return text.startswith(SEALED_PREFIX)


class Vault:
    """Encrypts and decrypts the signing keys with the key from one file (loaded on first use)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._aead: AESGCM | None = None

    @property
    def configured(self) -> bool:
        """Whether there is a key file to use (given or by default)."""
        return self.path is not None

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            if self.path is None:
                raise VaultError(
                    "the hub's signing keys are encrypted with a key kept in a file of its own, and none is set"
                    f" for this PostgreSQL database: set {KEY_FILE_ENV}=/path/to/hub.key (or --key-secret-file);"
                    " it is created, mode 0600, if it does not exist"
                )
            self._aead = AESGCM(load_or_create_key(self.path))
        return self._aead

    def seal(self, kid: str, pem: str) -> str:
        """The private key ``pem`` of key ``kid``, encrypted for the database."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._cipher().encrypt(nonce, pem.encode("ascii"), kid.encode())
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def unseal(self, kid: str, text: str) -> str:
        """The PEM of a stored private key (legacy plaintext is returned as it is)."""
        if not is_sealed(text):
            return text
        try:
            data = base64.b64decode(text[len(SEALED_PREFIX) :], validate=True)
            return self._cipher().decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], kid.encode()).decode("ascii")
        except (InvalidTag, binascii.Error, ValueError):
            raise VaultError(
                f"signing key {kid} in the database cannot be decrypted with the key file {self.path}: it is not"
                " the file the keys were encrypted with (restore the right file, or point"
                f" {KEY_FILE_ENV} / --key-secret-file at it)"
            ) from None


def load_or_create_key(path: Path) -> bytes:
    """The 32-byte key in ``path`` (base64 text); a new random one, written 0600, if the file does not exist."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return _create(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise VaultError(f"cannot read the hub's key file {path}: {exc}") from None
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != _KEY_BYTES:
        raise VaultError(f"the hub's key file {path} does not hold a key (32 bytes, base64): it is damaged or wrong")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("the hub's key file %s is readable by others (mode %04o): chmod 600 it", path, mode)
    return key


def _create(path: Path) -> bytes:
    """Write a new random key to ``path``, mode 0600 (its folder, if made now, 0700), whatever the umask."""
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
            os.chmod(path.parent, 0o700)  # the mode given to mkdir() is narrowed by the umask: be explicit
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise VaultError(f"cannot create the hub's key file {path}: {exc}") from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, base64.b64encode(key) + b"\n")
        os.fsync(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise VaultError(f"cannot write the hub's key file {path}: {exc}") from None
    finally:
        os.close(fd)
    log.info("created the hub's key file %s (mode 0600): back it up, signing keys cannot be read without it", path)
    return key
