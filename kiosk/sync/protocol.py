"""Sync protocol v1 between a station and the city hub: the messages, as pydantic models both sides use.

- ``POST /v1/stations/{id}/events`` — body :class:`EventBatch` (gzip JSON), answer :class:`BatchAck`.
  Idempotent by event id: a batch sent twice stores each event once and acknowledges it both times.
- ``GET /v1/stations/{id}/bundle`` — answer :class:`Bundle`, with an ETag; ``If-None-Match`` gives 304.
- ``POST /v1/stations/{id}/heartbeat`` — body :class:`Heartbeat`, answer :class:`HeartbeatAck`.
- Errors are :class:`Problem` bodies. 429 and 503 carry ``Retry-After`` (seconds).

Every model refuses unknown fields on the way *in* at the hub (``extra="forbid"`` on requests) but the
station ignores unknown fields in answers (``extra="ignore"``), so a newer hub can add fields without
breaking older stations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from kiosk.core.events import EventRecord

PROTOCOL_VERSION = 1
MAX_BATCH_EVENTS = 5000
"""Most events in one batch; the station adapts its batch size up to this."""
MAX_BODY_BYTES = 8 * 1024 * 1024
"""Largest request body the hub accepts, compressed or not (8 MiB)."""

StationId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class Request(BaseModel):
    """A message the station sends: strict, so a malformed one is refused with a clear 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Answer(BaseModel):
    """A message the hub sends: lenient about fields added in later versions."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class EventBatch(Request):
    """Events of one station, in ``seq`` order."""

    protocol: Literal[1] = 1
    station_id: StationId
    events: Annotated[list[EventRecord], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]


class BatchAck(Answer):
    """What the hub did with a batch. Ids in neither list were not stored (the station resends them)."""

    accepted: list[str]
    """Ids stored by this request."""
    duplicates: list[str]
    """Ids the hub already had (stored by an earlier request whose answer may have been lost)."""
    high_water_seq: int
    """The highest seq up to which the hub has every event of this station without a gap."""


class Heartbeat(Request):
    """The station's status snapshot, sent periodically."""

    protocol: Literal[1] = 1
    station_id: StationId
    version: str
    boot_id: str
    mono: float
    wall: datetime
    wall_synced: bool
    uptime_s: float
    backlog: int
    """Events not yet acknowledged by the hub."""
    oldest_unsynced: datetime | None
    warnings: list[str]
    charged_batteries: int | None = None
    """Batteries ready to hand out now (for the nearby-stations view of other stations)."""
    status: dict[str, JsonValue] = {}
    """The rest of the station's status, as ``GET /api/status`` shows it, without null or empty members.

    Sent every few minutes and when the warnings change; ``{}`` in the heartbeats in between (idle traffic)."""


class HeartbeatAck(Answer):
    """The hub's answer to a heartbeat."""

    server_time: datetime


class KeyEntry(Answer):
    """A rider-code signing key the station should trust (same shape as a key set file entry)."""

    kid: str
    public_key: str
    """Raw 32-byte Ed25519 public key, base64."""
    valid_from: datetime
    valid_until: datetime | None = None


class NearbyStation(Answer):
    """Another station and its charged batteries, for riders this station cannot serve."""

    station_id: str
    name: str
    name_en: str
    distance_m: int
    charged_batteries: int
    updated_at: datetime
    latitude: float | None = None
    longitude: float | None = None


class Service(Answer):
    """One of the city's services shown on the station's screen."""

    id: str
    category: str
    """e.g. 'legal_aid', 'social_insurance', 'jobs', 'child_care', 'health'."""
    title_zh: str
    title_en: str
    body_zh: str = ""
    body_en: str = ""
    url: str | None = None
    """Where the rider continues on a phone (shown as a QR code)."""
    bookable: bool = False


class Announcement(Answer):
    """A notice shown on the idle screen between its dates."""

    id: str
    text_zh: str
    text_en: str
    starts: datetime | None = None
    ends: datetime | None = None


class Bundle(Answer):
    """Everything a station needs from the city to work offline until the next fetch."""

    protocol: Literal[1] = 1
    station_id: str
    generated_at: datetime
    config_overrides: dict[str, JsonValue] = {}
    """Policy settings the city sets for this station (``policy.<key>`` names); anything else is refused."""
    keys: list[KeyEntry] = []
    revoked_riders: list[str] = []
    services: list[Service] = []
    announcements: list[Announcement] = []
    nearby: list[NearbyStation] = []


class Problem(Answer):
    """An error answer: what went wrong, in plain words."""

    error: str
