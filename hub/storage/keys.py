"""Rider-code signing keys (with validity windows), rider revocations and the city's content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.content import Content
from hub.storage.base import StorageBase, from_iso, iso
from hub.storage.vault import is_sealed
from kiosk.core.ridercode import generate_key, private_key_from_pem, private_key_to_pem, public_key_to_b64
from kiosk.sync.protocol import KeyEntry


@dataclass(frozen=True)
class SigningKey:
    """A hub signing key: its id, the private key and its validity window."""

    kid: str
    private_key: Ed25519PrivateKey
    valid_from: datetime
    valid_until: datetime | None

    def entry(self) -> KeyEntry:
        """The public part, as bundles carry it."""
        return KeyEntry(
            kid=self.kid,
            public_key=public_key_to_b64(self.private_key.public_key()),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


class KeysMixin(StorageBase):
    """Signing keys, revocations and content."""

    def rotate_key(self, overlap: timedelta = timedelta(days=7)) -> SigningKey:
        """Make a new signing key valid from now; keys valid until later than ``now + overlap`` end then.

        Codes signed with an old key stay good at stations until the overlap is over, so riders holding a
        fresh code do not find it refused on the day of a rotation.
        """
        if overlap < timedelta(0):
            raise ValueError("the overlap cannot be negative")
        now = self.now()
        key = generate_key()
        ends = iso(now + overlap)
        with self.db.transaction() as tx:
            row = tx.one("SELECT COUNT(*) FROM signing_keys")
            kid = f"k{int(row[0]) + 1 if row else 1}"
            sealed = self.vault.seal(kid, private_key_to_pem(key))
            tx.execute(
                "UPDATE signing_keys SET valid_until = ? WHERE valid_until IS NULL OR valid_until > ?", (ends, ends)
            )
            tx.execute(
                "INSERT INTO signing_keys (kid, private_pem, public_key, valid_from, valid_until, created_at)"
                " VALUES (?, ?, ?, ?, NULL, ?)",
                (kid, sealed, public_key_to_b64(key.public_key()), iso(now), iso(now)),
            )
        return SigningKey(kid, key, now, None)

    def valid_keys(self, at: datetime | None = None) -> list[SigningKey]:
        """Every key valid at ``at`` (default now), oldest first: what stations must trust."""
        moment = iso(at or self.now())
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT kid, private_pem, valid_from, valid_until FROM signing_keys"
                " WHERE valid_from <= ? AND (valid_until IS NULL OR valid_until > ?)"
                " ORDER BY valid_from, LENGTH(kid), kid",
                (moment, moment),
            )
        return [
            SigningKey(
                kid,
                private_key_from_pem(self.vault.unseal(kid, stored)),
                from_iso(start),
                None if end is None else from_iso(end),
            )
            for kid, stored, start, end in rows
        ]

    def seal_keys(self) -> int:
        """Encrypt signing keys stored in plaintext by an older hub, and check the key file opens the others.

        Returns how many were encrypted now. :class:`VaultError` when the key file is not the right one.
        """
        with self.db.transaction() as tx:
            rows = tx.execute("SELECT kid, private_pem FROM signing_keys ORDER BY kid")
            plain = [(kid, pem) for kid, pem in rows if not is_sealed(pem)]
            sealed = [(kid, text) for kid, text in rows if is_sealed(text)]
            if sealed:
                self.vault.unseal(*sealed[0])  # the wrong key file is an error now, not at the first code
            tx.executemany(
                "UPDATE signing_keys SET private_pem = ? WHERE kid = ?",
                [(self.vault.seal(kid, pem), kid) for kid, pem in plain],
            )
        return len(plain)

    def signing_key(self) -> SigningKey:
        """The key new codes are signed with: the newest valid one (one is made if there is none)."""
        keys = self.valid_keys()
        return keys[-1] if keys else self.rotate_key(timedelta(0))

    # --- revocations -----------------------------------------------------------------------------

    def revoke_rider(self, rider_id: str, reason: str = "") -> bool:
        """Revoke a rider; False if they were revoked already."""
        with self.db.transaction() as tx:
            rows = tx.execute(
                "INSERT INTO revocations (rider_id, revoked_at, reason) VALUES (?, ?, ?)"
                " ON CONFLICT (rider_id) DO NOTHING RETURNING rider_id",
                (rider_id, iso(self.now()), reason),
            )
        return bool(rows)

    def unrevoke_rider(self, rider_id: str) -> bool:
        """Lift a revocation; False if the rider was not revoked."""
        with self.db.transaction() as tx:
            return bool(tx.execute("DELETE FROM revocations WHERE rider_id = ? RETURNING rider_id", (rider_id,)))

    def is_revoked(self, rider_id: str) -> bool:
        """Whether ``rider_id`` is revoked."""
        with self.db.transaction(write=False) as tx:
            return tx.one("SELECT 1 FROM revocations WHERE rider_id = ?", (rider_id,)) is not None

    def revoked_riders(self) -> list[str]:
        """Every revoked rider id, sorted."""
        with self.db.transaction(write=False) as tx:
            return [str(r[0]) for r in tx.execute("SELECT rider_id FROM revocations ORDER BY rider_id")]

    # --- content ---------------------------------------------------------------------------------

    def load_content(self, content: Content) -> None:
        """Replace the city's content with ``content``."""
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO content (name, body, updated_at) VALUES ('content', ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                (content.model_dump_json(), iso(self.now())),
            )

    def content(self) -> Content:
        """The city's content (empty until one is loaded)."""
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT body FROM content WHERE name = 'content'")
        return Content() if row is None else Content.model_validate_json(row[0])
