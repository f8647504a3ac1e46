"""Building a station's bundle (pure): keys, revocations, content, overrides, nearby stations, the station's
place, the points catalogue and rules, riders' balances, bookings, the battery registry; and its ETag."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from hub.content import Content
from hub.storage import LatestHeartbeat, SigningKey, Station
from kiosk.core.battery_registry import BatteryRegistry
from kiosk.sync.protocol import BookingStatus, Bundle, Location, NearbyStation, RiderBalance, Service

NEARBY_LIMIT = 5
"""How many other stations a bundle lists."""
_EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Great-circle distance in whole metres (haversine: plenty for stations across a city)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a))))


def nearby(
    station: Station, stations: Sequence[Station], heartbeats: Mapping[str, LatestHeartbeat], limit: int = NEARBY_LIMIT
) -> list[NearbyStation]:
    """Other stations with a known place and a heartbeat that reported batteries, nearest first."""
    if station.latitude is None or station.longitude is None:
        return []
    found = []
    for other in stations:
        beat = heartbeats.get(other.id)
        if other.id == station.id or other.latitude is None or other.longitude is None or beat is None:
            continue
        if beat.heartbeat.charged_batteries is None:
            continue
        found.append(
            NearbyStation(
                station_id=other.id,
                name=other.name,
                name_en=other.name_en,
                distance_m=distance_m(station.latitude, station.longitude, other.latitude, other.longitude),
                charged_batteries=beat.heartbeat.charged_batteries,
                updated_at=beat.received_at,
                latitude=other.latitude,
                longitude=other.longitude,
            )
        )
    found.sort(key=lambda n: (n.distance_m, n.station_id))
    return found[:limit]


def open_services(content: Content, confirmed: Mapping[str, int], now: datetime) -> list[Service]:
    """The content's services, each with only the slots a rider can still ask for: not begun, not full.

    ``confirmed`` counts the confirmed bookings per slot id.
    """
    out = []
    for service in content.services:
        slots = [
            slot
            for slot in service.slots
            if slot.starts > now and confirmed.get(slot.id, 0) < content.capacity_of(slot.id)
        ]
        out.append(service if slots == service.slots else service.model_copy(update={"slots": slots}))
    return out


def build_bundle(
    station: Station,
    *,
    stations: Sequence[Station],
    heartbeats: Mapping[str, LatestHeartbeat],
    keys: Sequence[SigningKey],
    revoked: Sequence[str],
    content: Content,
    now: datetime,
    balances: Sequence[RiderBalance] = (),
    bookings: Sequence[BookingStatus] = (),
    confirmed: Mapping[str, int] | None = None,
    batteries: BatteryRegistry | None = None,
) -> Bundle:
    """The bundle for ``station`` as of ``now``.

    ``balances`` and ``bookings`` are the station's riders' (``rider_balances_for``, ``bookings_for``);
    ``confirmed`` counts confirmed bookings per slot, to leave full slots out; ``batteries`` is the
    registry as :meth:`hub.storage.Storage.bundle_registry` packs it.
    """
    place = None
    if station.latitude is not None and station.longitude is not None:
        place = Location(latitude=station.latitude, longitude=station.longitude)
    return Bundle(
        station_id=station.id,
        generated_at=now,
        config_overrides=content.overrides_for(station.id),
        keys=[key.entry() for key in keys],
        revoked_riders=list(revoked),
        services=open_services(content, confirmed or {}, now),
        announcements=content.announcements,
        nearby=nearby(station, stations, heartbeats),
        location=place,
        catalogue=content.catalogue,
        points_rules=content.points_rules,
        balances=list(balances),
        bookings=list(bookings),
        batteries=batteries,
    )


def bundle_etag(bundle: Bundle) -> str:
    """A strong ETag over everything but the times of generation, so an unchanged bundle keeps its tag."""
    text = bundle.model_dump_json(exclude={"generated_at": True, "balances": {"__all__": {"as_of"}}})
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (or ``*``); weak tags compare by their value."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
