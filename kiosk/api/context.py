"""What the local API needs from the rest of core: one object the composition root builds and hands in.

Its own module so that the routes (:mod:`kiosk.api.web.routes`) and the app that mounts them
(:mod:`kiosk.api.app`) both depend on it without depending on each other in a circle.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.api.auth import SessionStore
from kiosk.api.rider import RiderApi
from kiosk.api.screen import ScreenFeed
from kiosk.api.sim import CodeIssuer, SimControls
from kiosk.api.stream import EventBus
from kiosk.api.system import THERMAL
from kiosk.api.users import UserStore
from kiosk.core.events import Event, EventRecord
from kiosk.core.guessing import GuessThrottle


@dataclass
class ApiContext:
    """What the API needs from the rest of core, handed in by the composition root."""

    station_id: str
    version: str
    token: str
    bus: EventBus
    status: Callable[[], dict[str, Any]]
    """The full status (the shape of :class:`kiosk.api.models.Status`)."""
    events_since: Callable[[int, int], list[EventRecord]]
    """Stored events with seq > since, at most limit, in seq order."""
    secure_cookies: bool = False
    """Mark cookies Secure and send Strict-Transport-Security (when served over TLS)."""
    sim: SimControls | None = None
    """The simulated cabinet's controls, when kiosk-core runs one (``kiosk sim``)."""
    screen: ScreenFeed = field(default_factory=ScreenFeed)
    """What the touchscreen should show now."""
    sync_now: Callable[[], Awaitable[dict[str, Any]]] | None = None
    """Run a sync round with the hub now and return the sync status after it."""
    issue_code: CodeIssuer | None = None
    """Under ``kiosk sim``: sign a rider code with the simulator's key (rider id, scope, ttl seconds)."""
    request_reopen: Callable[[], None] | None = None
    """The rider asked on the touchscreen to open the return bay again (``StationController.request_reopen``)."""
    users: UserStore | None = None
    """Staff accounts (``[api] users_file``); None: nobody can sign in to the status page."""
    metrics_key: str | None = None
    """The fleet monitor's read-only API key (``[api] metrics_key_file``); None: only signed-in parties."""
    record: Callable[[Event], object] | None = None
    """Append an event to the station's record (``StoreComponent.append``): staff actions' audit trail."""
    unlock_bay: Callable[[int], Awaitable[str | None]] | None = None
    """Open a bay for staff, confirmed (``CabinetComponent.open_for_staff``): None when seen open, else a note;
    raises ``DeviceError`` when it did not open."""
    reset_fault: Callable[[int], None] | None = None
    """Clear a bay's fault (``CabinetComponent.reset_fault``)."""
    reset_safety: Callable[[str], str | None] | None = None
    """Staff (by login) clear the cabinet's latched safety alarm: None when cleared, else why not
    (``SafetySupervisor.reset`` of the cabinet)."""
    set_out_of_service: Callable[[int, str | None, Event | None], None] | None = None
    """Take a bay out of service with a reason, or back (None), writing the audit event in the same
    transaction (``StationController.set_out_of_service``)."""
    swap_outcomes: Callable[[], dict[str, int]] | None = None
    """Swaps ended so far by outcome, for ``/metrics`` (``StationController.swap_outcomes``)."""
    trigger_scanner: Callable[[], Awaitable[None]] | None = None
    """Ask the scanner for one scan, where it supports a trigger command; None: it reads by itself."""
    restock: Callable[[int, int, Event | None], None] | None = None
    """Staff set a goods bay's stock (bay, count), writing the audit event in the same transaction
    (``RiderDesk.restock``); raises ``ValueError`` for a bay that is not a goods bay."""
    rider: RiderApi | None = None
    """The rider services for the touchscreen (``RiderDesk.api()``); None: no ``/api/content``, ``/api/rider``..."""
    restart_ui: Callable[[], Awaitable[None]] | None = None
    """Restart the touchscreen app (e.g. ``systemctl restart kiosk-ui``); raises when that fails."""
    data_dir: Path | None = None
    """The data folder, whose disk's free space the overview shows."""
    thermal_dir: Path = THERMAL
    """Where the kernel lists thermal zones (the CPU temperature)."""
    monotonic: Callable[[], float] = time.monotonic
    """The station clock's monotonic time (ages of last scans)."""
    sessions: SessionStore = field(default_factory=SessionStore)
    """Staff sessions (in memory)."""
    limiter: GuessThrottle = field(default_factory=GuessThrottle)
    """Wrong-password backoff per account and client, and the alarm (its clock: ``monotonic`` above)."""
