"""Rider codes for the simulated station: a local signing key stands in for the city hub's.

The key and the station's key set live in the simulator's data folder; the simulator's API hands out
real signed codes with them, which the station then checks exactly as it checks the hub's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.core.clock import Clock
from kiosk.core.ridercode import (
    SCOPE_NAMES,
    RiderCode,
    generate_key,
    public_key_to_b64,
    read_private_key,
    sign_code,
    write_private_key,
)
from kiosk.station.codes import KeyInfo, KeySet

KID = "sim1"


class SimCodeIssuer:
    """Signs rider codes with the simulator's key (made on first use) and keeps the key set beside it."""

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.clock = clock
        self.key_file = folder / f"{KID}.key"
        self.keyset_file = folder / "keyset.json"
        folder.mkdir(parents=True, exist_ok=True)
        if not self.key_file.exists():
            write_private_key(self.key_file, generate_key())
        self._key = read_private_key(self.key_file)
        info = KeyInfo(KID, public_key_to_b64(self._key.public_key()), datetime(2020, 1, 1, tzinfo=UTC))
        self.keyset_file.write_text(KeySet([info]).to_json(), encoding="utf-8")

    def issue(self, rider_id: str, scope: str = "swap", ttl_s: float = 300.0) -> str:
        """A signed code for ``rider_id`` (``scope`` swap, entry or both), valid for ``ttl_s`` seconds."""
        if scope not in SCOPE_NAMES:
            raise ValueError(f"scope must be one of {', '.join(sorted(SCOPE_NAMES))}, got {scope!r}")
        fields = RiderCode.issue(
            kid=KID, rider_id=rider_id, scopes=SCOPE_NAMES[scope], now=self.clock.wall(), ttl=timedelta(seconds=ttl_s)
        )
        return sign_code(fields, self._key)
