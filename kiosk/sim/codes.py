"""Rider codes for the simulated station: a local signing key stands in for the city hub's.

The key and the station's key set live in the simulator's data folder; the simulator's API hands out
real signed codes with them, which the station then checks exactly as it checks the hub's. Like the
hub's, a code carries its rider's points balance as a snapshot when the simulator knows one (the demo
city's riders, :mod:`kiosk.sim.city`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.core.clock import Clock
from kiosk.core.ridercode import (
    SCOPE_NAMES,
    PointsCover,
    RiderCode,
    generate_key,
    public_key_to_b64,
    read_private_key,
    sign_code,
    write_private_key,
)
from kiosk.station.codes import KeyInfo, KeySet
from kiosk.sync.protocol import KeyEntry

KID = "sim1"
KEY_VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)


class SimCodeIssuer:
    """Signs rider codes with the simulator's key (made on first use) and keeps the key set beside it."""

    def __init__(self, folder: Path, clock: Clock, balances: Mapping[str, int] | None = None) -> None:
        self.clock = clock
        self.balances: dict[str, int] = dict(balances or {})
        """Rider id -> points balance their codes carry as a snapshot (riders not here carry none)."""
        self.key_file = folder / f"{KID}.key"
        self.keyset_file = folder / "keyset.json"
        folder.mkdir(parents=True, exist_ok=True)
        if not self.key_file.exists():
            write_private_key(self.key_file, generate_key())
        self._key = read_private_key(self.key_file)
        self.public_key_b64 = public_key_to_b64(self._key.public_key())
        info = KeyInfo(KID, self.public_key_b64, KEY_VALID_FROM)
        self.keyset_file.write_text(KeySet([info]).to_json(), encoding="utf-8")

    def key_entry(self) -> KeyEntry:
        """The simulator's key as a hub bundle lists it (a bundle's keys replace the station's key set)."""
        return KeyEntry(kid=KID, public_key=self.public_key_b64, valid_from=KEY_VALID_FROM)

    def issue(self, rider_id: str, scope: str = "swap", ttl_s: float = 300.0) -> str:
        """A signed code for ``rider_id`` (``scope`` swap, entry or both), valid for ``ttl_s`` seconds.

        It carries the rider's balance from :attr:`balances` as its points snapshot, if there is one.
        """
        points = self.balances.get(rider_id)
        if scope not in SCOPE_NAMES:
            raise ValueError(f"scope must be one of {', '.join(sorted(SCOPE_NAMES))}, got {scope!r}")
        fields = RiderCode.issue(
            kid=KID,
            rider_id=rider_id,
            scopes=SCOPE_NAMES[scope],
            now=self.clock.wall(),
            ttl=timedelta(seconds=ttl_s),
            points=points,
            # The simulator's balances are fixed: they hold none of any station's moves, so the station adds
            # all of its own on top (an empty, complete points cover; RK2).
            covers=PointsCover() if points is not None else None,
        )
        return sign_code(fields, self._key)
