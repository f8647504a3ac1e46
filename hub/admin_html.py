"""The admin pages' HTML: pure functions over plain data (no storage, no requests), server-rendered, no scripts.

Everything that came from outside (station names, service titles, riders' feedback text, operators'
notes) goes through :func:`html.escape` exactly once, here. Every form carries the CSRF token it is given.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from urllib.parse import quote

from hub.fleet import FleetView
from hub.html_tables import PHONE_STYLE, card_table
from hub.storage.points_models import (
    Booking,
    BookingState,
    EntryKind,
    EntryStatus,
    FeedbackFigures,
    FeedbackRow,
    LedgerEntry,
    PointsFigures,
)
from hub.svg import bar_chart

CSRF_FIELD = "csrf"
"""The hidden form field that carries the CSRF token."""

STYLE = (
    """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#222;max-width:70rem}
nav a{margin-right:1rem}table{border-collapse:collapse;margin:.8rem 0}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right}.warn{color:#b00020}.ok{color:#2a7a2a}.muted{color:#666}
section.station{margin:1.5rem 0;border-top:1px solid #ddd;padding-top:.5rem}
textarea{width:100%;font-family:monospace}form.inline{display:inline}
p.message{padding:.5rem;border:1px solid #2a7a2a;background:#eef8ee}
div.problems{padding:.5rem;border:1px solid #b00020;background:#fdf0f0}
"""
    + PHONE_STYLE
)


@dataclass(frozen=True)
class StationFigures:
    """One station's row of the dashboard."""

    station_id: str
    name: str
    name_en: str
    points: PointsFigures | None
    """None: no points moved at the station in the period."""
    views: list[tuple[str, int]]
    """(service title, views), most viewed first."""
    feedback: FeedbackFigures | None
    recent: list[FeedbackRow]
    """The newest feedback, newest first."""


@dataclass(frozen=True)
class Dashboard:
    """Everything ``GET /admin`` shows."""

    generated_at: datetime
    days: int
    since: datetime
    utc_offset_minutes: int
    stations: list[StationFigures]
    credits: PointsFigures | None
    """Points operators credited at the hub (no station) in the period."""
    open_bookings: int
    """Bookings still waiting for the city's answer."""
    fleet: FleetView | None = None
    """Today's swaps and each station's health (the fleet page's figures), when the hub gives them."""


def local_time(moment: datetime | None, utc_offset_minutes: int) -> str:
    """``YYYY-MM-DD HH:MM`` in the city's time (``–`` for None)."""
    if moment is None:
        return "–"
    return moment.astimezone(timezone(timedelta(minutes=utc_offset_minutes))).strftime("%Y-%m-%d %H:%M")


def topic_label(topic: str) -> str:
    """A feedback topic id as words (``more_batteries`` → ``more batteries``)."""
    return topic.replace("_", " ")


def page(title: str, body: str, *, who: str, message: str | None = None) -> str:
    """A whole admin page: navigation, an optional message of what was just done, the body."""
    note = f'<p class="message" role="status">{escape(message)}</p>' if message else ""
    nav = (
        '<nav><a href="/admin">Dashboard</a><a href="/admin/bookings">Bookings</a>'
        '<a href="/admin/content">Content</a><a href="/admin/riders">Riders</a><a href="/fleet">Fleet</a>'
        + (f'<span class="muted">signed in as {escape(who)}</span> <a href="/logout">Sign out</a>' if who else "")
        + "</nav>"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · kiosk-hub admin</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>'
        f"{nav}<h1>{escape(title)}</h1>{note}{body}</body></html>"
    )


def problem_page(title: str, text: str, *, who: str) -> str:
    """A page that says in plain words why an action was refused or failed."""
    return page(title, f'<p class="warn" role="alert">{escape(text)}</p><p><a href="/admin">Back</a></p>', who=who)


def hidden_csrf(token: str) -> str:
    """The hidden CSRF field every form carries."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'


# --- dashboard -------------------------------------------------------------------------------------


def _points_cells(figures: PointsFigures | None) -> str:
    issued, spent, rejected = (0, 0, 0) if figures is None else (figures.issued, figures.spent, figures.rejected_spends)
    over_limit = 0 if figures is None else figures.rejected_earnings
    warn = ' class="num warn"' if rejected else ' class="num"'
    limit_cls = ' class="num warn"' if over_limit else ' class="num"'
    return (
        f'<td class="num" data-field="issued">{issued}</td><td class="num" data-field="spent">{spent}</td>'
        f'<td{warn} data-field="rejected">{rejected}</td>'
        f'<td{limit_cls} data-field="over_limit">{over_limit}</td>'
    )


def _feedback_cells(figures: FeedbackFigures | None) -> str:
    if figures is None or figures.count == 0:
        return '<td class="num" data-field="feedback">0</td><td class="num" data-field="rating">–</td>'
    return (
        f'<td class="num" data-field="feedback">{figures.count}</td>'
        f'<td class="num" data-field="rating">{figures.average_rating:.1f}</td>'
    )


def _summary_row(row: StationFigures) -> str:
    views = sum(count for _, count in row.views)
    sid = escape(row.station_id)
    return (
        f'<tr id="row-{sid}"><td><a href="#station-{sid}">{sid}</a></td>'
        f"<td>{escape(row.name)}<br>{escape(row.name_en)}</td>{_points_cells(row.points)}"
        f'<td class="num" data-field="views">{views}</td>{_feedback_cells(row.feedback)}</tr>'
    )


def _feedback_block(row: StationFigures, utc_offset_minutes: int) -> str:
    figures = row.feedback
    if figures is None or figures.count == 0:
        return "<p>No feedback in this period.</p>"
    topics = sorted(figures.topics.items(), key=lambda kv: (-kv[1], kv[0]))
    chart = bar_chart([(topic_label(t), n) for t, n in topics], title=f"{row.station_id}: suggestions picked")
    texts = "".join(
        f'<li class="feedback"><span class="muted">{escape(local_time(f.at, utc_offset_minutes))} · {f.rating}/5 · '
        f"{escape(topic_label(f.topic))}{' · rider ' + escape(f.rider_id) if f.rider_id else ''}</span><br>"
        f"{escape(f.text)}</li>"
        for f in row.recent
        if f.text
    )
    newest = f"<h4>Newest words from riders</h4><ul>{texts}</ul>" if texts else ""
    return f"<p>{figures.count} answers, average rating {figures.average_rating:.1f} of 5.</p>{chart}{newest}"


def _station_section(row: StationFigures, utc_offset_minutes: int) -> str:
    sid = escape(row.station_id)
    views = (
        bar_chart(row.views, title=f"{row.station_id}: service views")
        if row.views
        else "<p>No service views in this period.</p>"
    )
    return (
        f'<section class="station" id="station-{sid}"><h3>{escape(row.name)} · {escape(row.name_en)} ({sid})</h3>'
        f"<h4>Service demand</h4>{views}<h4>Feedback</h4>{_feedback_block(row, utc_offset_minutes)}"
        f'<p><a href="/admin/bookings?station={quote(row.station_id)}">Bookings at this station</a></p></section>'
    )


SUMMARY_HEADINGS = (
    "station",
    "name",
    "points issued",
    "points spent",
    "rejected double spends",
    "earnings refused (daily limit)",
    "service views",
    "feedback",
    "average rating",
)
HEALTH_HEADINGS = ("station", "last seen", "swaps today", "charged now", "backlog", "warnings")


def _health_table(fleet: FleetView, utc_offset_minutes: int) -> str:
    """Swaps today and each station's health, as on ``/fleet`` (where the charts and gaps are)."""
    rows = []
    for r in fleet.rows:
        sid = escape(r.station.id)
        warn = (
            f'<span class="warn">{len(r.warnings)}: {escape(r.warnings[0])}{" …" if len(r.warnings) > 1 else ""}</span>'
            if r.warnings
            else '<span class="ok">none</span>'
        )
        rows.append(
            f'<tr id="health-{sid}"><td><a href="/fleet#{sid}">{sid}</a></td>'
            f"<td>{escape(local_time(r.last_seen, utc_offset_minutes))}</td>"
            f'<td class="num" data-field="swaps">{r.swaps[-1] if r.swaps else 0}</td>'
            f'<td class="num" data-field="charged">{"–" if r.charged is None else r.charged}</td>'
            f'<td class="num" data-field="backlog">{"–" if r.backlog is None else r.backlog}</td>'
            f'<td data-field="warnings">{warn}</td></tr>'
        )
    table = card_table(HEALTH_HEADINGS, rows, table_id="health", empty="No stations yet.")
    return (
        f'<h2 id="fleet-health">Swaps and station health today</h2>{table}'
        '<p><a href="/fleet">Fleet: swaps, entries and health per day, gaps in the stations\' records</a></p>'
    )


def render_dashboard(view: Dashboard, *, who: str) -> str:
    """``GET /admin``: points, service demand and feedback per station over the last ``days`` days."""
    since = local_time(view.since, view.utc_offset_minutes)
    rows = [_summary_row(r) for r in view.stations]
    summary = card_table(SUMMARY_HEADINGS, rows, table_id="summary", empty="No stations yet.")
    credits = view.credits.issued if view.credits is not None else 0
    charts = bar_chart(
        [(r.station_id, r.points.issued if r.points else 0) for r in view.stations], title="Points issued"
    ) + bar_chart([(r.station_id, r.points.spent if r.points else 0) for r in view.stations], title="Points spent")
    periods = " ".join(
        f'<a href="/admin?days={d}">{label}</a>' if d != view.days else f"<strong>{label}</strong>"
        for d, label in ((1, "today"), (7, "7 days"), (30, "30 days"), (90, "90 days"))
    )
    waiting = (
        f'<p><a href="/admin/bookings?status=requested">{view.open_bookings} bookings wait for an answer</a></p>'
        if view.open_bookings
        else "<p>No bookings wait for an answer.</p>"
    )
    health = _health_table(view.fleet, view.utc_offset_minutes) if view.fleet is not None else ""
    sections = "".join(_station_section(r, view.utc_offset_minutes) for r in view.stations)
    body = (
        f"<p>The last {view.days} days, today included (since {escape(since)}). Show: {periods}</p>{waiting}"
        f"{summary}"
        f'<p id="credits">Points credited by operators at the hub: {credits}</p>{charts}'
        f"{health}<h2>Stations</h2>{sections}"
    )
    return page("Rider services", body, who=who)


# --- bookings --------------------------------------------------------------------------------------


def _booking_actions(booking: Booking, csrf: str) -> str:
    if booking.status not in (BookingState.REQUESTED, BookingState.CONFIRMED):
        return ""
    bid = escape(booking.booking_id)
    confirm = (
        f'<button type="submit" name="status" value="confirmed" data-test="confirm-{bid}">Confirm</button>'
        if booking.status is BookingState.REQUESTED
        else ""
    )
    return (
        f'<form method="post" action="/admin/bookings/{quote(booking.booking_id)}">{hidden_csrf(csrf)}'
        f'<input name="note" maxlength="200" placeholder="note to the rider" aria-label="note">'
        f'{confirm}<button type="submit" name="status" value="declined" data-test="decline-{bid}">Decline</button>'
        "</form>"
    )


def _booking_row(booking: Booking, titles: dict[str, str], csrf: str, utc_offset_minutes: int) -> str:
    service = titles.get(booking.service_id, booking.service_id)
    return (
        f'<tr id="booking-{escape(booking.booking_id)}"><td>{escape(booking.booking_id)}</td>'
        f"<td>{escape(booking.station_id)}</td>"
        f'<td><a href="/admin/riders?rider={quote(booking.rider_id)}">{escape(booking.rider_id)}</a></td>'
        f"<td>{escape(service)}</td><td>{escape(booking.slot_id)}<br>"
        f"{escape(local_time(booking.starts, utc_offset_minutes))}</td>"
        f'<td data-field="status">{escape(booking.status.value)}</td><td>{escape(booking.note)}</td>'
        f"<td>{escape(local_time(booking.requested_at, utc_offset_minutes))}</td>"
        f"<td>{_booking_actions(booking, csrf)}</td></tr>"
    )


def render_bookings(
    bookings: Sequence[Booking],
    *,
    status: BookingState | None,
    titles: dict[str, str],
    csrf: str,
    who: str,
    utc_offset_minutes: int,
    message: str | None = None,
) -> str:
    """``GET /admin/bookings``: the bookings (of one status, or all) with Confirm / Decline forms."""
    filters = " ".join(
        f"<strong>{label}</strong>" if value == (status.value if status else "") else f'<a href="{href}">{label}</a>'
        for value, label, href in [
            ("", "all", "/admin/bookings"),
            *((s.value, s.value, f"/admin/bookings?status={s.value}") for s in BookingState),
        ]
    )
    headings = ("booking", "station", "rider", "service", "slot", "status", "note", "requested", "answer")
    rows = [_booking_row(b, titles, csrf, utc_offset_minutes) for b in bookings]
    table = card_table(headings, rows, table_id="bookings") if rows else "<p>No bookings here.</p>"
    return page("Bookings", f"<p>Show: {filters}</p>{table}", who=who, message=message)


# --- riders ----------------------------------------------------------------------------------------

_SIGN = {EntryKind.EARNED: "+", EntryKind.CREDITED: "+", EntryKind.REFUNDED: "+", EntryKind.SPENT: "−"}


def _ledger_row(entry: LedgerEntry, utc_offset_minutes: int) -> str:
    what = entry.rule or entry.item_id or ""
    status = (
        '<span class="ok">applied</span>'
        if entry.status is EntryStatus.APPLIED
        else '<span class="warn">rejected</span>'
    )
    return (
        f"<tr><td>{escape(local_time(entry.at, utc_offset_minutes))}</td><td>{escape(entry.kind.value)}</td>"
        f'<td class="num">{_SIGN[entry.kind]}{entry.points}</td><td>{status}</td>'
        f"<td>{escape(entry.station_id or 'hub')}</td><td>{escape(what)}</td><td>{escape(entry.reason)}</td></tr>"
    )


def render_rider(
    rider_id: str | None,
    *,
    balance: int | None,
    ledger: Sequence[LedgerEntry],
    csrf: str,
    who: str,
    utc_offset_minutes: int,
    message: str | None = None,
) -> str:
    """``GET /admin/riders``: look a rider up; their balance, ledger and a form to credit points."""
    lookup = (
        '<form method="get" action="/admin/riders"><label>Rider id '
        f'<input name="rider" value="{escape(rider_id or "")}" maxlength="20" required></label>'
        '<button type="submit">Show</button></form>'
    )
    if rider_id is None:
        return page("Riders", lookup, who=who, message=message)
    headings = ("when", "what", "points", "status", "station", "for", "note")
    rows = [_ledger_row(e, utc_offset_minutes) for e in ledger]
    table = card_table(headings, rows, table_id="ledger") if rows else "<p>No points moved yet.</p>"
    credit = (
        f'<h2>Credit points</h2><form method="post" action="/admin/riders/credit" id="credit">{hidden_csrf(csrf)}'
        f'<input type="hidden" name="rider" value="{escape(rider_id)}">'
        f'<input type="hidden" name="once" value="{uuid.uuid4().hex}">'
        '<label>Points <input name="points" type="number" min="1" max="1000000" required></label> '
        '<label>Reason <input name="reason" maxlength="200" required placeholder="community report: broken light">'
        '</label> <button type="submit" data-test="credit">Credit</button></form>'
    )
    body = (
        f'{lookup}<h2>Rider {escape(rider_id)}</h2><p>Balance: <strong id="balance">{balance or 0}</strong> points</p>'
        f"{credit}<h2>Ledger</h2>{table}"
    )
    return page("Riders", body, who=who, message=message)
