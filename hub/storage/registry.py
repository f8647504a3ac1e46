"""Stations and their tokens, latest heartbeats, API keys with their roles, operators."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.auth import ApiKey, ApiRole, dummy_password_hash, hash_password, new_token, password_matches, token_hash
from hub.storage.base import StorageBase, from_iso, iso
from hub.storage.events import UnknownStation
from kiosk.core.errors import StoreError
from kiosk.sync.protocol import Heartbeat

STATION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
"""The station id form of the protocol (``StationId``)."""


class AlreadyExists(StoreError):
    """Something with that name is already registered."""


@dataclass(frozen=True)
class Station:
    """A registered station and what the hub knows of its events."""

    id: str
    name: str
    name_en: str
    latitude: float | None
    longitude: float | None
    created_at: datetime
    first_seq: int | None
    high_water_seq: int
    max_seq: int
    event_count: int
    last_event_at: datetime | None


@dataclass(frozen=True)
class LatestHeartbeat:
    """A station's latest status snapshot and when it arrived."""

    station_id: str
    received_at: datetime
    heartbeat: Heartbeat


_STATION_COLUMNS = (
    "id, name, name_en, latitude, longitude, created_at, first_seq, high_water_seq, max_seq, event_count, last_event_at"
)


def _station(row: tuple[Any, ...]) -> Station:
    sid, name, name_en, lat, lon, created, first, hw, mx, count, last = row
    return Station(
        id=sid,
        name=name,
        name_en=name_en,
        latitude=None if lat is None else float(lat),
        longitude=None if lon is None else float(lon),
        created_at=from_iso(created),
        first_seq=None if first is None else int(first),
        high_water_seq=int(hw),
        max_seq=int(mx),
        event_count=int(count),
        last_event_at=None if last is None else from_iso(last),
    )


class RegistryMixin(StorageBase):
    """Stations, tokens, heartbeats, API keys and operators."""

    def add_station(
        self, station_id: str, *, name: str, name_en: str, latitude: float | None = None, longitude: float | None = None
    ) -> str:
        """Register a station; returns its new token (shown once: only its hash is kept)."""
        if not STATION_ID_RE.match(station_id):
            raise ValueError(
                f"station id {station_id!r} must be 2-63 lower-case letters, digits or '-',"
                " starting with a letter or digit"
            )
        if (latitude is None) != (longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        token = new_token()
        with self.db.transaction() as tx:
            if tx.one("SELECT 1 FROM stations WHERE id = ?", (station_id,)):
                raise AlreadyExists(f"station {station_id!r} is already registered")
            tx.execute(
                "INSERT INTO stations (id, name, name_en, latitude, longitude, token_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (station_id, name, name_en, latitude, longitude, token_hash(token), iso(self.now())),
            )
        return token

    def new_station_token(self, station_id: str) -> str:
        """Replace a station's token (the old one stops working at once); returns the new one."""
        token = new_token()
        with self.db.transaction() as tx:
            if not tx.execute(
                "UPDATE stations SET token_hash = ? WHERE id = ? RETURNING id", (token_hash(token), station_id)
            ):
                raise UnknownStation(f"no station {station_id!r} is registered")
        return token

    def station_for_token(self, token: str) -> str | None:
        """The id of the station this token belongs to, or None.

        Looking up by the hash is safe: the token is 256 random bits, so knowing whether some hash is
        stored tells an attacker nothing they can use (see :mod:`hub.auth`).
        """
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT id FROM stations WHERE token_hash = ?", (token_hash(token),))
        return None if row is None else str(row[0])

    def stations(self) -> list[Station]:
        """Every registered station, by id."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(f"SELECT {_STATION_COLUMNS} FROM stations ORDER BY id")  # noqa: S608 - only placeholders and constants are put in
        return [_station(r) for r in rows]

    def station(self, station_id: str) -> Station:
        """One station (:class:`UnknownStation` if it is not registered)."""
        with self.db.transaction(write=False) as tx:
            row = tx.one(f"SELECT {_STATION_COLUMNS} FROM stations WHERE id = ?", (station_id,))  # noqa: S608 - only placeholders and constants are put in
        if row is None:
            raise UnknownStation(f"no station {station_id!r} is registered")
        return _station(row)

    # --- heartbeats ------------------------------------------------------------------------------

    def record_heartbeat(self, heartbeat: Heartbeat) -> datetime:
        """Keep ``heartbeat`` as the station's latest status; returns when it was received.

        Stations send their full status only every few minutes (an empty ``status`` in between keeps
        idle traffic low), so an empty one keeps the full status last received.
        """
        now = self.now()
        with self.db.transaction() as tx:
            if not heartbeat.status:
                rows = tx.execute("SELECT body FROM heartbeats WHERE station_id = ?", (heartbeat.station_id,))
                if rows:
                    previous = Heartbeat.model_validate(json.loads(rows[0][0]))
                    heartbeat = heartbeat.model_copy(update={"status": previous.status})
            tx.execute(
                "INSERT INTO heartbeats (station_id, received_at, body) VALUES (?, ?, ?)"
                " ON CONFLICT (station_id) DO UPDATE SET received_at = excluded.received_at, body = excluded.body",
                (heartbeat.station_id, iso(now), heartbeat.model_dump_json()),
            )
        return now

    def heartbeats(self) -> dict[str, LatestHeartbeat]:
        """Every station's latest heartbeat, by station id."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute("SELECT station_id, received_at, body FROM heartbeats")
        return {
            sid: LatestHeartbeat(sid, from_iso(at), Heartbeat.model_validate(json.loads(body)))
            for sid, at, body in rows
        }

    # --- API keys (rider app, monitors, operators' scripts) --------------------------------------------

    def add_api_key(self, name: str, role: ApiRole = ApiRole.CODES, *, operator: str | None = None) -> str:
        """Create an API key with one role; returns it (shown once: only its hash is kept).

        An ``operator`` key must name an existing operator: what it does is recorded as theirs.
        """
        if not name or "\x00" in name:
            raise ValueError("an API key needs a name (without NUL characters)")
        if (role is ApiRole.OPERATOR) != (operator is not None):
            raise ValueError("an operator key needs --operator NAME, and only an operator key takes one")
        key = new_token()
        with self.db.transaction() as tx:
            if tx.one("SELECT 1 FROM api_keys WHERE name = ?", (name,)):
                raise AlreadyExists(f"an API key named {name!r} exists already")
            if operator is not None and not tx.one("SELECT 1 FROM operators WHERE name = ?", (operator,)):
                raise ValueError(f"there is no operator {operator!r} (add them first: kiosk-hub operator add)")
            tx.execute(
                "INSERT INTO api_keys (name, key_hash, created_at, role, operator) VALUES (?, ?, ?, ?, ?)",
                (name, token_hash(key), iso(self.now()), role.value, operator),
            )
        return key

    def api_key(self, key: str) -> ApiKey | None:
        """The API key ``key`` (name, role, operator), or None when it is not one."""
        with self.db.transaction(write=False) as tx:
            row = tx.one("SELECT name, role, operator FROM api_keys WHERE key_hash = ?", (token_hash(key),))
        if row is None:
            return None
        return ApiKey(str(row[0]), ApiRole(row[1]), None if row[2] is None else str(row[2]))

    def api_key_name(self, key: str) -> str | None:
        """The name of the API key ``key``, or None when it is not one."""
        found = self.api_key(key)
        return None if found is None else found.name

    def api_keys(self) -> list[ApiKey]:
        """Every API key, by name."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute("SELECT name, role, operator FROM api_keys ORDER BY name")
        return [ApiKey(str(n), ApiRole(r), None if o is None else str(o)) for n, r, o in rows]

    def remove_api_key(self, name: str) -> bool:
        """Delete an API key (it stops working at once); False if there was none of that name."""
        with self.db.transaction() as tx:
            return bool(tx.execute("DELETE FROM api_keys WHERE name = ? RETURNING name", (name,)))

    # --- operators ---------------------------------------------------------------------------------

    def set_operator(self, name: str, password: str) -> None:
        """Add an operator for the fleet view, or change their password."""
        if not name or ":" in name:
            raise ValueError("an operator name must be non-empty and must not contain ':'")
        if len(password) < 8:
            raise ValueError("an operator password must be at least 8 characters long")
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO operators (name, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
                (name, hash_password(password), iso(self.now())),
            )
            # A new password signs the operator out everywhere (a stolen session ends with it).
            tx.execute("DELETE FROM operator_sessions WHERE operator = ?", (name,))

    def operator_ok(self, name: str, password: str) -> bool:
        """Whether ``name`` is an operator with that password.

        An unknown name is checked against a dummy hash, so it takes as long as a wrong password.
        """
        stored = None
        if "\x00" not in name and "\x00" not in password:  # PostgreSQL text refuses NUL; no stored name has one
            with self.db.transaction(write=False) as tx:
                row = tx.one("SELECT password_hash FROM operators WHERE name = ?", (name,))
            stored = None if row is None else str(row[0])
        matches = password_matches(password, stored if stored is not None else dummy_password_hash())
        return stored is not None and matches
