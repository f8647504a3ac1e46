"""The local HTTP API of kiosk-core.

- ``GET /api/health`` — the only thing served without credentials.
- ``GET /api/status`` — every component's status, warnings, version, uptime, store and sync figures.
- ``GET /api/events/stream`` — Server-Sent Events, one per committed event; resumes after
  ``Last-Event-ID`` (or ``?since=SEQ``) by replaying from the store, so a reconnecting UI misses nothing.
- ``GET /api/events?since=SEQ&limit=N`` — recent events as JSON.
- ``GET /api/screen`` and ``GET /api/screen/stream`` — what the touchscreen should show, and its changes.
- ``POST /api/swap/reopen`` — the rider asks (on the touchscreen) for the empty return bay to open again.
- ``/api/sim/…`` — the simulated cabinet's controls, only under ``kiosk sim``.

Clients present the UI token as ``Authorization: Bearer <token>``; a browser signs in once at
``/login`` with the same token and gets an HttpOnly, SameSite=Strict session cookie.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from kiosk.api import pages
from kiosk.api.models import Health, Status
from kiosk.api.screen import Screen, ScreenFeed
from kiosk.api.sim import CodeIssuer, SimControls, sim_router
from kiosk.api.stream import EventBus
from kiosk.core.events import EventRecord

SESSION_COOKIE = "kiosk_session"
KEEPALIVE_S = 15.0
REPLAY_LIMIT = 1000


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
    """Mark the session cookie Secure (when served over TLS)."""
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

    def session_value(self) -> str:
        """The session cookie's value: derived from the token, so rotating the token ends sessions."""
        return hmac.new(self.token.encode(), b"kiosk-session-v1", hashlib.sha256).hexdigest()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value else None


def create_app(ctx: ApiContext) -> FastAPI:
    """Build the FastAPI application around ``ctx``."""
    app = FastAPI(title="kiosk-core local API", version=ctx.version, docs_url=None, redoc_url=None)

    def authorised(request: Request) -> bool:
        token = _bearer(request)
        if token is not None:
            return hmac.compare_digest(token, ctx.token)
        cookie = request.cookies.get(SESSION_COOKIE)
        return cookie is not None and hmac.compare_digest(cookie, ctx.session_value())

    def require_auth(request: Request) -> None:
        if not authorised(request):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="credentials required: send 'Authorization: Bearer <ui token>' or sign in at /login",
                headers={"WWW-Authenticate": "Bearer"},
            )

    protected = APIRouter(dependencies=[Depends(require_auth)])

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/api/health", response_model=Health)
    def health() -> Health:
        return Health(ok=True, station_id=ctx.station_id, version=ctx.version)

    @protected.get("/api/status", response_model=Status)
    def get_status() -> dict[str, Any]:
        return ctx.status()

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
    def reopen() -> dict[str, bool]:
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

    if ctx.sim is not None:
        protected.include_router(sim_router(ctx.sim, ctx.issue_code))
    app.include_router(protected)

    @app.get("/login", response_class=HTMLResponse)
    def login_form() -> str:
        return pages.login_page(ctx.station_id)

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = pages.parse_form(await request.body())
        if not hmac.compare_digest(form.get("token", ""), ctx.token):
            return HTMLResponse(pages.login_page(ctx.station_id, error="That token is not right."), status_code=401)
        response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        response.set_cookie(
            SESSION_COOKIE,
            ctx.session_value(),
            httponly=True,
            samesite="strict",
            secure=ctx.secure_cookies,
            max_age=12 * 3600,
        )
        return response

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        if not authorised(request):
            return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
        return HTMLResponse(pages.status_page(ctx.status()))

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
    except asyncio.CancelledError:
        raise
    finally:
        sub.close()
