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
import hashlib
import hmac
import secrets

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
