"""The status page's routes: sign-in and out, the pages, staff actions, static files.

Pages need a staff session (anything else is sent to ``/login``). Actions are POST forms: each needs the
session, its CSRF token, and ends in one ``staff.action`` audit event naming who did it — also when it
failed. Argon2 checks run in a worker thread, one at a time, so a sign-in never stalls the station's loop
(and a burst of them cannot eat the Pi's memory).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.api.auth import CSRF_FIELD, CSRF_HEADER, LOGIN_COOKIE, SESSION_COOKIE, Principal, Role, csrf_ok
from kiosk.api.context import ApiContext
from kiosk.api.sim import BatteryBody, CodeBody, FaultBody, ScanBody
from kiosk.api.system import cpu_temperature_c, disk_space
from kiosk.api.users import UserError
from kiosk.api.web import render
from kiosk.api.web import safety as safety_html
from kiosk.api.web.audit import ActionKind, SignInAlarm, StaffAction
from kiosk.core.errors import KioskError
from kiosk.core.guessing import client_key

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16 * 1024
EVENTS_SCAN_LIMIT = 5000
"""How far back (events) the events page looks for ones matching a filter."""
STATIC = {"style.css": "text/css; charset=utf-8", "live.js": "text/javascript; charset=utf-8"}
BayNumber = Annotated[int, Path(ge=1, le=99)]
ACTION_ERRORS = (KioskError, ValueError, KeyError, RuntimeError, OSError, UserError)


class Unavailable(RuntimeError):
    """The station does not offer this action (not wired, or not in this mode)."""


@dataclass
class Done:
    """The result of an action: what to tell staff, and what to put in the audit record."""

    message: str
    detail: str | None = None
    recorded: bool = False
    """The action wrote its audit event itself, in the same transaction as the change."""


Work = Callable[[dict[str, str], str], Awaitable[Done]]


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value of each field)."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=30)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {key: values[0] for key, values in fields.items() if values}


async def read_form(request: Request) -> dict[str, str]:
    """The request's form fields; empty for a body that is too big or not a form."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return parse_form(body)


def too_many(wait_s: float) -> str:
    """What a client that must wait before its next sign-in is told."""
    if wait_s < 90:
        return f"Too many wrong passwords. Try again in {max(1, round(wait_s))} s."
    return f"Too many wrong passwords. Try again in about {round(wait_s / 60)} min."


def _back(form: dict[str, str]) -> str:
    # Only our own pages: a form cannot send staff anywhere else after an action.
    back = form.get("back", "/")
    return back if back in render.PAGES or back == render.SIM_PAGE else "/"


def _refusal(code: int, title: str, text: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    body = f'<p class="bad" role="alert">{render.h(text)}</p><p><a href="/">Back to the status page</a></p>'
    return HTMLResponse(render.simple_page(title, body), status_code=code, headers=headers)


def web_router(ctx: ApiContext, identify: Callable[[Request], Principal | None]) -> APIRouter:
    """Every route of the status page around ``ctx``; ``identify`` tells who sent a request."""
    router = APIRouter()
    hashing = asyncio.Semaphore(1)
    static = {name: resources.files(__package__).joinpath("static", name).read_bytes() for name in STATIC}

    def staff(request: Request) -> Principal | None:
        principal = identify(request)
        return principal if principal is not None and principal.role is Role.STAFF else None

    def view(principal: Principal, path: str) -> render.View:
        session = principal.session
        assert session is not None
        flash, session.flash = session.flash, []
        return render.View(
            user=principal.name,
            csrf=session.csrf,
            path=path,
            now_mono=ctx.monotonic(),
            flash=flash,
            simulator=ctx.sim is not None,
            can_restart_ui=ctx.restart_ui is not None,
            can_trigger_scanner=ctx.trigger_scanner is not None,
            can_sync=ctx.sync_now is not None,
            can_restock=ctx.restock is not None,
        )

    def record(event: StaffAction | SignInAlarm) -> None:
        if ctx.record is None:
            log.warning("staff action not recorded (no recorder wired): %s", event.payload())
            return
        ctx.record(event)

    def page(request: Request, path: str, title: str, build: Callable[[dict[str, Any], render.View], str]) -> Response:
        principal = staff(request)
        if principal is None:
            return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
        station = ctx.status()
        v = view(principal, path)
        banner = safety_html.banner(station, v)
        return HTMLResponse(render.layout(title, station, v, build(station, v), banner))

    # --- static files and sign-in (the only pages open without a session) -------------------------

    @router.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in static:
            return Response(status_code=status.HTTP_404_NOT_FOUND)
        return Response(static[name], media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    def login_form(error: str | None = None, code: int = 200, headers: dict[str, str] | None = None) -> Response:
        token = secrets.token_urlsafe(24)
        no_accounts = ctx.users is None or not ctx.users.names()
        html = render.login_page(ctx.station_id, token, error=error, no_accounts=no_accounts)
        response = HTMLResponse(html, status_code=code, headers=headers)
        # The sign-in form's own CSRF token (double submit): another site cannot sign a browser in as someone.
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=ctx.secure_cookies,
            max_age=3600,
            path="/login",
        )
        return response

    @router.get("/login")
    def login_page(request: Request) -> Response:
        if staff(request) is not None:
            return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        return login_form()

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await read_form(request)
        cookie = request.cookies.get(LOGIN_COOKIE)
        presented = form.get("login_csrf")
        if cookie is None or presented is None or not secrets.compare_digest(cookie.encode(), presented.encode()):
            return login_form("The sign-in form had expired. Please try again.", 403)
        name = form.get("username", "").strip().lower()[:64]
        password = form.get("password", "")
        client = client_key(request.client.host if request.client else None)
        wait = ctx.limiter.retry_after(name, client)
        if wait is not None:
            return login_form(too_many(wait), 429, {"Retry-After": str(int(wait) + 1)})
        if ctx.users is None:
            return login_form("Staff accounts are not set up on this station.", 503)
        users = ctx.users
        async with hashing:
            stamp = await asyncio.to_thread(users.verify, name, password)
        if stamp is None:
            alarm = ctx.limiter.failed(name, client)
            log.warning("a sign-in as %r from %s was refused (wrong name or password)", name, client)
            if alarm is not None:
                log.warning("password guessing on the status page: %s", alarm.describe())
                record(SignInAlarm(account=alarm.account[:64], clients=list(alarm.clients), failures=alarm.failures))
            return login_form("That name or password is not right.", 401)
        ctx.limiter.succeeded(name, client)
        session_id, _ = ctx.sessions.open(name, stamp)
        record(StaffAction(user=name, action=ActionKind.SIGN_IN))
        response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        response.set_cookie(
            SESSION_COOKIE, session_id, httponly=True, samesite="strict", secure=ctx.secure_cookies, path="/"
        )
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        principal = staff(request)
        if principal is None or principal.session is None:
            return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
        form = await read_form(request)
        if not csrf_ok(principal.session, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)):
            return _refusal(403, "Refused", "This request did not come from the status page.")
        ctx.sessions.close(request.cookies.get(SESSION_COOKIE))
        record(StaffAction(user=principal.name, action=ActionKind.SIGN_OUT))
        response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- pages -----------------------------------------------------------------------------------

    @router.get("/")
    def overview(request: Request) -> Response:
        return page(
            request,
            "/",
            "Overview",
            lambda s, v: render.overview(s, v, disk=disk_space(ctx.data_dir), cpu_c=cpu_temperature_c(ctx.thermal_dir)),
        )

    @router.get("/devices")
    def devices(request: Request) -> Response:
        return page(request, "/devices", "Devices", lambda s, v: render.devices(s, v) + safety_html.bay_charts(s, v))

    @router.get("/sync")
    def sync_page(request: Request) -> Response:
        return page(request, "/sync", "Sync with the hub", render.sync)

    @router.get("/events")
    def events_page(
        request: Request,
        type: Annotated[str, Query(max_length=64)] = "",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        def build(station: dict[str, Any], v: render.View) -> str:
            last = int((station.get("store") or {}).get("last_seq") or 0)
            found = recent_events(ctx, last, type.strip(), limit)
            return render.events(found, type.strip(), limit, render.station_zone(station))

        return page(request, "/events", "Recent events", build)

    @router.get(render.CONFIRM_OPEN.format(bay="{bay}"))
    def confirm_open_page(request: Request, bay: BayNumber) -> Response:
        # The nav and the form's way back are the Devices page's: this page is one step of it.
        return page(request, "/devices", f"Open bay {bay}?", lambda s, v: render.confirm_open(s, v, bay))

    @router.get(render.SIM_PAGE)
    def simulator_page(request: Request) -> Response:
        sim = ctx.sim
        if sim is None:
            return Response(status_code=status.HTTP_404_NOT_FOUND)
        return page(request, render.SIM_PAGE, "Simulator", lambda s, v: render.simulator(sim.get_status(), v))

    # --- actions ---------------------------------------------------------------------------------

    async def perform(request: Request, kind: ActionKind, bay: int | None, work: Work) -> Response:
        principal = staff(request)
        if principal is None or principal.session is None:
            return _refusal(401, "Sign in first", "Sign in on the status page before acting.")
        form = await read_form(request)
        if not csrf_ok(principal.session, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)):
            log.warning("a %s request by %s without a valid CSRF token was refused", kind.value, principal.name)
            return _refusal(403, "Refused", "This request did not come from the status page. Reload it and try again.")
        try:
            done = await work(form, principal.name)
        except ACTION_ERRORS as exc:
            error = str(exc).strip("'\"") or type(exc).__name__
            record(StaffAction(user=principal.name, action=kind, bay=bay, ok=False, error=error[:500]))
            principal.session.flash.append(f"That did not work: {error}")
        else:
            if not done.recorded:
                record(StaffAction(user=principal.name, action=kind, bay=bay, detail=done.detail))
            principal.session.flash.append(done.message)
        return RedirectResponse(_back(form), status_code=status.HTTP_303_SEE_OTHER)

    @router.post("/actions/bays/{bay}/open")
    async def open_bay(request: Request, bay: BayNumber) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            if ctx.unlock_bay is None:
                raise Unavailable("this station cannot open bays from here")
            note = await ctx.unlock_bay(bay)  # confirmed: a jammed lock raises, and is audited as failed
            return Done(f"Bay {bay} opened." if note is None else f"{note}.", note)

        return await perform(request, ActionKind.OPEN_BAY, bay, work)

    @router.post("/actions/bays/{bay}/out-of-service")
    async def out_of_service(request: Request, bay: BayNumber) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            reason = " ".join(form.get("reason", "").split())[:200]
            if not reason:
                raise ValueError("say why the bay goes out of service")
            if ctx.set_out_of_service is None:
                raise Unavailable("this station cannot take bays out of service from here")
            audit = StaffAction(user=user, action=ActionKind.OUT_OF_SERVICE, bay=bay, detail=reason)
            ctx.set_out_of_service(bay, reason, audit)
            return Done(f"Bay {bay} is out of service: swaps will not use it.", recorded=True)

        return await perform(request, ActionKind.OUT_OF_SERVICE, bay, work)

    @router.post("/actions/bays/{bay}/in-service")
    async def in_service(request: Request, bay: BayNumber) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            if ctx.set_out_of_service is None:
                raise Unavailable("this station cannot change bays' service from here")
            ctx.set_out_of_service(bay, None, StaffAction(user=user, action=ActionKind.BACK_IN_SERVICE, bay=bay))
            return Done(f"Bay {bay} is back in service.", recorded=True)

        return await perform(request, ActionKind.BACK_IN_SERVICE, bay, work)

    @router.post("/actions/bays/{bay}/clear-fault")
    async def clear_fault(request: Request, bay: BayNumber) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            if ctx.reset_fault is None:
                raise Unavailable("this station cannot clear faults from here")
            ctx.reset_fault(bay)
            return Done(f"Bay {bay}'s fault cleared; it shows again if the cause remains.")

        return await perform(request, ActionKind.CLEAR_FAULT, bay, work)

    @router.post("/actions/bays/{bay}/restock")
    async def restock(request: Request, bay: BayNumber) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            count = parse_stock(form.get("count", ""))
            if ctx.restock is None:
                raise Unavailable("this station has no goods bays to restock")
            ctx.restock(bay, count, StaffAction(user=user, action=ActionKind.RESTOCK, bay=bay, detail=f"count {count}"))
            return Done(f"Bay {bay} restocked: it holds {count} now.", recorded=True)

        return await perform(request, ActionKind.RESTOCK, bay, work)

    @router.post("/actions/safety/reset")
    async def reset_safety(request: Request) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            if ctx.reset_safety is None:
                raise Unavailable("this station cannot clear safety alarms from here")
            refusal = ctx.reset_safety(user)
            if refusal is not None:
                raise Unavailable(refusal)
            return Done("The cabinet's safety alarm is cleared; it comes back at once if the cause remains.")

        return await perform(request, ActionKind.CLEAR_SAFETY_ALARM, None, work)

    @router.post("/actions/scanner/test")
    async def test_scanner(request: Request) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            if ctx.trigger_scanner is not None:
                await ctx.trigger_scanner()
                return Done("The scanner was asked for one scan: hold a code in front of it.", "triggered")
            return Done(
                "This scanner reads by itself: hold any QR code in front of it and watch 'Last scan' change.",
                "watch",
            )

        return await perform(request, ActionKind.TEST_SCANNER, None, work)

    @router.post("/actions/sync-now")
    async def sync_now(request: Request) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            if ctx.sync_now is None:
                raise Unavailable("this station does not sync")
            result = await ctx.sync_now()
            if not result.get("ran"):
                raise Unavailable(str(result.get("reason") or "the sync round did not finish in time"))
            if result.get("last_error"):
                raise Unavailable(f"the hub could not be reached: {result['last_error']}")
            return Done(f"Synced: {result.get('backlog', 0)} events still waiting.")

        return await perform(request, ActionKind.SYNC_NOW, None, work)

    @router.post("/actions/restart-ui")
    async def restart_ui(request: Request) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            if ctx.restart_ui is None:
                raise Unavailable("this station cannot restart the touchscreen app from here")
            await ctx.restart_ui()
            return Done("The touchscreen app is restarting.")

        return await perform(request, ActionKind.RESTART_UI, None, work)

    @router.post("/actions/sim/{what:path}")
    async def simulator_action(request: Request, what: str) -> Response:
        async def work(form: dict[str, str], user: str) -> Done:
            if ctx.sim is None:
                raise Unavailable("the simulator runs only under 'kiosk sim'")
            return sim_action(ctx, what, form)

        return await perform(request, ActionKind.SIMULATOR, None, work)

    return router


def parse_stock(text: str) -> int:
    """A goods bay's new stock from a form field: a whole number from 0 to ``render.MAX_STOCK``, else ValueError."""
    words = text.strip()
    if not re.fullmatch(r"[0-9]{1,6}", words) or int(words) > render.MAX_STOCK:
        raise ValueError(f"the stock must be a whole number from 0 to {render.MAX_STOCK}, not {words!r}")
    return int(words)


def sim_action(ctx: ApiContext, what: str, form: dict[str, str]) -> Done:
    """Carry out one simulator control from a form (``what`` as in the form's URL)."""
    sim = ctx.sim
    assert sim is not None
    parts = what.split("/")
    if parts[:1] == ["bays"] and len(parts) == 3 and parts[1].isdigit():
        bay = int(parts[1])
        if parts[2] == "close-door":
            sim.close_door(bay)
            return Done(f"Simulator: bay {bay}'s door shut.", what)
        if parts[2] == "take":
            taken = sim.take_battery(bay)
            return Done(f"Simulator: battery {taken} taken from bay {bay}.", what)
        if parts[2] == "insert":
            body = BatteryBody(battery_id=form.get("battery_id", ""), soc_pct=float(form.get("soc_pct") or 20))
            sim.insert_battery(bay, body.battery_id, body.soc_pct, body.temperature_c)
            return Done(f"Simulator: battery {body.battery_id} put into bay {bay}.", f"{what} {body.battery_id}")
    if what == "scan":
        scan = ScanBody(text=form.get("text", ""))
        sim.scan(scan.text)
        return Done("Simulator: code shown to the scanner.", "scan")
    if what == "code":
        if ctx.issue_code is None:
            raise Unavailable("the simulator has no code issuer")
        code = CodeBody(rider_id=form.get("rider_id", "R-demo"), scope="swap", ttl_s=300)
        sim.scan(ctx.issue_code(code.rider_id, code.scope, code.ttl_s))
        return Done(f"Simulator: rider {code.rider_id} scanned a swap code.", f"code {code.rider_id}")
    if what in ("entry/open", "entry/close"):
        (sim.open_entry_door if what == "entry/open" else sim.close_entry_door)()
        return Done(f"Simulator: entry door {what.split('/')[1]}.", what)
    if what == "fault":
        bay_text = form.get("bay", "").strip()
        fault = FaultBody.model_validate(
            {"fault": form.get("fault"), "bay": int(bay_text) if bay_text else None, "on": form.get("on") != "0"}
        )
        sim.inject(fault.fault, fault.bay, fault.on)
        state = "on" if fault.on else "off"
        return Done(f"Simulator: fault {fault.fault} {state}.", f"fault {fault.fault} {fault.bay} {state}")
    raise Unavailable(f"the simulator has no control {what!r}")


def recent_events(ctx: ApiContext, last_seq: int, prefix: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` events whose type starts with ``prefix``, newest first (bounded look-back)."""
    found: list[dict[str, Any]] = []
    cursor = last_seq
    chunk = 500
    while cursor > 0 and len(found) < limit and last_seq - cursor < EVENTS_SCAN_LIMIT:
        start = max(0, cursor - chunk)
        batch = ctx.events_since(start, cursor - start)
        matching = [r.model_dump(mode="json") for r in batch if r.type.startswith(prefix)]
        found += matching[::-1][: limit - len(found)]
        cursor = start
    return found
