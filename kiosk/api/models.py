"""The local API's response models: what a client (kiosk-ui, a technician's script) can rely on.

This module imports only pydantic, so the UI can use it without pulling in the server.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Health(BaseModel):
    """``GET /api/health``: served without credentials, says only whether core is up."""

    model_config = ConfigDict(extra="allow")

    ok: bool
    station_id: str
    version: str


class Status(BaseModel):
    """``GET /api/status``: everything a status page or the UI needs to know about the station now."""

    model_config = ConfigDict(extra="allow")

    station_id: str
    station_name: str
    station_name_en: str
    version: str
    uptime_s: float
    wall_synced: bool
    components: dict[str, dict[str, Any]]
    warnings: list[str]
    store: dict[str, Any]
    sync: dict[str, Any]
