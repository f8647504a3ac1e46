"""The hub's HTTP API: sync protocol v1 for stations, code issuing for the rider app, the fleet view.

- ``POST /v1/stations/{id}/events`` — :class:`EventBatch` (gzip or plain JSON) → :class:`BatchAck`
- ``GET /v1/stations/{id}/bundle`` — :class:`Bundle` with an ETag; ``If-None-Match`` → 304
- ``POST /v1/stations/{id}/heartbeat`` — :class:`Heartbeat` → :class:`HeartbeatAck`
- ``POST /v1/stations/{id}/points/spend`` — :class:`SpendRequest` → :class:`SpendAnswer` (live spend)
- ``POST /v1/stations/{id}/alarms`` — :class:`SafetyAlarm` → :class:`AlarmAck` (a safety alarm, at once)
- ``POST /v1/codes`` — :class:`CodeRequest` → :class:`IssuedCode` (rider-app API key)
- ``GET /v1/health``, ``GET /fleet`` (HTML), ``GET /fleet.csv``, ``GET /openapi.json``
- ``/login``, ``/logout`` — operators' sessions (:mod:`hub.operators`); ``/admin…`` (:mod:`hub.admin`)

Station endpoints take the station's bearer token; a token of another station is 403. Each API key has
one role (:class:`hub.auth.ApiRole`): ``codes`` issues rider codes only, ``metrics`` reads the fleet
view only, ``operator`` acts for the operator it names. ``/docs`` and ``/redoc`` (which load their
scripts from a CDN) are off unless ``api_docs`` is set, and then need an operator. Every error is
a :class:`Problem` body. Endpoints are plain functions: FastAPI runs them in its thread pool, where the
blocking database calls belong.
"""

# No "from __future__ import annotations" here: FastAPI must see the real annotations of endpoints that
# refer to dependencies defined inside create_app.
import logging
import math
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from hub.admin import admin_router
from hub.auth import ApiRole, Operator
from hub.bodies import BodyLimitMiddleware
from hub.body_budget import DEFAULT_BUDGET_BYTES, BodyBudget, BodyBudgetMiddleware, BodyWeigher
from hub.bundle import build_bundle, bundle_etag, etag_matches
from hub.codes import CodeRequest, IssuedCode, RiderRevoked, issue_code
from hub.fleet import gather, to_csv
from hub.fleet_html import render_fleet
from hub.operators import OperatorAuth, OperatorPageHeaders
from hub.storage import AlarmError, Storage, StorageUnavailable, UnknownStation
from hub.text_guard import TextGuardMiddleware
from kiosk import __version__
from kiosk.core.events import non_finite_at
from kiosk.core.guessing import GuessThrottle
from kiosk.core.ridercode import CodeFormatError
from kiosk.sync.protocol import (
    ALARM_TYPES,
    MAX_BODY_BYTES,
    PROTOCOL_VERSION,
    AlarmAck,
    BatchAck,
    Bundle,
    EventBatch,
    Heartbeat,
    HeartbeatAck,
    Problem,
    SafetyAlarm,
    SpendAnswer,
    SpendRequest,
)

log = logging.getLogger(__name__)

MAX_SEQ = 2**63 - 1
"""The largest seq both engines store (a signed 64-bit integer)."""
RETRY_AFTER_S = 5
"""What a 503 asks the station to wait before retrying."""

StationPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="The station's id")]
_bearer = HTTPBearer(auto_error=False, description="The station's token, or the rider app's API key")
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (401, 403, 404, 409, 413, 415, 422, 503)
}


class Health(BaseModel):
    """``GET /v1/health``."""

    status: Literal["ok"] = "ok"
    protocol: int = PROTOCOL_VERSION
    version: str
    storage: str


def _fail(status: int, error: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status, error, headers)


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - 5
    return "invalid request: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def create_app(
    storage: Storage,
    *,
    utc_offset_minutes: int = 0,
    fleet_days: int = 14,
    body_budget: BodyBudget | None = None,
    api_docs: bool = False,
    throttle: GuessThrottle | None = None,
) -> FastAPI:
    """The hub's ASGI app over ``storage``; ``body_budget``: the large bodies' shared memory budget;
    ``api_docs`` turns on ``/docs`` and ``/redoc`` (for operators)."""
    app = FastAPI(
        title="kiosk-hub",
        version=__version__,
        description="The city hub that battery-swap stations sync to (sync protocol v1).",
        # The stock docs pages load scripts from a CDN onto the operators' origin: off unless asked for.
        docs_url=None,
        redoc_url=None,
    )
    # Inside the body limit (added before it, so it runs after it): it sees the capped, unpacked body.
    app.add_middleware(TextGuardMiddleware)
    app.add_middleware(BodyWeigher)
    operators = OperatorAuth(storage, throttle)
    app.state.operators = operators
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    # In front of the body limit: a large body waits for its share of memory before it is read at all.
    app.state.body_budget = body_budget or BodyBudget(DEFAULT_BUDGET_BYTES)
    app.add_middleware(BodyBudgetMiddleware, budget=app.state.body_budget, max_bytes=MAX_BODY_BYTES)
    # Acknowledgements list every event id: gzip halves the bytes a station spends per event.
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(OperatorPageHeaders)

    @app.exception_handler(HTTPException)
    async def _http_problem(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(Problem(error=str(exc.detail)).model_dump(), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(Problem(error=_describe(exc)).model_dump(), 422)

    @app.exception_handler(StorageUnavailable)
    async def _unavailable(request: Request, exc: StorageUnavailable) -> JSONResponse:
        log.warning("storage unavailable: %s", exc)
        body = Problem(error="the hub's database is unavailable; try again shortly").model_dump()
        return JSONResponse(body, 503, headers={"Retry-After": str(RETRY_AFTER_S)})

    def station_auth(
        station_id: StationPath, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> str:
        if creds is None:
            raise _fail(401, "a station token is needed (Authorization: Bearer …)", {"WWW-Authenticate": "Bearer"})
        owner = storage.station_for_token(creds.credentials)
        if owner is None:
            raise _fail(
                401, "the token is not valid (mistyped, or replaced by a new one)", {"WWW-Authenticate": "Bearer"}
            )
        if owner != station_id:
            raise _fail(403, f"this token belongs to station {owner}, not {station_id}")
        return station_id

    Station = Annotated[str, Depends(station_auth)]

    @app.get("/v1/health", response_model=Health, tags=["hub"])
    def health() -> Health:
        """Whether the hub and its database answer."""
        storage.ping()
        return Health(version=__version__, storage=storage.db.engine.value)

    @app.post("/v1/stations/{station_id}/events", response_model=BatchAck, responses=_ERRORS, tags=["sync"])
    def post_events(station_id: Station, batch: EventBatch) -> BatchAck:
        """Store a batch of the station's events; each id exactly once. Send with ``Content-Encoding: gzip``."""
        if batch.station_id != station_id:
            raise _fail(422, f"the batch is for station {batch.station_id}, not {station_id}")
        strangers = sorted({e.station_id for e in batch.events} - {station_id})
        if strangers:
            raise _fail(422, f"the batch carries events of other stations: {', '.join(strangers)}")
        if any("\x00" in f"{e.id}{e.type}{e.boot_id}" for e in batch.events):
            # PostgreSQL text cannot hold NUL characters; no real event has one in these fields.
            raise _fail(422, "event id, type and boot_id must not contain NUL characters")
        if any(e.seq > MAX_SEQ for e in batch.events):
            raise _fail(422, f"seq must be at most {MAX_SEQ}")
        if not all(math.isfinite(e.mono) for e in batch.events):
            raise _fail(422, "an event's monotonic time must be a finite number")
        for e in batch.events:
            where = non_finite_at(e.payload)
            if where is not None:
                # JSON has no NaN or infinity; Python's reader takes them, strict readers of the log do not.
                raise _fail(422, f"event seq {e.seq}: {where} is not a finite number (NaN or infinity)")
        if len({e.id for e in batch.events}) != len(batch.events):
            raise _fail(422, "the batch carries the same event id twice")
        if len({e.seq for e in batch.events}) != len(batch.events):
            raise _fail(422, "the batch carries the same seq twice")
        try:
            result = storage.ingest(station_id, batch.events)
        except UnknownStation as exc:
            raise _fail(404, str(exc)) from None
        if result.refused:
            log.warning("station %s: %d events refused (flagged): %s", station_id, len(result.refused), result.refused)
        return BatchAck(
            accepted=result.accepted,
            duplicates=result.duplicates,
            high_water_seq=result.high_water_seq,
            refused=result.refused,
        )

    @app.get(
        "/v1/stations/{station_id}/bundle",
        response_model=Bundle,
        responses={**_ERRORS, 304: {"description": "Not modified"}},
        tags=["sync"],
    )
    def get_bundle(station_id: Station, if_none_match: Annotated[str | None, Header()] = None) -> Response:
        """Everything the station needs to work offline; 304 when ``If-None-Match`` names the current ETag."""
        content = storage.content()
        bundle = build_bundle(
            storage.station(station_id),
            stations=storage.stations(),
            heartbeats=storage.heartbeats(),
            keys=storage.valid_keys(),
            revoked=storage.revoked_riders(),
            content=content,
            now=storage.now(),
            balances=storage.rider_balances_for(station_id),
            bookings=storage.bookings_for(station_id),
            confirmed=storage.confirmed_counts([slot.id for s in content.services for slot in s.slots]),
            batteries=storage.bundle_registry(),
        )
        etag = bundle_etag(bundle)
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        return Response(bundle.model_dump_json(), media_type="application/json", headers=headers)

    @app.post("/v1/stations/{station_id}/heartbeat", response_model=HeartbeatAck, responses=_ERRORS, tags=["sync"])
    def post_heartbeat(station_id: Station, heartbeat: Heartbeat) -> HeartbeatAck:
        """Keep the station's status snapshot as its latest."""
        if heartbeat.station_id != station_id:
            raise _fail(422, f"the heartbeat is from station {heartbeat.station_id}, not {station_id}")
        where = non_finite_at(heartbeat.model_dump())
        if where is not None:
            # Stored as null it would fail to read back, and the fleet page reads every station's heartbeat.
            raise _fail(422, f"the heartbeat's {where} is not a finite number (NaN or infinity)")
        return HeartbeatAck(server_time=storage.record_heartbeat(heartbeat))

    @app.post("/v1/stations/{station_id}/points/spend", response_model=SpendAnswer, responses=_ERRORS, tags=["sync"])
    def post_spend(station_id: Station, request: SpendRequest) -> SpendAnswer:
        """Take a rider's points for an item now, before its bay opens; the same ``entry_id`` gets the same answer."""
        if request.station_id != station_id:
            raise _fail(422, f"the spend is from station {request.station_id}, not {station_id}")
        answer = storage.spend_now(station_id, request)
        if not answer.accepted:
            log.info("spend %s at %s refused: %s", answer.entry_id, station_id, answer.reason)
        return answer

    @app.post("/v1/stations/{station_id}/alarms", response_model=AlarmAck, responses=_ERRORS, tags=["sync"])
    def post_alarm(station_id: Station, alarm: SafetyAlarm) -> AlarmAck:
        """A safety alarm, at once and on its own; the same event id is kept once (the batch brings it again)."""
        event = alarm.event
        if alarm.station_id != station_id or event.station_id != station_id:
            raise _fail(422, f"the alarm is not station {station_id}'s")
        if event.type not in ALARM_TYPES:
            raise _fail(422, f"an alarm is an event of type {', '.join(sorted(ALARM_TYPES))}, not {event.type!r}")
        where = non_finite_at(event.payload)
        if where is not None or not math.isfinite(event.mono):
            raise _fail(422, f"the alarm's {where or 'mono'} is not a finite number (NaN or infinity)")
        try:
            received = storage.record_alarm(station_id, event)
        except AlarmError as exc:
            raise _fail(422, str(exc)) from None
        log.error("SAFETY ALARM from %s: %s", station_id, str(event.payload)[:300])
        return AlarmAck(id=event.id, received_at=received)

    def api_key_auth(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
        key = None if creds is None else storage.api_key(creds.credentials)
        if key is None:
            raise _fail(401, "a valid API key is needed (Authorization: Bearer …)", {"WWW-Authenticate": "Bearer"})
        if key.role is not ApiRole.CODES:
            raise _fail(403, f"API key {key.name} has role {key.role.value}: only a codes key issues rider codes")
        return key.name

    @app.post("/v1/codes", response_model=IssuedCode, responses=_ERRORS, tags=["riders"])
    def post_code(request: CodeRequest, client: Annotated[str, Depends(api_key_auth)]) -> IssuedCode:
        """Issue a signed rider code (for the rider app)."""
        try:
            issued = issue_code(
                storage,
                request.rider_id,
                scope=request.scope,
                ttl=timedelta(seconds=request.ttl_s),
                points=request.points,
            )
        except RiderRevoked as exc:
            raise _fail(409, str(exc)) from None
        except CodeFormatError as exc:
            raise _fail(422, str(exc)) from None
        log.info("code issued for rider %s to %s (key %s)", issued.rider_id, client, issued.kid)
        return issued

    Reader = Annotated[Operator, Depends(operators.reader)]
    OperatorOnly = Annotated[Operator, Depends(operators.operator)]

    @app.get("/fleet", response_class=HTMLResponse, tags=["fleet"])
    def fleet(who: Reader, days: int = fleet_days) -> HTMLResponse:
        """The fleet view (HTML with inline SVG charts)."""
        view = gather(storage, days=max(1, min(days, 366)), utc_offset_minutes=utc_offset_minutes)
        return HTMLResponse(render_fleet(view, who=who.label))

    @app.get("/fleet.csv", response_class=PlainTextResponse, tags=["fleet"])
    def fleet_csv(who: Reader, days: int = fleet_days) -> Response:
        """Per station and day: swaps, entries, service views, and the station's state now."""
        view = gather(storage, days=max(1, min(days, 366)), utc_offset_minutes=utc_offset_minutes)
        headers = {"Content-Disposition": 'attachment; filename="fleet.csv"'}
        return Response(to_csv(view), media_type="text/csv; charset=utf-8", headers=headers)

    today = lambda: gather(storage, days=1, utc_offset_minutes=utc_offset_minutes)  # noqa: E731 - the dashboard's health
    app.include_router(operators.router())
    app.include_router(admin_router(storage, operators.operator, utc_offset_minutes=utc_offset_minutes, fleet=today))
    if api_docs:

        @app.get("/docs", include_in_schema=False)
        def docs(who: OperatorOnly) -> HTMLResponse:
            """Swagger UI (its scripts come from a CDN; only when the hub is started with --api-docs)."""
            return get_swagger_ui_html(openapi_url="/openapi.json", title="kiosk-hub API")

        @app.get("/redoc", include_in_schema=False)
        def redoc(who: OperatorOnly) -> HTMLResponse:
            """ReDoc (its scripts come from a CDN; only when the hub is started with --api-docs)."""
            return get_redoc_html(openapi_url="/openapi.json", title="kiosk-hub API")

    return app
