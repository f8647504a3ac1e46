"""The city's admin pages for the rider services: dashboard, bookings, content, riders' points.

- ``GET /admin`` — points issued / spent / rejected, service demand and feedback per station (``?days=``)
- ``GET /admin/bookings`` (``?status=``) and ``POST /admin/bookings/{id}`` — confirm or decline
- ``GET /admin/content`` and ``POST /admin/content`` — the content as tables; check or save an edited JSON
- ``GET /admin/riders?rider=ID`` and ``POST /admin/riders/credit`` — a rider's ledger; credit points

All for operators only (a session from ``/login`` or an ``operator`` API key, :mod:`hub.operators`). A
browser sends the session cookie on its own, so every POST must carry the token only our own pages hand
out (the session's CSRF token) and, when the browser says where the form came from (``Origin``), come
from the hub itself. What an operator does is recorded under their name. Pages are rendered by
:mod:`hub.admin_html` and :mod:`hub.admin_content`; this module reads storage and forms.
"""

# No "from __future__ import annotations": FastAPI must see the real annotations of the endpoints, which
# refer to the operator dependency given to admin_router.
import dataclasses
import hashlib
import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.admin_content import check_content, render_content
from hub.admin_html import (
    CSRF_FIELD,
    Dashboard,
    StationFigures,
    problem_page,
    render_bookings,
    render_dashboard,
    render_rider,
)
from hub.auth import Operator
from hub.content import Content
from hub.fleet import FleetView
from hub.storage import Station
from hub.storage.points_models import (
    Booking,
    BookingState,
    FeedbackFigures,
    FeedbackRow,
    LedgerEntry,
    PointsFigures,
)

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 1024 * 1024
"""Largest admin form the hub reads (the content editor's JSON is the big one)."""
MAX_DAYS = 366
RECENT_FEEDBACK = 5
"""Newest feedback texts shown per station."""
RIDER_ID_MAX = 20
REASON_MAX = 200
POINTS_MAX = 1_000_000


class AdminStorage(Protocol):
    """What the admin pages read and change in the hub's storage (:class:`hub.storage.Storage` has it all)."""

    def now(self) -> datetime:
        """The hub's wall-clock time."""
        ...

    def stations(self) -> list[Station]:
        """Every registered station."""
        ...

    def content(self) -> Content:
        """The city's content."""
        ...

    def load_content(self, content: Content) -> None:
        """Replace the city's content."""
        ...

    def service_views(self, since: datetime) -> dict[str, Counter[str]]:
        """Per station, views per service id."""
        ...

    def points_by_station(self, since: datetime) -> list[PointsFigures]:
        """Points issued, spent and rejected per station."""
        ...

    def feedback_by_station(self, since: datetime) -> list[FeedbackFigures]:
        """Feedback figures per station."""
        ...

    def recent_feedback(self, *, limit: int = 50, station_id: str | None = None) -> list[FeedbackRow]:
        """The newest feedback, newest first."""
        ...

    def bookings(
        self, *, status: BookingState | None = None, station_id: str | None = None, limit: int = 200
    ) -> list[Booking]:
        """Bookings, newest first."""
        ...

    def set_booking_status(self, booking_id: str, status: BookingState, note: str = "") -> Booking:
        """Answer a booking (KeyError: unknown id; ValueError: cannot, in plain words)."""
        ...

    def balance(self, rider_id: str) -> int:
        """A rider's points."""
        ...

    def ledger(
        self, *, rider_id: str | None = None, station_id: str | None = None, limit: int = 100
    ) -> list[LedgerEntry]:
        """Points entries, newest first."""
        ...

    def credit_points(
        self, rider_id: str, points: int, reason: str, *, by: str, once: str | None = None
    ) -> LedgerEntry:
        """Credit a rider at the hub."""
        ...


# --- CSRF ------------------------------------------------------------------------------------------


class CsrfTokens:
    """Tokens that tie a form to the operator it was rendered for, under a secret made when the hub starts.

    A restart makes a new secret: a form left open across it is refused once and works after a reload.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def token(self, who: str) -> str:
        """The token the forms rendered for ``who`` carry."""
        return hmac.new(self._secret, who.encode("utf-8"), hashlib.sha256).hexdigest()

    def valid(self, who: str, presented: str | None) -> bool:
        """Whether ``presented`` is ``who``'s token (constant-time)."""
        return presented is not None and hmac.compare_digest(self.token(who), presented)


def origin_ok(origin: str | None, host: str | None) -> bool:
    """Whether a request's ``Origin`` (when the browser sent one) is the hub itself (``Host``).

    Only host and port are compared: behind a TLS-terminating proxy the hub sees ``http`` while the
    browser says ``https``, and another site always differs in host or port anyway. ``null`` (a sandboxed
    or privacy-stripped origin) is not the hub.
    """
    if origin is None:
        return True
    if not host:
        return False
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value of each field)."""
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50)
    return {name: values[0] for name, values in fields.items()}


async def read_form(request: Request) -> dict[str, str]:
    """The request's form fields; empty for a body that is too big or not a form."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        return parse_form(body)
    except ValueError:  # more fields than any admin form has
        return {}


# --- the dashboard's data --------------------------------------------------------------------------


def since_days(now: datetime, days: int, utc_offset_minutes: int) -> datetime:
    """The start of the local day ``days - 1`` days before today (so ``days=1`` is today), in UTC."""
    local = timezone(timedelta(minutes=utc_offset_minutes))
    first = now.astimezone(local).date() - timedelta(days=days - 1)
    return datetime.combine(first, datetime.min.time(), tzinfo=local).astimezone(UTC)


def gather_dashboard(storage: AdminStorage, *, days: int, utc_offset_minutes: int) -> Dashboard:
    """Everything ``GET /admin`` shows, read once."""
    now = storage.now()
    since = since_days(now, days, utc_offset_minutes)
    titles = {s.id: s.title_en or s.title_zh for s in storage.content().services}
    points = {f.station_id: f for f in storage.points_by_station(since)}
    feedback = {f.station_id: f for f in storage.feedback_by_station(since)}
    views = storage.service_views(since)
    stations = {s.id: s for s in storage.stations()}
    # A station that sent figures but is no longer registered is still shown: its riders' points count.
    ids = sorted(set(stations) | {sid for sid in points if sid is not None} | set(feedback) | set(views))
    rows = []
    for sid in ids:
        known = stations.get(sid)
        recent = (
            storage.recent_feedback(limit=RECENT_FEEDBACK, station_id=sid)
            if sid in feedback and feedback[sid].count
            else []
        )
        rows.append(
            StationFigures(
                station_id=sid,
                name=known.name if known else "(not registered)",
                name_en=known.name_en if known else "",
                points=points.get(sid),
                views=[(titles.get(service, service), n) for service, n in views.get(sid, Counter()).most_common()],
                feedback=feedback.get(sid),
                recent=recent,
            )
        )
    return Dashboard(
        generated_at=now,
        days=days,
        since=since,
        utc_offset_minutes=utc_offset_minutes,
        stations=rows,
        credits=points.get(None),
        open_bookings=len(storage.bookings(status=BookingState.REQUESTED, limit=1000)),
    )


@dataclass(frozen=True)
class CreditForm:
    """A checked credit form."""

    rider_id: str
    points: int
    reason: str
    once: str | None = None
    """The form's one-time id: sending the same form twice credits once."""


def check_credit(form: dict[str, str]) -> CreditForm | str:
    """The credit form's fields, or what is wrong with them in plain words."""
    rider = form.get("rider", "").strip()
    reason = " ".join(form.get("reason", "").split())
    if not rider or len(rider) > RIDER_ID_MAX:
        return f"The rider id must be 1 to {RIDER_ID_MAX} characters."
    try:
        points = int(form.get("points", "").strip())
    except ValueError:
        return "Points must be a whole number, like 10."
    if not 1 <= points <= POINTS_MAX:
        return f"Points must be between 1 and {POINTS_MAX}."
    if not reason:
        return "Say why the rider gets these points (for example: community report of a broken light)."
    if len(reason) > REASON_MAX:
        return f"The reason is too long ({len(reason)} characters; at most {REASON_MAX})."
    once = form.get("once", "").strip() or None
    if once is not None and not once.replace("-", "").replace("_", "").isalnum():
        return "The form is damaged (its one-time id); reload the page and try again."
    return CreditForm(rider, points, reason, once)


# --- the router ------------------------------------------------------------------------------------


def _html(text: str, status: int = 200) -> HTMLResponse:
    # The pages show riders' data and carry tokens: keep them out of shared caches and other sites' frames.
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
    return HTMLResponse(text, status, headers=headers)


def _see(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def admin_router(
    storage: AdminStorage,
    operator_auth: Callable[..., Operator],
    *,
    utc_offset_minutes: int = 0,
    fleet: Callable[[], FleetView] | None = None,
) -> APIRouter:
    """The admin pages, each behind ``operator_auth`` (the dependency that guards ``/fleet``).

    ``fleet`` gives today's fleet figures, so the dashboard shows swaps and health beside the points.
    """
    router = APIRouter(tags=["admin"], include_in_schema=False)
    Who = Annotated[Operator, Depends(operator_auth)]
    Form = Annotated[dict[str, str], Depends(read_form)]

    def refused(request: Request, who: Operator, form: dict[str, str]) -> HTMLResponse | None:
        if not origin_ok(request.headers.get("origin"), request.headers.get("host")):
            origin = request.headers["origin"]
            log.warning("an admin form from %s by %s was refused (foreign origin)", origin, who.label)
            text = "This form was sent from another web site, not from the hub's own pages, so nothing was done."
            return _html(problem_page("Refused", text, who=who.label), 403)
        if not hmac.compare_digest(who.csrf.encode(), form.get(CSRF_FIELD, "").encode()):
            log.warning("an admin form by %s without a valid token was refused", who.label)
            text = (
                "This form did not come from the hub's admin pages (its token is missing or out of date), so nothing"
                " was done. Open the page again and repeat the action."
            )
            return _html(problem_page("Refused", text, who=who.label), 403)
        return None

    def titles() -> dict[str, str]:
        return {s.id: s.title_en or s.title_zh for s in storage.content().services}

    @router.get("/admin", response_class=HTMLResponse)
    def dashboard(who: Who, days: int = 7) -> HTMLResponse:
        """Points, service demand and feedback per station."""
        view = gather_dashboard(storage, days=max(1, min(days, MAX_DAYS)), utc_offset_minutes=utc_offset_minutes)
        if fleet is not None:
            view = dataclasses.replace(view, fleet=fleet())
        return _html(render_dashboard(view, who=who.label))

    def bookings_page(
        who: Operator,
        status: BookingState | None,
        station: str | None,
        message: str | None = None,
        code: int = 200,
    ) -> HTMLResponse:
        found = storage.bookings(status=status, station_id=station or None)
        text = render_bookings(
            found,
            status=status,
            titles=titles(),
            csrf=who.csrf,
            who=who.label,
            utc_offset_minutes=utc_offset_minutes,
            message=message,
        )
        return _html(text, code)

    @router.get("/admin/bookings", response_class=HTMLResponse)
    def bookings(who: Who, status: str = "", station: str = "", answered: str = "") -> HTMLResponse:
        """Bookings, optionally of one status or station, with Confirm / Decline forms."""
        wanted = BookingState(status) if status in {s.value for s in BookingState} else None
        message = None
        if answered:
            match = next((b for b in storage.bookings(limit=1000) if b.booking_id == answered), None)
            if match is not None:
                message = f"Booking {match.booking_id} is now {match.status.value}."
        return bookings_page(who, wanted, station, message)

    @router.post("/admin/bookings/{booking_id}", response_class=HTMLResponse)
    def answer_booking(request: Request, booking_id: str, who: Who, form: Form) -> Response:
        """Confirm or decline a booking, with an optional note to the rider."""
        refusal = refused(request, who, form)
        if refusal is not None:
            return refusal
        choice = form.get("status", "")
        if choice not in (BookingState.CONFIRMED.value, BookingState.DECLINED.value):
            return bookings_page(who, None, None, "Choose Confirm or Decline.", 422)
        note = " ".join(form.get("note", "").split())[:REASON_MAX]
        try:
            storage.set_booking_status(booking_id, BookingState(choice), note)
        except KeyError:
            return _html(problem_page("Not found", f"There is no booking {booking_id}.", who=who.label), 404)
        except ValueError as exc:
            return bookings_page(who, None, None, f"Booking {booking_id} was not changed: {exc}", 409)
        log.info("operator %s set booking %s to %s", who.label, booking_id, choice)
        return _see(f"/admin/bookings?answered={quote(booking_id)}")

    def content_page(
        who: Operator, text: str | None, problems: list[str], message: str | None = None, code: int = 200
    ) -> HTMLResponse:
        page_text = render_content(
            storage.content(),
            text=text,
            problems=problems,
            csrf=who.csrf,
            who=who.label,
            utc_offset_minutes=utc_offset_minutes,
            message=message,
        )
        return _html(page_text, code)

    @router.get("/admin/content", response_class=HTMLResponse)
    def content(who: Who, saved: int = 0) -> HTMLResponse:
        """The catalogue, rules and services, and the editor with the current content."""
        message = "The content was saved. Stations get it at their next bundle fetch." if saved else None
        return content_page(who, None, [], message)

    @router.post("/admin/content", response_class=HTMLResponse)
    def edit_content(request: Request, who: Who, form: Form) -> Response:
        """Check an edited content JSON, or check and save it (replacing the content at once)."""
        refusal = refused(request, who, form)
        if refusal is not None:
            return refusal
        text = form.get("content", "")
        checked = check_content(text)
        if not checked.ok or checked.content is None:
            # The operator's text comes back in the editor as typed: nothing they wrote is lost.
            return content_page(who, text, checked.problems, None, 422)
        if form.get("action") != "save":
            return content_page(who, text, [], "No problems found. Nothing was saved yet: press Save to save it.")
        storage.load_content(checked.content)
        log.info("operator %s saved the content", who.label)
        return _see("/admin/content?saved=1")

    def rider_page(who: Operator, rider: str | None, message: str | None = None, code: int = 200) -> HTMLResponse:
        text = render_rider(
            rider,
            balance=storage.balance(rider) if rider else None,
            ledger=storage.ledger(rider_id=rider) if rider else [],
            csrf=who.csrf,
            who=who.label,
            utc_offset_minutes=utc_offset_minutes,
            message=message,
        )
        return _html(text, code)

    @router.get("/admin/riders", response_class=HTMLResponse)
    def riders(who: Who, rider: str = "", entry: str = "") -> HTMLResponse:
        """A rider's balance and ledger, and the form to credit points."""
        rider = rider.strip()
        if len(rider) > RIDER_ID_MAX:
            return rider_page(who, None, f"A rider id has at most {RIDER_ID_MAX} characters.", 422)
        message = None
        if rider and entry:
            done = next((e for e in storage.ledger(rider_id=rider) if e.entry_id == entry), None)
            if done is not None:
                message = f"Credited {done.points} points to rider {done.rider_id}: {done.reason}."
        return rider_page(who, rider or None, message)

    @router.post("/admin/riders/credit", response_class=HTMLResponse)
    def credit(request: Request, who: Who, form: Form) -> Response:
        """Credit a rider points at the hub (a community report, a goodwill gesture)."""
        refusal = refused(request, who, form)
        if refusal is not None:
            return refusal
        checked = check_credit(form)
        if isinstance(checked, str):
            rider = form.get("rider", "").strip()
            return rider_page(who, rider if 0 < len(rider) <= RIDER_ID_MAX else None, checked, 422)
        try:
            entry = storage.credit_points(
                checked.rider_id, checked.points, checked.reason, by=who.label, once=checked.once
            )
        except ValueError as exc:  # the storage's own checks, should ours ever be looser
            return rider_page(who, checked.rider_id, f"Nothing was credited: {exc}.", 422)
        log.info("operator %s credited %d points to rider %s", who.label, checked.points, checked.rider_id)
        return _see(f"/admin/riders?rider={quote(checked.rider_id)}&entry={quote(entry.entry_id)}")

    return router
