"""The local HTTP API of kiosk-core, and the maintenance status page.

- ``GET /api/health`` — the only thing served without credentials.
- ``GET /api/status`` — every component's status, warnings, version, uptime, store and sync figures.
- ``GET /api/events/stream`` — Server-Sent Events, one per committed event; resumes after
  ``Last-Event-ID`` (or ``?since=SEQ``) by replaying from the store, so a reconnecting UI misses nothing.
- ``GET /api/events?since=SEQ&limit=N`` — recent events as JSON.
- ``GET /api/screen`` and ``GET /api/screen/stream`` — what the touchscreen should show, and its changes.
- ``POST /api/swap/reopen`` — the rider asks (on the touchscreen) for the empty return bay to open again.
- ``/api/sim/…`` — the simulated cabinet's controls, only under ``kiosk sim``.
- ``GET /api/openapi.json`` — this API's OpenAPI schema, for the UI token or a signed-in staff member (no docs
  page: it would load scripts from a CDN).
- ``GET /metrics`` — Prometheus text format, for the fleet monitor's API key (or any signed-in party).
- ``/``, ``/devices``, ``/sync``, ``/events``, ``/login``, ``/actions/…`` — the status page
  (:mod:`kiosk.api.web`).

Who may ask (:mod:`kiosk.api.auth`): the touchscreen app with ``Authorization: Bearer <ui token>``
(all of ``/api``); staff signed in at ``/login`` with a session cookie (everything; every POST also
carries the session's CSRF token); the fleet monitor with ``Authorization: Bearer <metrics key>``
(read-only: ``/metrics``, ``GET /api/status`` and ``/api/events``). The client's address counts for nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse

from kiosk.api.auth import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Principal,
    Role,
    SessionStore,
    csrf_ok,
    token_matches,
)
from kiosk.api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from kiosk.api.metrics import render_metrics
from kiosk.api.models import Health, Status
from kiosk.api.rider import RiderApi, rider_router
from kiosk.api.screen import Screen, ScreenFeed
from kiosk.api.sim import CodeIssuer, SimControls, sim_router
from kiosk.api.stream import EventBus
from kiosk.api.users import UserStore
from kiosk.api.web.routes import web_router
from kiosk.api.web.system import THERMAL
from kiosk.core.events import Event, EventRecord
from kiosk.core.guessing import GuessThrottle

KEEPALIVE_S = 15.0
REPLAY_LIMIT = 1000
MONITOR_PATHS = frozenset({"/api/status", "/api/events", "/metrics"})
"""What the fleet monitor's key may read (GET only)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


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


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value else None


def identify(ctx: ApiContext, request: Request) -> Principal | None:
    """Who sent ``request``: the UI token, the metrics key, a live staff session, or nobody."""
    token = _bearer(request)
    if token is not None:
        if token_matches(token, ctx.token):
            return Principal(Role.UI, "ui")
        if token_matches(token, ctx.metrics_key):
            return Principal(Role.MONITOR, "monitor")
        return None
    cookie = request.cookies.get(SESSION_COOKIE)
    session = ctx.sessions.get(cookie)
    if session is None or ctx.users is None:
        return None
    if ctx.users.stamp(session.user) != session.stamp:  # password changed or account removed
        ctx.sessions.close(cookie)
        return None
    return Principal(Role.STAFF, session.user, session)


def create_app(ctx: ApiContext) -> FastAPI:
    """Build the FastAPI application around ``ctx``."""
    app = FastAPI(title="kiosk-core local API", version=ctx.version, docs_url=None, redoc_url=None, openapi_url=None)

    def who(request: Request) -> Principal | None:
        return identify(ctx, request)

    def require_auth(request: Request) -> Principal:
        principal = who(request)
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="credentials required: send 'Authorization: Bearer <ui token>' or sign in at /login",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if principal.role is Role.MONITOR and (
            request.method not in SAFE_METHODS or request.url.path not in MONITOR_PATHS
        ):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="the metrics key may only read status and metrics")
        # A browser sends the cookie by itself; only our own pages know the CSRF token.
        session = principal.session
        if (
            session is not None
            and request.method not in SAFE_METHODS
            and not csrf_ok(session, request.headers.get(CSRF_HEADER))
        ):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing or wrong X-CSRF-Token header")
        return principal

    protected = APIRouter(dependencies=[Depends(require_auth)])

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.headers.setdefault("Cache-Control", "no-store")
        if ctx.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.get("/api/health", response_model=Health)
    def health() -> Health:
        return Health(ok=True, station_id=ctx.station_id, version=ctx.version)

    @protected.get("/api/status", response_model=Status)
    def get_status() -> dict[str, Any]:
        return ctx.status()

    @protected.get("/metrics")
    def metrics() -> Response:
        outcomes = ctx.swap_outcomes() if ctx.swap_outcomes is not None else None
        return Response(render_metrics(ctx.status(), outcomes), media_type=METRICS_CONTENT_TYPE)

    @protected.get("/api/events")
    def get_events(
        since: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=REPLAY_LIMIT)] = 100,
    ) -> list[dict[str, Any]]:
        return [r.model_dump(mode="json") for r in ctx.events_since(since, limit)]

    @protected.get("/api/events/stream")
    async def stream(
        request: Request,
        since: Annotated[int | None, Query(ge=0)] = None,
    ) -> StreamingResponse:
        last_id = request.headers.get("last-event-id")
        start = since
        if last_id is not None and last_id.isdigit():
            start = int(last_id)
        return StreamingResponse(
            _sse(ctx, request, start),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    @protected.post("/api/sync/now")
    async def sync_now() -> dict[str, Any]:
        if ctx.sync_now is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="this station does not sync")
        return await ctx.sync_now()

    @protected.post("/api/swap/reopen", status_code=status.HTTP_202_ACCEPTED)
    async def reopen() -> dict[str, bool]:  # on the loop: request_reopen puts onto an asyncio queue
        # Only a request: the swap machine decides whether the bay may open again (and says so on the screen).
        if ctx.request_reopen is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="this station does not take reopen requests")
        ctx.request_reopen()
        return {"requested": True}

    @protected.get("/api/screen", response_model=Screen)
    def current_screen() -> Screen:
        return ctx.screen.current

    @protected.get("/api/screen/stream")
    async def screen_stream(request: Request) -> StreamingResponse:
        return StreamingResponse(_screens(ctx.screen, request), media_type="text/event-stream")

    @protected.get("/api/openapi.json", include_in_schema=False)
    def openapi_schema() -> dict[str, Any]:
        # Behind the credentials like the routes it lists; FastAPI's own /openapi.json stays off (openapi_url=None).
        return app.openapi()

    if ctx.sim is not None:
        protected.include_router(sim_router(ctx.sim, ctx.issue_code))
    if ctx.rider is not None:
        protected.include_router(rider_router(ctx.rider))
    app.include_router(protected)
    app.include_router(web_router(ctx, who))

    @app.exception_handler(HTTPException)
    async def plain_errors(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    return app


async def _screens(feed: ScreenFeed, request: Request) -> AsyncIterator[bytes]:
    """The current screen, then every change; keepalives in between."""
    queue = feed.subscribe()
    try:
        screen = feed.current
        yield f"event: screen\ndata: {screen.model_dump_json()}\n\n".encode()
        while not await request.is_disconnected():
            try:
                async with asyncio.timeout(KEEPALIVE_S):
                    screen = await queue.get()
            except TimeoutError:
                yield b": keepalive\n\n"
                continue
            yield f"event: screen\ndata: {screen.model_dump_json()}\n\n".encode()
    finally:
        feed.unsubscribe(queue)


def _frame(record: EventRecord) -> bytes:
    data = record.model_dump_json()
    return f"id: {record.seq}\nevent: {record.type}\ndata: {data}\n\n".encode()


async def _sse(ctx: ApiContext, request: Request, since: int | None) -> AsyncIterator[bytes]:
    """Replay stored events after ``since`` (if given), then follow live ones, without gaps or repeats."""
    sub = ctx.bus.subscribe()  # subscribe first so nothing committed during the replay is missed
    try:
        yield b": kiosk-core event stream\nretry: 2000\n\n"
        last = 0
        if since is not None:
            last = since
            while True:
                batch = ctx.events_since(last, REPLAY_LIMIT)
                for stored in batch:
                    yield _frame(stored)
                    last = stored.seq
                if len(batch) < REPLAY_LIMIT:
                    break
        while not await request.is_disconnected():
            record = await sub.next(KEEPALIVE_S)
            if record is None:
                if sub.dropped:
                    return  # fell behind: the client reconnects with Last-Event-ID and replays
                yield b": keepalive\n\n"
                continue
            if record.seq <= last:
                continue
            last = record.seq
            yield _frame(record)
    finally:
        sub.close()
