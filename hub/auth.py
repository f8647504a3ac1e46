"""Secrets the hub hands out and checks: station tokens, rider-app API keys, operator passwords.

Station tokens and API keys are 256-bit random values made here, so a single SHA-256 is the right way
to store them: nobody can guess or brute-force a 256-bit preimage, and a slow password hash would only
make every sync request slower without adding safety. Comparing the digests with
``hmac.compare_digest`` keeps the comparison constant-time.

Operator passwords are chosen by people and may be weak, so they get a deliberately slow, memory-hard
hash: scrypt from the standard library (no extra dependency; argon2 would serve as well).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache

TOKEN_BYTES = 32
"""256 bits of randomness per token and API key."""
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
"""scrypt cost: about 16 MiB and a few tens of milliseconds per check on the hub."""


def new_token() -> str:
    """A new random token (URL-safe text, 43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The stored form of a token or API key: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Whether ``token`` hashes to ``stored_hash`` (constant-time comparison)."""
    return hmac.compare_digest(token_hash(token), stored_hash)


def hash_password(password: str) -> str:
    """The stored form of an operator password: ``scrypt$N$r$p$salt$hash`` (Base64 parts)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    parts = (base64.b64encode(salt).decode(), base64.b64encode(digest).decode())
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${parts[0]}${parts[1]}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (False for a malformed stored value)."""
    try:
        kind, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if kind != "scrypt":
            return False
        salt, digest = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        # 64 MiB is scrypt's memory for N=2**14, r=8 several times over; it only bounds a hostile stored value.
        candidate = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(digest), maxmem=64 * 2**20
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, digest)


@cache
def dummy_password_hash() -> str:
    """A stored-form hash of a random password, checked for unknown operator names.

    An unknown name then costs the same scrypt work as a known one with a wrong password, so the time
    of an answer does not tell which names exist.
    """
    return hash_password(secrets.token_urlsafe(16))


class ApiRole(enum.Enum):
    """What an API key may do; each key has exactly one role."""

    CODES = "codes"
    """The rider app: ``POST /v1/codes`` and nothing else."""
    METRICS = "metrics"
    """A monitor: read ``/fleet`` and ``/fleet.csv``; no admin page, no change."""
    OPERATOR = "operator"
    """A named operator's script: everything an operator's session may do, recorded under that operator."""


@dataclass(frozen=True)
class ApiKey:
    """A stored API key (its secret is not kept)."""

    name: str
    role: ApiRole
    operator: str | None
    """The operator behind an ``operator`` key (None for the other roles)."""


@dataclass(frozen=True)
class Operator:
    """The person behind a request to the operator pages."""

    name: str
    """The operator's name (for a key, the operator it names; for a metrics key, the key's name)."""
    key: str | None
    """The API key's name when the request came with one, else None (a browser session)."""
    csrf: str
    """The token forms rendered for this request carry."""
    role: ApiRole = ApiRole.OPERATOR

    @property
    def label(self) -> str:
        """How the operator is named on pages and in records: ``alice``, or ``alice (key deploy)``."""
        return self.name if self.key is None else f"{self.name} (key {self.key})"
