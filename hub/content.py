"""The city's content: services, announcements, points catalogue and rules, policy overrides.

``kiosk-hub content load FILE.json`` reads the city content file (:mod:`kiosk.core.city_file`, the one
format the hub and ``kiosk sim``'s demo city share: slot plans, a time zone, and the simulator's stand-ins
``location``, ``nearby``, ``balances`` — named as not used by the hub). :class:`Content` is what the hub
keeps and serves, slot plans made into slots; written out, it is itself a content file::

    {
      "services": [
        {"id": "legal-1", "category": "legal_aid", "title_zh": "…", "title_en": "Legal aid", "bookable": true,
         "slots": [{"id": "legal-1-0310", "starts": "2026-03-10T14:00:00+08:00", "ends": "2026-03-10T14:30:00+08:00"}]}
      ],
      "announcements": [{"id": "a1", "text_zh": "…", "text_en": "Road works", "ends": "2026-03-01T00:00:00Z"}],
      "catalogue": [{"id": "water", "name_zh": "矿泉水", "name_en": "Water", "points": 5}],
      "points_rules": [{"id": "checkin", "points": 2, "per_day": 1}],
      "slot_capacity": {"legal-1-0310": 3},
      "default_slot_capacity": 1,
      "config_overrides": {"policy.max_swaps_per_day": 4},
      "station_overrides": {"st-east-1": {"policy.max_swaps_per_day": 6}}
    }

A slot takes ``default_slot_capacity`` confirmed bookings unless ``slot_capacity`` names it; a full slot
(or one already begun) is left out of the bundles. Slot ids are unique across all services.

Loading replaces the whole content at once, so a station never gets half of an old file and half of a
new one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator, model_validator

from kiosk.core.city_file import CityFile
from kiosk.core.errors import ConfigError
from kiosk.sync.protocol import Announcement, BookingSlot, CatalogueItem, PointsRule, Service


def _check_policy_keys(overrides: dict[str, JsonValue]) -> dict[str, JsonValue]:
    wrong = [key for key in overrides if not key.startswith("policy.") or key == "policy."]
    if wrong:
        raise ValueError(f"only policy.<key> settings can be set by the city, not {', '.join(sorted(wrong))}")
    return overrides


def _twice(what: str, ids: Iterable[str]) -> None:
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise ValueError(f"each {what} id must be used once, but {', '.join(repeated)} appear more than once")


class Content(BaseModel):
    """Services, announcements, catalogue, points rules and policy overrides, as loaded from the content file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    services: list[Service] = []
    announcements: list[Announcement] = []
    catalogue: list[CatalogueItem] = []
    """What riders can spend points on at the stations."""
    points_rules: list[PointsRule] = []
    """What stations credit points for; the hub applies each rule's ``per_day`` limit."""
    slot_capacity: dict[str, Annotated[int, Field(ge=1)]] = {}
    """Per slot id, how many bookings of it can be confirmed (others take ``default_slot_capacity``)."""
    default_slot_capacity: Annotated[int, Field(ge=1)] = 1
    """How many bookings of a slot can be confirmed when ``slot_capacity`` does not name it."""
    config_overrides: dict[str, JsonValue] = {}
    """``policy.<key>`` settings for every station."""
    station_overrides: dict[str, dict[str, JsonValue]] = {}
    """Per station id, ``policy.<key>`` settings that win over ``config_overrides``."""

    @field_validator("config_overrides")
    @classmethod
    def _policy_only(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        return _check_policy_keys(value)

    @field_validator("station_overrides")
    @classmethod
    def _policy_only_per_station(cls, value: dict[str, dict[str, JsonValue]]) -> dict[str, dict[str, JsonValue]]:
        for overrides in value.values():
            _check_policy_keys(overrides)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _twice("service", (s.id for s in self.services))
        _twice("slot", (slot.id for s in self.services for slot in s.slots))
        _twice("announcement", (a.id for a in self.announcements))
        _twice("catalogue item", (c.id for c in self.catalogue))
        _twice("points rule", (r.id for r in self.points_rules))
        for service in self.services:
            if service.slots and not service.bookable:
                raise ValueError(f'service {service.id} has slots but is not bookable (set "bookable": true)')
            for slot in service.slots:
                if slot.ends <= slot.starts:
                    raise ValueError(f"slot {slot.id} of service {service.id} ends before it starts")
        unknown = sorted(set(self.slot_capacity) - {slot.id for s in self.services for slot in s.slots})
        if unknown:
            raise ValueError(f"slot_capacity names slots no service has: {', '.join(unknown)}")
        return self

    def overrides_for(self, station_id: str) -> dict[str, JsonValue]:
        """The policy overrides one station gets."""
        return {**self.config_overrides, **self.station_overrides.get(station_id, {})}

    def capacity_of(self, slot_id: str) -> int:
        """How many bookings of ``slot_id`` can be confirmed."""
        return self.slot_capacity.get(slot_id, self.default_slot_capacity)

    def find_slot(self, service_id: str, slot_id: str) -> BookingSlot | None:
        """The slot ``slot_id`` of the bookable service ``service_id``, or None when there is no such slot."""
        for service in self.services:
            if service.id == service_id and service.bookable:
                return next((slot for slot in service.slots if slot.id == slot_id), None)
        return None

    def rule(self, rule_id: str) -> PointsRule | None:
        """The points rule ``rule_id``, or None."""
        return next((r for r in self.points_rules if r.id == rule_id), None)


def content_from_file(city: CityFile, now: datetime) -> Content:
    """The content a file says, slot plans made into slots from ``now``.

    Raises ``ValueError`` (a slot plan without the file's ``timezone``) or ``ValidationError``.
    """
    return Content(
        services=city.services_at(now),
        announcements=[Announcement.model_validate(a.model_dump()) for a in city.announcements],
        catalogue=[CatalogueItem.model_validate(c.model_dump()) for c in city.catalogue],
        points_rules=[PointsRule.model_validate(r.model_dump()) for r in city.points_rules],
        slot_capacity=city.slot_capacity,
        default_slot_capacity=city.default_slot_capacity,
        config_overrides=city.config_overrides,
        station_overrides=city.station_overrides,
    )


def read_content_file(path: Path, now: datetime | None = None) -> Content:
    """Read and check a content file; :class:`ConfigError` says what is wrong, in plain words."""
    return load_content_file(path, now or datetime.now(UTC))[0]


def load_content_file(path: Path, now: datetime) -> tuple[Content, CityFile]:
    """The content of a file (slot plans made into slots from ``now``) and the file as written.

    :class:`ConfigError` says what is wrong, in plain words: an unknown key by its place and name.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"content file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read content file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"content file {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        city = CityFile.model_validate(data)
        return content_from_file(city, now), city
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {_plain(e['msg'])}" for e in exc.errors()]
        raise ConfigError(f"content file {path} does not fit", problems) from None
    except ValueError as exc:
        raise ConfigError(f"content file {path} does not fit", [str(exc)]) from None


def _plain(message: str) -> str:
    """Pydantic's message without its "Value error, " prefix; "Field required" and extra keys said plainly."""
    if message == "Extra inputs are not permitted":
        return "unknown key: not a key of the content format (see kiosk/core/city_file.py)"
    return "is missing" if message == "Field required" else message.removeprefix("Value error, ")
