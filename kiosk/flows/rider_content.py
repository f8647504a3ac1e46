"""The city content the rider desk holds from the last bundle, and the views of it the touchscreen reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kiosk.api.rider import RiderNotFound
from kiosk.api.rider_models import CatalogueOffer, StationContent
from kiosk.core.content import Announcement, CatalogueItem, Location, NearbyStation, PointsRule, Service
from kiosk.station.points import BalanceSource, KnownBalance
from kiosk.sync.protocol import Bundle, PointsCorrection, RiderBalance


@dataclass(frozen=True)
class CityContent:
    """What one bundle said: services, announcements, nearby stations, catalogue, rules, riders' balances."""

    services: list[Service] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)
    nearby: list[NearbyStation] = field(default_factory=list)
    location: Location | None = None
    catalogue: list[CatalogueItem] = field(default_factory=list)
    points_rules: list[PointsRule] = field(default_factory=list)
    balances: dict[str, RiderBalance] = field(default_factory=dict)
    bundle_at: datetime | None = None
    """When the hub made the bundle (None: the station never had one)."""

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> CityContent:
        """The content of ``bundle`` (nearby stations nearest first)."""
        return cls(
            services=list(bundle.services),
            announcements=list(bundle.announcements),
            nearby=sorted(bundle.nearby, key=lambda n: n.distance_m),
            location=bundle.location,
            catalogue=list(bundle.catalogue),
            points_rules=list(bundle.points_rules),
            balances={b.rider_id: b for b in bundle.balances},
            bundle_at=bundle.generated_at,
        )

    def for_screen(self, stock: dict[str, int], now: datetime) -> StationContent:
        """``GET /api/content``: current announcements only, and the catalogue with ``stock`` (item → count)."""
        return StationContent(
            services=self.services,
            announcements=[a for a in self.announcements if is_current(a, now)],
            nearby=self.nearby,
            location=self.location,
            catalogue=[CatalogueOffer(**item.model_dump(), in_stock=stock.get(item.id, 0)) for item in self.catalogue],
            points_rules=self.points_rules,
            bundle_at=self.bundle_at,
        )

    def service(self, service_id: str) -> Service:
        """The service ``service_id``; ``RiderNotFound`` when the city offers none by that id."""
        service = next((s for s in self.services if s.id == service_id), None)
        if service is None:
            raise RiderNotFound(f"there is no service {service_id!r} at this station")
        return service

    def item(self, item_id: str) -> CatalogueItem | None:
        """The catalogue item ``item_id`` (None: not offered)."""
        return next((i for i in self.catalogue if i.id == item_id), None)

    def balance(self, rider_id: str) -> KnownBalance | None:
        """The hub's balance of ``rider_id`` in the bundle, if it has one."""
        bundled = self.balances.get(rider_id)
        if bundled is None:
            return None
        return KnownBalance(bundled.balance, bundled.as_of, BalanceSource.BUNDLE, bundled.station_seq)

    def corrections(self, rider_id: str) -> list[PointsCorrection]:
        """The rider's spends the hub rejected lately."""
        bundled = self.balances.get(rider_id)
        return list(bundled.corrections) if bundled is not None else []


def is_current(announcement: Announcement, now: datetime) -> bool:
    """Whether ``announcement`` is to be shown at ``now``."""
    if announcement.starts is not None and now < announcement.starts:
        return False
    return announcement.ends is None or now < announcement.ends
