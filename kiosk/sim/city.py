"""The demo city of ``kiosk sim``: a believable hub bundle for a station that has no hub.

``sim_city.json`` (package data) is a city content file (:mod:`kiosk.core.city_file`, the format
``kiosk-hub content load`` reads too) holding the city as a hub would serve it: five service families in
Chinese and English with links for the phone, announcements, nearby stations with coordinates, the
points catalogue and rules, and a few demo riders' balances. What cannot be written down once is made
here from the simulator's clock: the legal-aid consultation slots (always in the coming days), when
balances and nearby stations' figures were current, and each nearby station's distance.

:func:`city_bundle` is a pure function of the file, the clock's time and the station's key entries;
:func:`seed_sim_station` puts the bundle into effect the way a bundle from the hub is (``Station.apply_bundle``)
and fills the goods bays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from kiosk.core.battery_registry import PackRow, encode_registry
from kiosk.core.city_file import CityFile, CityStation, SlotPlan, booking_slots  # noqa: F401 - the last two re-exported
from kiosk.core.clock import Clock
from kiosk.core.config import Config
from kiosk.core.content import Announcement, CatalogueItem, Location, NearbyStation, PointsRule
from kiosk.core.errors import ConfigError
from kiosk.core.events import Event
from kiosk.core.hardware import BayConfig
from kiosk.sync.protocol import Bundle, KeyEntry, RiderBalance

CITY_FILE = "sim_city.json"
"""The demo city, beside this module (package data of ``kiosk.sim``)."""
EARTH_RADIUS_M = 6_371_000.0
DEFAULT_STOCK = 5
"""How many items each goods bay holds when the simulator starts."""


SimCity = CityFile
"""The demo city file is a city content file, the format ``kiosk-hub content load`` reads."""


def load_city(text: str | None = None) -> SimCity:
    """The demo city from ``text`` (JSON), by default the packaged ``sim_city.json``; ConfigError if malformed."""
    if text is None:
        try:
            text = resources.files("kiosk.sim").joinpath(CITY_FILE).read_text(encoding="utf-8")
        except OSError as exc:  # a build that left the package data out
            raise ConfigError(
                f"the simulator's demo city ({CITY_FILE}) is missing from the installed package: {exc}"
            ) from exc
    try:
        data: Any = json.loads(text)
        return SimCity.model_validate(data)
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ConfigError(f"the simulator's demo city ({CITY_FILE}) is not valid: {exc}") from exc


def distance_m(a: Location, b: Location) -> int:
    """Great-circle distance between two places, in whole metres (haversine)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(h)))


def _nearby(entry: CityStation, here: Location, now: datetime) -> NearbyStation:
    there = Location(latitude=entry.latitude, longitude=entry.longitude)
    return NearbyStation(
        station_id=entry.station_id,
        name=entry.name,
        name_en=entry.name_en,
        distance_m=distance_m(here, there),
        charged_batteries=entry.charged_batteries,
        updated_at=now,
        latitude=entry.latitude,
        longitude=entry.longitude,
    )


def city_bundle(
    station_id: str,
    now: datetime,
    tz: ZoneInfo,
    keys: Sequence[KeyEntry],
    city: SimCity | None = None,
    packs: Sequence[PackRow] = (),
) -> Bundle:
    """The bundle a hub would send ``station_id`` at ``now`` for the demo city.

    ``keys`` must hold the simulator's signing key: a bundle's key set replaces the station's, so
    without it no simulated rider code would be accepted after the bundle is applied. ``packs`` is the
    battery registry (the simulated cabinet's ``registry_rows``; none: the bundle carries no registry).
    """
    city = city if city is not None else load_city()
    if city.location is None:
        raise ConfigError(f'the simulator\'s demo city ({CITY_FILE}) needs a "location" (the city centre)')
    here = Location(latitude=city.location.latitude, longitude=city.location.longitude)
    try:
        services = city.services_at(now, tz)
    except ValueError as exc:
        raise ConfigError(f"the simulator's demo city ({CITY_FILE}) is not valid: {exc}") from None
    return Bundle(
        station_id=station_id,
        generated_at=now,
        config_overrides={**city.config_overrides, **city.station_overrides.get(station_id, {})},
        keys=list(keys),
        services=services,
        announcements=[Announcement.model_validate(a.model_dump()) for a in city.announcements],
        nearby=sorted((_nearby(n, here, now) for n in city.nearby), key=lambda n: n.distance_m),
        location=here,
        catalogue=[CatalogueItem.model_validate(c.model_dump()) for c in city.catalogue],
        points_rules=[PointsRule.model_validate(r.model_dump()) for r in city.points_rules],
        balances=[
            RiderBalance(rider_id=b.rider_id, balance=b.balance, station_seq=0, as_of=now) for b in city.balances
        ],
        batteries=encode_registry(packs) if packs else None,
    )


def demo_balances(city: SimCity | None = None) -> dict[str, int]:
    """The demo riders' points by rider id (what the simulator's rider codes carry as their snapshot)."""
    city = city if city is not None else load_city()
    return {b.rider_id: b.balance for b in city.balances}


def goods_bays(bays: Sequence[BayConfig]) -> dict[int, str]:
    """Bay number -> catalogue item id of the configured goods bays (``[[hardware.bays]] goods``)."""
    return {bay.number: bay.goods for bay in bays if bay.goods is not None}


class GoodsDesk(Protocol):
    """What seeding needs of the station's rider desk (``kiosk.flows.rider_desk.RiderDesk``)."""

    def restock(self, bay: int, count: int, audit: Event | None) -> None:
        """Set a goods bay's stock."""


class SeedableStation(Protocol):
    """What seeding needs of the station (``kiosk.app.station.Station``)."""

    @property
    def config(self) -> Config:
        """The station's config (with the simulator's hardware)."""

    @property
    def clock(self) -> Clock:
        """The station's clock."""

    @property
    def rider(self) -> GoodsDesk:
        """The rider desk."""

    def apply_bundle(self, bundle: Bundle) -> None:
        """Check and put a bundle into effect, as the sync relay does with the hub's."""


def seed_sim_station(
    station: SeedableStation, keys: Sequence[KeyEntry], *, stock: int = DEFAULT_STOCK, packs: Sequence[PackRow] = ()
) -> Mapping[int, str]:
    """Put the demo city into effect on a started simulated station and fill its goods bays with ``stock`` each.

    The bundle goes through ``Station.apply_bundle``, the path a hub's bundle takes. Returns the goods
    bays it filled (bay -> item id).
    """
    config = station.config
    bundle = city_bundle(config.station.id, station.clock.wall(), ZoneInfo(config.station.timezone), keys, packs=packs)
    station.apply_bundle(bundle)
    filled = goods_bays(config.hardware.bays)
    for bay in sorted(filled):
        station.rider.restock(bay, stock, None)
    return filled
