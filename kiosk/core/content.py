"""The city's content as a station shows it: services, announcements, nearby stations, points catalogue.

Shared by the sync protocol (the hub's bundle carries it), the local API (kiosk-ui reads it) and the hub
(its content file): one definition, in core because every layer may import core. Lenient about fields a
newer hub adds (``extra="ignore"``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ContentModel(BaseModel):
    """Base of the content models: frozen, ignoring fields added in later versions."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class NearbyStation(ContentModel):
    """Another station and its charged batteries, for riders this station cannot serve."""

    station_id: str
    name: str
    name_en: str
    distance_m: int
    charged_batteries: int
    updated_at: datetime
    latitude: float | None = None
    longitude: float | None = None


class BookingSlot(ContentModel):
    """A time a bookable service can be booked for (e.g. a 30-minute legal consultation)."""

    id: str
    starts: datetime
    ends: datetime
    place_zh: str = ""
    place_en: str = ""


class Service(ContentModel):
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
    slots: list[BookingSlot] = []
    """Open slots a rider can ask for (bookable services only; full ones are left out by the hub)."""


class Announcement(ContentModel):
    """A notice shown on the idle screen between its dates."""

    id: str
    text_zh: str
    text_en: str
    starts: datetime | None = None
    ends: datetime | None = None


class Location(ContentModel):
    """A place on the map."""

    latitude: float
    longitude: float


class CatalogueItem(ContentModel):
    """Something a rider can get for points from one of the station's goods bays."""

    id: str
    name_zh: str
    name_en: str
    points: Annotated[int, Field(ge=1)]
    """What it costs."""
    kind: Literal["item", "loan"] = "item"
    """'loan': lent out and brought back (a charging cable), else given away (water, a snack)."""


class PointsRule(ContentModel):
    """One thing the city rewards at a station."""

    id: str
    """``checkin`` (the first code scanned in a day) or ``feedback`` (signed feedback)."""
    points: Annotated[int, Field(ge=1)]
    per_day: Annotated[int, Field(ge=1)] = 1
    """How often a rider earns it per day, across all stations (the hub applies the limit)."""
