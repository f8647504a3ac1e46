"""The city content file: ONE format for ``kiosk-hub content load`` and for ``kiosk sim``'s demo city.

A file of this shape (every key optional but what the reader needs)::

    {
      "about": "free text for people reading the file",
      "timezone": "Asia/Shanghai",
      "services": [
        {"id": "legal-1", "category": "legal_aid", "title_zh": "…", "title_en": "Legal aid", "bookable": true,
         "slots": [{"id": "legal-1-0310", "starts": "2026-03-10T14:00:00+08:00", "ends": "…"}],
         "slot_plan": {"days_ahead": 3, "local_times": ["10:00", "14:00"], "minutes": 30}}
      ],
      "announcements": [...], "catalogue": [...], "points_rules": [...],
      "slot_capacity": {"legal-1-0310": 3}, "default_slot_capacity": 1,
      "config_overrides": {"policy.max_swaps_per_day": 4}, "station_overrides": {"st-east-1": {...}},
      "location": {...}, "nearby": [...], "balances": [...]
    }

A service's slots are written out (``slots``), planned (``slot_plan``: these local times, in the file's
``timezone``, on each of the next days — made into slots when the file is read), or both. ``location``,
``nearby`` and ``balances`` stand in for what a hub knows by itself (its stations' places and batteries, its
riders' ledger): the simulator uses them, the hub reads and names them as not used.

Every level is strict: a key the format does not have is an error naming it, never dropped (the bundle's
models are lenient instead, so that an older station ignores what a newer hub adds).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from kiosk.core.content import Announcement, BookingSlot, CatalogueItem, Location, PointsRule, Service

NOT_FOR_THE_HUB = ("location", "nearby", "balances")
"""Keys only the simulator uses: a hub knows its stations' places and batteries, and its riders' points."""

_STRICT = ConfigDict(extra="forbid", frozen=True)


class SlotPlan(BaseModel):
    """When a bookable service can be booked: these local times on each of the next days."""

    model_config = _STRICT

    days_ahead: Annotated[int, Field(ge=1, le=14)]
    local_times: Annotated[list[time], Field(min_length=1)]
    minutes: Annotated[int, Field(ge=5, le=240)]
    place_zh: str = ""
    place_en: str = ""


def booking_slots(service_id: str, plan: SlotPlan, now: datetime, tz: ZoneInfo) -> list[BookingSlot]:
    """The plan's slots that start after ``now``: its local times today and on each of the next ``days_ahead`` days.

    Slot ids name the service, day and time (``legal-aid-consult-20261123-1400``), so the same slot keeps
    its id however often the plan is made into slots.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(tz).date()
    slots: list[BookingSlot] = []
    for offset in range(plan.days_ahead + 1):
        day = today + timedelta(days=offset)
        for at in sorted(plan.local_times):
            starts = datetime.combine(day, at, tzinfo=tz)
            if starts <= now:
                continue
            slots.append(
                BookingSlot(
                    id=f"{service_id}-{day:%Y%m%d}-{at:%H%M}",
                    starts=starts,
                    ends=starts + timedelta(minutes=plan.minutes),
                    place_zh=plan.place_zh,
                    place_en=plan.place_en,
                )
            )
    return slots


class FileSlot(BookingSlot):
    """A written-out booking slot (strict)."""

    model_config = _STRICT


class FileService(Service):
    """A service as the file writes it: its slots written out, planned, or both (strict)."""

    model_config = _STRICT

    slots: list[FileSlot] = Field(default_factory=list)  # type: ignore[assignment]  # the strict BookingSlot
    slot_plan: SlotPlan | None = None

    def service(self, now: datetime, tz: ZoneInfo | None) -> Service:
        """The service as stations get it: the plan made into slots from ``now`` (bookable then)."""
        data = self.model_dump(exclude={"slot_plan", "slots"})
        slots = [BookingSlot.model_validate(s.model_dump()) for s in self.slots]
        if self.slot_plan is not None:
            if tz is None:
                raise ValueError(f'service {self.id} has a slot_plan: the file needs "timezone" (e.g. "Asia/Shanghai")')
            slots += booking_slots(self.id, self.slot_plan, now, tz)
            data["bookable"] = True
        return Service.model_validate({**data, "slots": slots})


class FileAnnouncement(Announcement):
    """An announcement (strict)."""

    model_config = _STRICT


class FileCatalogueItem(CatalogueItem):
    """A catalogue item (strict)."""

    model_config = _STRICT


class FilePointsRule(PointsRule):
    """A points rule (strict)."""

    model_config = _STRICT


class FileLocation(Location):
    """A place (strict)."""

    model_config = _STRICT


class CityStation(BaseModel):
    """A nearby station where it is, with its charged batteries (the simulator's stand-in for the fleet)."""

    model_config = _STRICT

    station_id: str
    name: str
    name_en: str
    latitude: float
    longitude: float
    charged_batteries: Annotated[int, Field(ge=0)]


class CityBalance(BaseModel):
    """A demo rider's points as the city would know them (the simulator's stand-in for the hub's ledger)."""

    model_config = _STRICT

    rider_id: Annotated[str, Field(min_length=1, max_length=20)]
    balance: int


class CityFile(BaseModel):
    """The whole content file, as written (see the module docstring)."""

    model_config = _STRICT

    about: str = ""
    """Free text for the people who read the file."""
    timezone: str | None = None
    """The city's time zone (IANA name): what slot plans' local times mean. Needed when a service has one."""
    services: list[FileService] = []
    announcements: list[FileAnnouncement] = []
    catalogue: list[FileCatalogueItem] = []
    points_rules: list[FilePointsRule] = []
    slot_capacity: dict[str, Annotated[int, Field(ge=1)]] = {}
    default_slot_capacity: Annotated[int, Field(ge=1)] = 1
    config_overrides: dict[str, JsonValue] = {}
    station_overrides: dict[str, dict[str, JsonValue]] = {}
    location: FileLocation | None = None
    """The demo city's centre (simulator only: a hub has each station's registered place)."""
    nearby: list[CityStation] = []
    """Simulator only: a hub knows its own stations and their batteries."""
    balances: list[CityBalance] = []
    """Simulator only: a hub keeps its riders' points in its ledger."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not a time zone name (e.g. Asia/Shanghai)") from None
        return value

    def zone(self, fallback: ZoneInfo | None = None) -> ZoneInfo | None:
        """The file's time zone, or ``fallback`` when it names none."""
        return ZoneInfo(self.timezone) if self.timezone else fallback

    def services_at(self, now: datetime, fallback_zone: ZoneInfo | None = None) -> list[Service]:
        """Every service as stations get it, slot plans made into slots from ``now``. ValueError says what is wrong."""
        zone = self.zone(fallback_zone)
        return [s.service(now, zone) for s in self.services]

    def sim_only_keys(self) -> list[str]:
        """Which of :data:`NOT_FOR_THE_HUB` this file fills in."""
        return [key for key in NOT_FOR_THE_HUB if getattr(self, key)]

    def slot_plans(self) -> int:
        """How many services plan their slots."""
        return sum(1 for s in self.services if s.slot_plan is not None)
