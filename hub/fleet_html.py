"""The fleet page: one server-rendered HTML document with inline SVG charts (no scripts, no assets)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from hub.admin_html import page
from hub.fleet import FleetView, StationRow
from hub.html_tables import card_table
from hub.svg import bar_chart, line_chart

SUMMARY_HEADINGS = (
    "station",
    "name",
    "last seen",
    "backlog",
    "charged",
    "high water",
    "gaps",
    "swaps today",
    "entries today",
    "service views today",
    "warnings",
)


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    ago = (
        f"{seconds} s ago"
        if seconds < 120
        else f"{seconds // 60} min ago"
        if seconds < 7200
        else f"{seconds // 3600} h ago"
    )
    return f'<time datetime="{moment.isoformat()}">{escape(moment.strftime("%Y-%m-%d %H:%M"))} UTC ({ago})</time>'


def _cell(value: int | None) -> str:
    return '<td class="num">–</td>' if value is None else f'<td class="num">{value}</td>'


def _summary_row(row: StationRow, view: FleetView) -> str:
    warnings = (
        '<ul class="warn">' + "".join(f"<li>{escape(w)}</li>" for w in row.warnings) + "</ul>"
        if row.warnings
        else '<span class="ok">none</span>'
    )
    gaps = ", ".join(f"{g.first}–{g.last}" if g.size > 1 else str(g.first) for g in row.gaps) or "none"
    return (
        f'<tr><td><a href="#{escape(row.station.id)}">{escape(row.station.id)}</a></td>'
        f"<td>{escape(row.station.name)}<br>{escape(row.station.name_en)}</td>"
        f"<td>{_when(row.last_seen, view.generated_at)}</td>{_cell(row.backlog)}{_cell(row.charged)}"
        f'<td class="num">{row.station.high_water_seq}</td><td>{escape(gaps)}</td>'
        f'<td class="num">{row.swaps[-1]}</td><td class="num">{row.entries[-1]}</td>'
        f'<td class="num">{row.service_views[-1]}</td><td>{warnings}</td></tr>'
    )


def _station_section(row: StationRow, labels: list[str]) -> str:
    chart = line_chart(
        labels,
        [("swaps", row.swaps), ("entries", row.entries), ("service views", row.service_views)],
        title=f"{row.station.id}: use per day",
    )
    services = (
        "<p>Most viewed services: "
        + ", ".join(f"{escape(name)} ({count})" for name, count in row.top_services)
        + "</p>"
        if row.top_services
        else "<p>No service views in this period.</p>"
    )
    return (
        f'<section class="station" id="{escape(row.station.id)}"><h3>{escape(row.station.name)}'
        f" · {escape(row.station.name_en)} ({escape(row.station.id)})</h3>{chart}{services}</section>"
    )


def _alarms(view: FleetView) -> str:
    """Safety alarms of the last day, newest first, above everything else; nothing when there are none."""
    if not view.alarms:
        return ""
    rows = "".join(
        f'<tr class="{escape(a.level)}"><td>{escape(a.level.upper())}</td><td>{escape(a.station_id)}</td>'
        f"<td>{'cabinet' if a.bay is None else f'bay {a.bay}'}</td><td>{escape(', '.join(a.reasons))}</td>"
        f"<td>{'' if a.temperature_c is None else f'{a.temperature_c:.1f} °C'}</td>"
        f"<td>{_when(a.received_at, view.generated_at)}</td></tr>"
        for a in view.alarms
    )
    return (
        '<section class="alarms" id="alarms" style="border:3px solid #b00020;background:#fff0f0;padding:.5rem 1rem">'
        f'<h2 style="color:#b00020">Safety alarms ({len(view.alarms)} in the last 24 h)</h2>'
        "<table><tr><th>level</th><th>station</th><th>where</th><th>why</th><th>temperature</th>"
        f"<th>arrived</th></tr>{rows}</table></section>"
    )


def _flags_section(view: FleetView) -> str:
    """The newest flagged events: what the hub refused or did not credit, and why."""
    if not view.flags:
        return ""
    total = sum(r.flagged for r in view.rows)
    rows = "".join(
        f"<tr><td>{_when(f.at, view.generated_at)}</td><td>{escape(f.station_id)}</td><td>{escape(f.kind.value)}</td>"
        f"<td>{escape(f.event_id or '')}</td><td>{escape(f.detail)}</td></tr>"
        for f in view.flags
    )
    return (
        f'<h2 id="flagged">Flagged events ({total})</h2><p class="warn">Events the hub refused or did not credit'
        " because they disagree with its rules or records: a station running an old bundle, broken, or lying."
        f"</p><table><tr><th>noticed</th><th>station</th><th>what</th><th>event</th><th>detail</th></tr>{rows}</table>"
    )


def _due_section(view: FleetView) -> str:
    """Packs due for retirement: worn, hot, retired but still in service, or unregistered but seen."""
    in_service, retired = view.registry
    head = (
        f'<h2 id="batteries-due">Batteries due for retirement ({view.due_count})</h2>'
        f"<p>The registry holds {in_service} packs in service and {retired} retired."
        " A pack is due when its lowest reported state of health is below 70 %, it has charged more than 1,000 cycles,"
        " a reading reached 60 °C, or a retired or unregistered pack is still seen at a station"
        " (<code>kiosk-hub batteries due</code> takes other limits).</p>"
    )
    if not view.due:
        return head + "<p>No pack is due.</p>"
    rows = "".join(
        f'<tr data-battery="{escape(d.battery_id)}"><td>{escape(d.battery_id)}</td>'
        f"<td>{escape(d.record.model if d.record else 'not registered')}</td>"
        f"<td>{escape('; '.join(d.reasons))}</td>"
        f"<td>{escape(d.seen.last_station) if d.seen else ''}</td>"
        f"<td>{_when(d.seen.last_seen, view.generated_at) if d.seen else ''}</td></tr>"
        for d in view.due
    )
    more = f"<p>… and {view.due_count - len(view.due)} more.</p>" if view.due_count > len(view.due) else ""
    return (
        f'{head}<table id="due"><tr><th>battery</th><th>model</th><th>why</th><th>last station</th>'
        f"<th>last seen</th></tr>{rows}</table>{more}"
    )


def render_fleet(view: FleetView, *, who: str = "") -> str:
    """The whole fleet page, with the admin pages' navigation (``who``: the operator signed in)."""
    labels = [d.strftime("%m-%d") for d in view.days]
    offset = view.utc_offset_minutes
    tz = f"UTC{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    fleet_chart = line_chart(
        labels,
        [
            ("swaps", view.totals("swaps")),
            ("entries", view.totals("entries")),
            ("service views", view.totals("service_views")),
        ],
        title=f"All stations: use per day ({tz})",
        width=800,
        height=240,
    )
    batteries = bar_chart(
        [(r.station.id, r.charged) for r in view.rows if r.charged is not None],
        title="Charged batteries now (last heartbeat)",
    )
    rows = [_summary_row(r, view) for r in view.rows]
    table = card_table(SUMMARY_HEADINGS, rows, table_id="fleet", empty="No stations yet.")
    sections = "".join(_station_section(r, labels) for r in view.rows)
    body = (
        f"{_alarms(view)}<p>{len(view.rows)} stations, as of {_when(view.generated_at, view.generated_at)}."
        ' <a href="/fleet.csv">Download CSV</a> · <a href="/admin">Rider services</a></p>'
        f"{table}{_flags_section(view)}{_due_section(view)}{fleet_chart}{batteries}<h2>Stations</h2>{sections}"
    )
    return page("Fleet", body, who=who)
