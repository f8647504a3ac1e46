"""Events as data: one pydantic model per event type, and the envelope every event is stored in.

An event *body* (a subclass of :class:`Event`) says what happened. The :class:`EventRecord`
envelope adds who/when: UUIDv7 id, station, gapless per-station ``seq``, boot id, monotonic and wall
time, and whether the wall clock was synchronised. The store writes records; the sync relay sends
them; the hub stores them exactly once by id.

Register a new type with ``@event_type`` and a unique dotted ``TYPE``; bodies are frozen and refuse
unknown fields, so a typo in a producer fails loudly in tests rather than on the hub.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from kiosk.core.errors import ProtocolError


class Event(BaseModel):
    """Base of every event body. Subclasses set ``TYPE`` and are registered with ``@event_type``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str] = ""

    def payload(self) -> dict[str, Any]:
        """The body as JSON-safe data (a NaN or infinite number, which JSON has not, is written as null)."""
        body: dict[str, Any] = finite_json(self.model_dump(mode="json"))
        return body


def finite_json(value: Any) -> Any:
    """``value`` (JSON data) with every NaN or infinite float replaced by None; the rest as it is."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_json(v) for v in value]
    return value


def non_finite_at(value: Any) -> str | None:
    """Where JSON data holds a NaN or infinite number (``packs[0].soh_pct``), or None: it holds none.

    Walks with its own stack, so a deeply nested hostile document cannot exhaust Python's."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where or "the value"
        if isinstance(item, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
    return None


_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def event_type(cls: E) -> E:
    """Class decorator: register an event body under its ``TYPE``."""
    name = cls.TYPE
    if not name or "." not in name:
        raise TypeError(f"{cls.__name__}.TYPE must be a dotted name like 'swap.started', got {name!r}")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise TypeError(f"event type {name!r} is registered twice ({_REGISTRY[name].__name__}, {cls.__name__})")
    _REGISTRY[name] = cls
    return cls


def registered_types() -> dict[str, type[Event]]:
    """A copy of the registry: type name → body model."""
    return dict(_REGISTRY)


def parse_body(type_name: str, payload: dict[str, Any]) -> Event:
    """Rebuild an event body from its type name and payload.

    Raises ``ProtocolError`` for an unknown type or a payload that does not fit it.
    """
    cls = _REGISTRY.get(type_name)
    if cls is None:
        raise ProtocolError(f"unknown event type {type_name!r}")
    try:
        return cls.model_validate(payload)
    except ValueError as exc:
        raise ProtocolError(f"payload does not fit event type {type_name!r}: {exc}") from exc


class EventRecord(BaseModel):
    """One stored event: the body plus where and when it happened. Shared by store, sync and hub."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=36, max_length=36)
    """UUIDv7 of the event; the hub stores each id once."""
    station_id: str = Field(min_length=1, max_length=64)
    """The station that wrote it."""
    seq: int = Field(ge=1)
    """Gapless per-station sequence number, starting at 1."""
    type: str = Field(min_length=3, max_length=64)
    """The registered event type, e.g. ``station.started``."""
    payload: dict[str, JsonValue]
    """The event body as JSON."""
    boot_id: str = Field(min_length=1, max_length=64)
    """The boot the event was written in; ``mono`` is comparable only within one boot."""
    mono: float
    """Monotonic seconds at the time of the event."""
    wall: datetime
    """Wall-clock time (UTC) at the time of the event; trust it only if ``wall_synced``."""
    wall_synced: bool
    """Whether the wall clock was synchronised when the event was written."""

    def body(self) -> Event:
        """The typed event body (``ProtocolError`` if the type is unknown to this version)."""
        return parse_body(self.type, dict(self.payload))


# --- the foundation's own events -------------------------------------------------------------


@event_type
class StationStarted(Event):
    """kiosk-core started and every required component is running."""

    TYPE: ClassVar[str] = "station.started"
    version: str
    """Software version."""
    warnings: list[str] = []
    """Optional components that failed to start, in plain words."""


@event_type
class StationStopped(Event):
    """kiosk-core shut down cleanly."""

    TYPE: ClassVar[str] = "station.stopped"
    reason: str
    """Why: a signal name, or ``error`` with a message."""


@event_type
class ComponentFailed(Event):
    """A component failed to start or stopped working."""

    TYPE: ClassVar[str] = "component.failed"
    component: str
    """The component's name."""
    error: str
    """What went wrong, in plain words."""
    optional: bool
    """True when the station carries on without it."""


@event_type
class DatabaseMovedAside(Event):
    """The database failed its integrity check at start; it was moved aside, kept, and a new one begun."""

    TYPE: ClassVar[str] = "store.database_moved_aside"
    kept_as: str
    """Where the damaged file now is."""
    problem: str
    """What the integrity check reported."""
