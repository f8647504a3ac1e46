"""The city's content file: services, announcements and policy overrides that go into every bundle.

``kiosk-hub content load FILE.json`` reads a file of this shape::

    {
      "services": [{"id": "legal-1", "category": "legal_aid", "title_zh": "…", "title_en": "Legal aid"}],
      "announcements": [{"id": "a1", "text_zh": "…", "text_en": "Road works", "ends": "2026-03-01T00:00:00Z"}],
      "config_overrides": {"policy.max_swaps_per_day": 4},
      "station_overrides": {"st-east-1": {"policy.max_swaps_per_day": 6}}
    }

Loading replaces the whole content at once, so a station never gets half of an old file and half of a
new one.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError, field_validator

from kiosk.core.errors import ConfigError
from kiosk.sync.protocol import Announcement, Service


def _check_policy_keys(overrides: dict[str, JsonValue]) -> dict[str, JsonValue]:
    wrong = [key for key in overrides if not key.startswith("policy.") or key == "policy."]
    if wrong:
        raise ValueError(f"only policy.<key> settings can be set by the city, not {', '.join(sorted(wrong))}")
    return overrides


class Content(BaseModel):
    """Services, announcements and policy overrides, as loaded from the content file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    services: list[Service] = []
    announcements: list[Announcement] = []
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

    def overrides_for(self, station_id: str) -> dict[str, JsonValue]:
        """The policy overrides one station gets."""
        return {**self.config_overrides, **self.station_overrides.get(station_id, {})}


def read_content_file(path: Path) -> Content:
    """Read and check a content file; :class:`ConfigError` says what is wrong, in plain words."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"content file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read content file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"content file {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        return Content.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"content file {path} does not fit", problems) from None
