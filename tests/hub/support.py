"""Helpers for the hub's tests: hand-made event records and posting them."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from kiosk.core.events import EventRecord

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def event_id(station: str, seq: int, boot: str = "boot-1") -> str:
    """A stable, unique UUID-shaped id per (station, boot, seq)."""
    prefix = hashlib.sha256(f"{station}/{boot}".encode()).hexdigest()[:8]
    return f"{prefix}-0000-7000-8000-{seq:012d}"


def record(
    station: str,
    seq: int,
    *,
    type_: str = "station.started",
    payload: dict[str, Any] | None = None,
    boot: str = "boot-1",
    mono: float | None = None,
    wall: datetime | None = None,
    synced: bool = True,
) -> EventRecord:
    """One event record; by default synced, one second apart per seq from :data:`T0`."""
    return EventRecord(
        id=event_id(station, seq, boot),
        station_id=station,
        seq=seq,
        type=type_,
        payload=payload if payload is not None else {"version": "test"},
        boot_id=boot,
        mono=mono if mono is not None else 100.0 + seq,
        wall=wall or T0 + timedelta(seconds=seq),
        wall_synced=synced,
    )


def records(station: str, seqs: Iterable[int], **kw: Any) -> list[EventRecord]:
    """Records for each seq."""
    return [record(station, s, **kw) for s in seqs]


def batch_body(station: str, events: list[EventRecord]) -> bytes:
    """The JSON of an EventBatch."""
    return json.dumps(
        {"protocol": 1, "station_id": station, "events": [e.model_dump(mode="json") for e in events]}
    ).encode()


def post_events(
    base: str, token: str, station: str, events: list[EventRecord], *, compress: bool = True
) -> requests.Response:
    """POST a batch the way a station does (gzip JSON, bearer token)."""
    body = batch_body(station, events)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if compress:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return requests.post(f"{base}/v1/stations/{station}/events", data=body, headers=headers, timeout=30)


def heartbeat(
    station: str, *, charged: int | None = 3, backlog: int = 0, warnings: list[str] | None = None
) -> dict[str, Any]:
    """A heartbeat body."""
    return {
        "station_id": station,
        "version": "0.1.0",
        "boot_id": "boot-1",
        "mono": 1234.5,
        "wall": "2026-03-10T09:29:00Z",
        "wall_synced": True,
        "uptime_s": 3600,
        "backlog": backlog,
        "oldest_unsynced": None,
        "warnings": warnings or [],
        "charged_batteries": charged,
    }
