"""The city's content and an identified rider as core's API would give them to the UI tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kiosk.api.rider_models import CatalogueOffer, RiderBooking, RiderCorrection, RiderView, StationContent
from kiosk.core.content import BookingSlot, Location, NearbyStation, Service

AT = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
HERE = Location(latitude=31.1880, longitude=121.4370)

NEARBY = [
    NearbyStation(
        station_id="sh-xuhui-002",
        name="漕溪北路驿站",
        name_en="Caoxi North Rd Station",
        distance_m=640,
        charged_batteries=5,
        updated_at=AT,
        latitude=31.1925,
        longitude=121.4390,
    ),
    NearbyStation(
        station_id="sh-xuhui-007",
        name="徐家汇地铁站驿站",
        name_en="Xujiahui Metro Station",
        distance_m=1830,
        charged_batteries=2,
        updated_at=AT,
        latitude=31.1950,
        longitude=121.4540,
    ),
    NearbyStation(
        station_id="sh-xuhui-009",
        name="龙华驿站",
        name_en="Longhua Station",
        distance_m=2400,
        charged_batteries=0,
        updated_at=AT,
        latitude=31.1700,
        longitude=121.4450,
    ),
    NearbyStation(
        station_id="sh-xuhui-011",
        name="田林驿站",
        name_en="Tianlin Station",
        distance_m=3100,
        charged_batteries=7,
        updated_at=AT,
    ),
]

SLOTS = [
    BookingSlot(
        id="slot-1",
        starts=datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
        ends=datetime(2026, 11, 24, 6, 30, tzinfo=UTC),
        place_zh="徐汇法律服务站",
        place_en="Xuhui Legal Office",
    ),
    BookingSlot(
        id="slot-2",
        starts=datetime(2026, 11, 25, 7, 0, tzinfo=UTC),
        ends=datetime(2026, 11, 25, 7, 30, tzinfo=UTC),
        place_zh="徐汇法律服务站",
        place_en="Xuhui Legal Office",
    ),
]

SERVICES = [
    Service(
        id="legal-consult",
        category="legal_aid",
        title_zh="免费法律咨询",
        title_en="Free legal consultation",
        body_zh="劳动合同、工伤、欠薪问题，律师一对一解答，每次30分钟。",
        body_en="Labour contracts, work injuries, unpaid wages: a lawyer answers you in person, 30 minutes.",
        url="https://city.example/legal/consult",
        bookable=True,
        slots=SLOTS,
    ),
    Service(
        id="injury-insurance",
        category="social_insurance",
        title_zh="骑手职业伤害保障",
        title_en="Occupational injury cover for riders",
        body_zh="了解如何参保、如何报案。",
        body_en="How to join and how to report an injury.",
        url="https://city.example/insurance",
    ),
    Service(
        id="jobs-board",
        category="jobs",
        title_zh="附近招聘信息",
        title_en="Jobs nearby",
        body_zh="本区最新岗位。",
        body_en="The latest openings in this district.",
        url="https://city.example/jobs",
    ),
    Service(
        id="after-school",
        category="child_care",
        title_zh="课后托管",
        title_en="After-school care",
        body_zh="社区课后托管，下午3点到7点。",
        body_en="Community after-school care, 3 to 7 pm.",
    ),
    Service(
        id="health-check",
        category="health",
        title_zh="免费体检",
        title_en="Free health check",
        body_zh="每月第一个周六，社区卫生中心。",
        body_en="First Saturday of the month, community health centre.",
        url="https://city.example/health",
    ),
]

CATALOGUE = [
    CatalogueOffer(id="water", name_zh="矿泉水", name_en="Water", points=10, in_stock=4),
    CatalogueOffer(id="snack", name_zh="能量棒", name_en="Energy bar", points=20, in_stock=0),
    CatalogueOffer(
        id="cable", name_zh="充电线（借用）", name_en="Charging cable (loan)", points=5, kind="loan", in_stock=2
    ),
]

CONTENT = StationContent(services=SERVICES, nearby=NEARBY, location=HERE, catalogue=CATALOGUE, bundle_at=AT)

RIDER = RiderView(
    rider_id="R-1024",
    purpose="points",
    balance=120,
    balance_as_of=AT,
    pending=15,
    offline_cap_left=30,
    corrections=[
        RiderCorrection(
            entry_id="e-00000001", station_id="sh-xuhui-002", item_id="water", points=10, at=AT, reason="double spend"
        )
    ],
    bookings=[
        RiderBooking(
            booking_id="b-00000001",
            service_id="legal-consult",
            slot_id="slot-1",
            starts=SLOTS[0].starts,
            status="confirmed",
            note="Room 3",
        ),
        RiderBooking(
            booking_id="b-00000002",
            service_id="legal-consult",
            slot_id="slot-2",
            starts=SLOTS[1].starts,
            status="requested",
        ),
    ],
    expires_in_s=120.0,
)


def rider_screen(purpose: str, balance: int | None = 120) -> tuple[str, dict[str, Any]]:
    """Core's ``rider`` screen for ``purpose``."""
    return "rider", {"rider_id": "R-1024", "purpose": purpose, "balance": balance}
