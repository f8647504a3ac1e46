"""The status page's HTML: pure functions of the status dict, light enough for a phone, no inline script.

Every part that changes while staff watch is a ``<section data-live id=…>``: ``/static/live.js``
fetches the same page again when the station records an event (and every few seconds) and swaps those
sections in, so the server is the only place that knows how a bay is drawn. Every action is a small
POST form carrying the session's CSRF token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.api.auth import CSRF_FIELD
from kiosk.api.system import DiskSpace, format_bytes
from kiosk.core.events import registered_types
from kiosk.devices.sim.cabinet import FAULTS

MAX_STOCK = 999
"""Largest stock staff may set for one goods bay (a typo guard: a locker holds a few dozen at most)."""
PAGES = {"/": "Overview", "/devices": "Devices", "/sync": "Sync", "/events": "Events"}
SIM_PAGE = "/simulator"
CONFIRM_OPEN = "/devices/bays/{bay}/open"
"""The page that asks "Open bay N?" before the unlock (an unlock is physical: one tap must not do it)."""


@dataclass
class View:
    """What every page needs besides the status: who is looking, their CSRF token, what the station offers."""

    user: str
    csrf: str
    path: str
    now_mono: float
    flash: list[str] = field(default_factory=list)
    simulator: bool = False
    can_restart_ui: bool = False
    can_trigger_scanner: bool = False
    can_sync: bool = False
    can_restock: bool = False


def h(value: object) -> str:
    """HTML-escaped text of ``value`` ('—' for None)."""
    return "—" if value is None else escape(str(value))


def duration(seconds: float | None) -> str:
    """``3725`` → ``1 h 2 min``: the two largest units."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0 s"


def _table(rows: Iterable[tuple[str, str]], table_id: str = "") -> str:
    ident = f' id="{table_id}"' if table_id else ""
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="facts"{ident}>{body}</table>'


def _yes_no(value: object, good: bool = True) -> str:
    if value is None:
        return "—"
    cls = "ok" if bool(value) is good else "bad"
    return f'<span class="{cls}">{"yes" if value else "no"}</span>'


def action(view: View, url: str, label: str, *, extra: str = "", danger: bool = False, test_id: str = "") -> str:
    """A one-button POST form with the CSRF token (and optional extra inputs before the button)."""
    cls = ' class="danger"' if danger else ""
    tid = f' data-test="{escape(test_id)}"' if test_id else ""
    return (
        f'<form method="post" action="{escape(url)}" class="act">'
        f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(view.csrf)}">'
        f'<input type="hidden" name="back" value="{escape(view.path)}">'
        f'{extra}<button type="submit"{cls}{tid}>{escape(label)}</button></form>'
    )


def layout(title: str, station: Mapping[str, Any], view: View, body: str, banner: str = "") -> str:
    """The whole document: header with navigation and sign-out, the safety banner, flash messages, the body."""
    pages = dict(PAGES)
    if view.simulator:
        pages[SIM_PAGE] = "Simulator"
    nav = "".join(
        f'<a href="{p}"{" aria-current=page" if p == view.path else ""}>{escape(n)}</a>' for p, n in pages.items()
    )
    flash = "".join(f'<p class="flash">{escape(m)}</p>' for m in view.flash)
    name = f"{station.get('station_name', '')} · {station.get('station_name_en', '')}"
    signout = action(view, "/logout", "Sign out")
    types = " ".join(sorted(registered_types()))  # SSE events are named: live.js listens to each type
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} — {escape(str(station.get('station_id', '')))}</title>"
        '<link rel="stylesheet" href="/static/style.css"><script src="/static/live.js" defer></script>'
        f'</head><body data-event-types="{escape(types)}">'
        f'<header><div class="brand">{escape(name)}</div><nav>{nav}</nav>'
        f'<div class="who">{escape(view.user)} {signout}</div></header>'
        f"<main>{banner}<h1>{escape(title)}</h1>{flash}{body}</main>"
        '<footer><span id="live-state">live updates: starting</span></footer></body></html>'
    )


def simple_page(title: str, body: str) -> str:
    """A page outside the signed-in layout (sign-in, refusals)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/static/style.css"></head>'
        f'<body><main class="narrow"><h1>{escape(title)}</h1>{body}</main></body></html>'
    )


def login_page(station_id: str, login_token: str, *, error: str | None = None, no_accounts: bool = False) -> str:
    """The sign-in form (name and password, with the sign-in form's own CSRF token)."""
    err = f'<p class="bad" role="alert">{escape(error)}</p>' if error else ""
    hint = (
        '<p class="warn">No staff account exists yet. On the station run '
        "<code>sudo kiosk admin add-user NAME</code>, then sign in here.</p>"
        if no_accounts
        else ""
    )
    return simple_page(
        f"Station {station_id} — sign in",
        f"{err}{hint}"
        '<form method="post" action="/login" class="login">'
        f'<input type="hidden" name="login_csrf" value="{escape(login_token)}">'
        '<label>Name<br><input name="username" autocomplete="username" required autofocus '
        'autocapitalize="none" spellcheck="false"></label>'
        '<label>Password<br><input type="password" name="password" autocomplete="current-password" required>'
        '</label><button type="submit">Sign in</button></form>',
    )


# --- overview -----------------------------------------------------------------------------------


def overview(status: Mapping[str, Any], view: View, *, disk: DiskSpace | None, cpu_c: float | None) -> str:
    """Station, version, uptime, clock, disk, CPU temperature, warnings, components; the general actions."""
    disk_text = "—"
    if disk is not None:
        cls = "bad" if disk.free_pct < 10 else "ok"
        disk_text = (
            f'<span class="{cls}">{format_bytes(disk.free_bytes)} free of {format_bytes(disk.total_bytes)} '
            f"({disk.free_pct:.0f} %)</span>"
        )
    cpu_text = "—" if cpu_c is None else f'<span class="{"bad" if cpu_c >= 75 else "ok"}">{cpu_c:.1f} °C</span>'
    facts = _table(
        [
            ("Station", f"{h(status.get('station_name'))} / {h(status.get('station_name_en'))}"),
            ("Station id", h(status.get("station_id"))),
            ("Version", h(status.get("version"))),
            ("Uptime", duration(status.get("uptime_s"))),
            ("Clock synchronised", _yes_no(status.get("wall_synced"))),
            ("Disk (data folder)", disk_text),
            ("CPU temperature", cpu_text),
        ],
        "facts",
    )
    warnings = status.get("warnings") or []
    warn_html = "".join(f'<li class="warn">{h(w)}</li>' for w in warnings)
    warn_block = f'<ul class="warnings">{warn_html}</ul>' if warnings else '<p class="ok">No warnings.</p>'
    components = status.get("components") or {}
    comp_rows = "".join(
        f'<tr><th>{h(name)}</th><td class="{"ok" if c.get("state") == "running" else "bad"}">{h(c.get("state"))}'
        f"{' (optional)' if c.get('optional') else ''}</td></tr>"
        for name, c in components.items()
    )
    actions = []
    if view.can_sync:
        actions.append(action(view, "/actions/sync-now", "Sync now", test_id="sync-now"))
    actions.append(action(view, "/actions/scanner/test", "Test the scanner", test_id="test-scanner"))
    if view.can_restart_ui:
        actions.append(action(view, "/actions/restart-ui", "Restart the touchscreen app", danger=True))
    return (
        f'<section data-live id="overview">{facts}<h2>Warnings ({len(warnings)})</h2>{warn_block}'
        f'<h2>Components</h2><table class="facts">{comp_rows}</table></section>'
        f'<h2>Actions</h2><div class="actions">{"".join(actions)}</div>'
    )


# --- devices ------------------------------------------------------------------------------------


def _soc(battery: Mapping[str, Any] | None) -> str:
    if not battery or battery.get("soc_pct") is None:
        return "—"
    return f"{float(battery['soc_pct']):.0f} %"


def _temp(battery: Mapping[str, Any] | None) -> str:
    if not battery or battery.get("temperature_c") is None:
        return "—"
    return f"{float(battery['temperature_c']):.1f} °C"


def _charger_cell(battery: Mapping[str, Any] | None) -> str:
    # A battery fault (e.g. 62 °C, over_temperature) is red and says what and how hot, not only "fault".
    battery = battery or {}
    flags = [str(f) for f in battery.get("fault_flags") or []]
    if not flags and battery.get("charger_state") != "fault":
        return f'<td data-field="charger">{h(battery.get("charger_state"))}</td>'
    temp = battery.get("temperature_c")
    text = f"fault: {', '.join(flags) or 'charger fault'}" + (f", {float(temp):.1f} °C" if temp is not None else "")
    return f'<td data-field="charger" class="bad">{h(text)}</td>'


def goods_stock(status: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    """The goods bays (bay -> ``{"item_id", "count"}``) as the rider desk reports them; empty without one."""
    rider: Mapping[str, Any] = (status.get("components") or {}).get("rider") or {}
    goods: Mapping[str, Any] = rider.get("goods") or {}
    return {int(key): value for key, value in goods.items() if str(key).isdigit() and isinstance(value, Mapping)}


def _goods_cell(stock: Mapping[str, Any]) -> str:
    return f"goods: <b>{h(stock.get('item_id'))}</b> ({h(stock.get('count'))} left)"


def bay_rows(status: Mapping[str, Any], view: View) -> str:
    """One table row per bay: door, lock, battery, SoC, temperature, charger, fault, service, actions.

    A goods bay shows its item and stock where a battery bay shows its battery.
    """
    components = status.get("components") or {}
    bays: Mapping[str, Any] = (components.get("cabinet") or {}).get("bays") or {}
    out_of_service: Mapping[str, str] = (components.get("station") or {}).get("out_of_service") or {}
    goods = goods_stock(status)
    rows = []
    for key, bay in sorted(bays.items(), key=lambda kv: int(kv[0])):
        n = int(key)
        if n in goods:
            rows.append(_goods_bay_row(n, bay, goods[n], view))
            continue
        battery = bay.get("battery")
        present = battery.get("present") if battery else bay.get("presence")
        fault = bay.get("fault") or (battery or {}).get("error")
        reason = out_of_service.get(key)
        acts = [ask_open(n)]
        if bay.get("fault"):
            acts.append(action(view, f"/actions/bays/{n}/clear-fault", "Clear fault", test_id=f"clear-{n}"))
        if reason is None:
            field_html = (
                f'<input name="reason" placeholder="reason" maxlength="200" required aria-label="reason for bay {n}">'
            )
            acts.append(
                action(
                    view, f"/actions/bays/{n}/out-of-service", "Out of service", extra=field_html, test_id=f"oos-{n}"
                )
            )
        else:
            acts.append(action(view, f"/actions/bays/{n}/in-service", "Back in service", test_id=f"ins-{n}"))
        door = str(bay.get("door"))
        rows.append(
            f'<tr id="bay-{n}" data-bay="{n}"{" class=oos" if reason is not None else ""}>'
            f"<th>{n}</th>"
            f'<td data-field="door" class="{"warn-text" if door == "open" else ""}">{h(door)}</td>'
            f'<td data-field="lock">{h(bay.get("lock"))}</td>'
            f'<td data-field="battery">{"—" if present is None else ("yes" if present else "no")}</td>'
            f'<td data-field="battery_id">{h((battery or {}).get("battery_id"))}</td>'
            f'<td data-field="soc">{_soc(battery)}</td>'
            f'<td data-field="temperature">{_temp(battery)}</td>'
            f"{_charger_cell(battery)}"
            f'<td data-field="fault" class="{"bad" if fault else ""}">{h(fault)}</td>'
            f'<td data-field="service">{"in service" if reason is None else "<b>out</b>: " + h(reason)}</td>'
            f'<td class="actions">{"".join(acts)}</td></tr>'
        )
    head = (
        "<tr><th>Bay</th><th>Door</th><th>Lock</th><th>Battery</th><th>Id</th><th>SoC</th><th>Temp.</th>"
        "<th>Charger</th><th>Fault</th><th>Service</th><th>Actions</th></tr>"
    )
    return f'<div class="scroll"><table class="bays"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'


def _goods_bay_row(n: int, bay: Mapping[str, Any], stock: Mapping[str, Any], view: View) -> str:
    # Swaps never use a goods bay, so it has no service switch; opening it by hand stays possible.
    door = str(bay.get("door"))
    fault = bay.get("fault")
    acts = [ask_open(n)]
    if fault:
        acts.append(action(view, f"/actions/bays/{n}/clear-fault", "Clear fault", test_id=f"clear-{n}"))
    return (
        f'<tr id="bay-{n}" data-bay="{n}" class="goods"><th>{n}</th>'
        f'<td data-field="door" class="{"warn-text" if door == "open" else ""}">{h(door)}</td>'
        f'<td data-field="lock">{h(bay.get("lock"))}</td>'
        f'<td data-field="goods" colspan="5">{_goods_cell(stock)}</td>'
        f'<td data-field="fault" class="{"bad" if fault else ""}">{h(fault)}</td>'
        '<td data-field="service">goods</td>'
        f'<td class="actions">{"".join(acts)}</td></tr>'
    )


def goods_table(status: Mapping[str, Any], view: View) -> str:
    """The goods bays riders get items from with points: item, stock, and a restock form per bay."""
    goods = goods_stock(status)
    if not goods:
        return "<p>No goods bays (none configured, or the rider desk is not running).</p>"
    rows = []
    for n, stock in sorted(goods.items()):
        count = stock.get("count")
        low = isinstance(count, int) and count <= 0
        field_html = (
            f'<input name="count" type="number" min="0" max="{MAX_STOCK}" value="{h(count)}" '
            f'required aria-label="new stock of bay {n}">'
        )
        restock = (
            action(view, f"/actions/bays/{n}/restock", "Restock", extra=field_html, test_id=f"restock-{n}")
            if view.can_restock
            else "—"
        )
        rows.append(
            f'<tr id="goods-{n}" data-bay="{n}"><th>{n}</th><td data-field="item">{h(stock.get("item_id"))}</td>'
            f'<td data-field="count" class="{"bad" if low else ""}">{h(count)}</td>'
            f'<td class="actions">{restock}</td></tr>'
        )
    head = "<tr><th>Bay</th><th>Item</th><th>In stock</th><th>Restock (new count)</th></tr>"
    body = "".join(rows)
    return f'<div class="scroll"><table class="bays goods"><thead>{head}</thead><tbody>{body}</tbody></table></div>'


def ask_open(n: int) -> str:
    """The bay row's "Open" control: a link to the confirmation page, never an unlock by itself."""
    return f'<a class="button danger" href="{CONFIRM_OPEN.format(bay=n)}" data-test="open-{n}">Open</a>'


def confirm_open(status: Mapping[str, Any], view: View, n: int) -> str:
    """ "Open bay N?": what the bay holds now, the unlocking button, and a way back without acting."""
    bays: Mapping[str, Any] = ((status.get("components") or {}).get("cabinet") or {}).get("bays") or {}
    bay: Mapping[str, Any] = bays.get(str(n)) or {}
    battery = bay.get("battery") or {}
    held = goods_stock(status).get(n)
    what = _goods_cell(held) if held else f"battery: {h(battery.get('battery_id'))}, {_soc(battery)}"
    button = action(view, f"/actions/bays/{n}/open", f"Yes, open bay {n}", danger=True, test_id=f"confirm-open-{n}")
    return (
        f"<p>Bay {n} unlocks once and its door can then be pulled open. Now: door {h(bay.get('door'))}, "
        f"lock {h(bay.get('lock'))}; {what}.</p>"
        f'<div class="actions confirm">{button}'
        '<a class="button" href="/devices" data-test="cancel-open">Cancel</a></div>'
    )


def devices(status: Mapping[str, Any], view: View) -> str:
    """Scanner, entry door, every bay, and the goods bays' stock."""
    cabinet: Mapping[str, Any] = (status.get("components") or {}).get("cabinet") or {}
    scanner: Mapping[str, Any] | None = cabinet.get("scanner")
    last_scan = cabinet.get("last_scan_mono")
    ago = "never" if last_scan is None else f"{duration(view.now_mono - float(last_scan))} ago"
    if scanner is None:
        scanner_html = "<p>No scanner configured (or the cabinet is not running).</p>"
    else:
        scanner_html = _table(
            [
                ("State", h(scanner.get("state"))),
                ("Connected", _yes_no(scanner.get("connected"))),
                ("Last scan", h(ago)),
                ("Scans / unreadable", f"{h(scanner.get('scans'))} / {h(scanner.get('bad_scans'))}"),
                ("Last error", h(scanner.get("last_error"))),
            ],
            "scanner",
        )
    door: Mapping[str, Any] | None = cabinet.get("entry_door")
    door_html = (
        "<p>No entry door configured.</p>"
        if door is None
        else _table(
            [("Door", h(door.get("door"))), ("Lock", h(door.get("lock"))), ("Fault", h(door.get("fault")))],
            "entry-door",
        )
    )
    cab_state = h(cabinet.get("state"))
    test = action(view, "/actions/scanner/test", "Test the scanner", test_id="test-scanner")
    return (
        f'<section data-live id="devices"><p>Cabinet: {h(cabinet.get("kind"))} — {cab_state}</p>'
        f"<h2>Scanner</h2>{scanner_html}<h2>Entry door</h2>{door_html}"
        f"<h2>Bays</h2>{bay_rows(status, view)}"
        f"<h2>Goods bays</h2>{goods_table(status, view)}</section>{test}"
    )


# --- sync ------------------------------------------------------------------------------------------


def sync(status: Mapping[str, Any], view: View) -> str:
    """Backlog, oldest unsynced event, last success and last error."""
    s: Mapping[str, Any] = status.get("sync") or {}
    age = s.get("oldest_unsynced_age_s")
    table = _table(
        [
            ("Sync enabled", _yes_no(s.get("enabled"))),
            ("Hub", h(s.get("hub_url"))),
            ("Backlog (events)", h(s.get("backlog"))),
            ("Oldest unsynced", f"{h(s.get('oldest_unsynced'))}" + (f" ({duration(age)} ago)" if age else "")),
            ("Last success", h(s.get("last_success"))),
            ("Last error", f'<span class="{"bad" if s.get("last_error") else ""}">{h(s.get("last_error"))}</span>'),
            ("Events sent", h(s.get("events_sent"))),
            ("Bundle from hub", h(s.get("bundle_generated"))),
        ],
        "sync",
    )
    button = action(view, "/actions/sync-now", "Sync now", test_id="sync-now") if view.can_sync else ""
    return f'<section data-live id="sync-state">{table}</section>{button}'


# --- events ----------------------------------------------------------------------------------------


def local_time(wall: object, zone: ZoneInfo) -> tuple[str, str]:
    """An event's ISO UTC wall time as ``("2026-03-10 14:05:09", "2026-03-10 06:05:09 UTC")``: local, then UTC."""
    try:
        at = datetime.fromisoformat(str(wall))
    except ValueError:
        return str(wall)[:19], ""
    if at.tzinfo is None:  # records are UTC; an old one without an offset still is
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def station_zone(status: Mapping[str, Any]) -> ZoneInfo:
    """The station's time zone from its status (UTC when it does not say, or names one this Pi lacks)."""
    try:
        return ZoneInfo(str(status.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def events(records: Sequence[Mapping[str, Any]], prefix: str, limit: int, zone: ZoneInfo | None = None) -> str:
    """A filter form and the newest events first, their times in the station's zone (UTC on hover)."""
    zone = zone or ZoneInfo("UTC")
    rows = []
    for r in records:
        local, utc = local_time(r.get("wall", ""), zone)
        rows.append(
            f'<tr data-type="{h(r.get("type"))}"><td data-field="seq">{h(r.get("seq"))}</td>'
            f'<td data-field="time"><time datetime="{h(r.get("wall"))}" title="{h(utc)}">{h(local)}</time></td>'
            f'<td data-field="type">{h(r.get("type"))}</td>'
            f'<td data-field="details"><code>{h(json.dumps(r.get("payload"), ensure_ascii=False))}</code></td></tr>'
        )
    form = (
        '<form method="get" action="/events" class="filter">'
        f'<label>Type starts with <input name="type" value="{h(prefix) if prefix else ""}" '
        'placeholder="e.g. swap. or bay."></label>'
        f'<label>Show <input name="limit" type="number" min="1" max="500" value="{limit}"></label>'
        '<button type="submit">Filter</button></form>'
    )
    table = (
        f'<div class="scroll"><table class="events"><thead><tr><th>#</th><th>Time ({h(zone.key)})</th>'
        f"<th>Type</th><th>Details</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        if records
        else "<p>No events match.</p>"
    )
    return f'{form}<section data-live id="events">{table}</section>'


# --- simulator ----------------------------------------------------------------------------------------


def _faults_on(faults: list[Mapping[str, Any]], view: View) -> str:
    """Each fault that is on (the world lists ``{"fault", "bay"}`` records), with a button to turn it off."""
    if not faults:
        return "none"
    shown = []
    for fault in faults:
        name, bay = str(fault.get("fault")), fault.get("bay")
        label = name if bay is None else f"{name} (bay {bay})"
        extra = (
            f'<input type="hidden" name="fault" value="{h(name)}">'
            f'<input type="hidden" name="bay" value="{h("" if bay is None else bay)}">'
            '<input type="hidden" name="on" value="0">'
        )
        clear = action(view, "/actions/sim/fault", "Turn off", extra=extra, test_id=f"sim-clear-{name}-{bay or ''}")
        shown.append(f'<span class="fault-on">{h(label)} {clear}</span>')
    return "".join(shown)


def simulator(world: Mapping[str, Any], view: View) -> str:
    """The simulated world and its controls: a rider's scan, doors, batteries, the entry door, faults."""
    rows = []
    for bay in world.get("bays") or []:
        n = int(bay["bay"])
        battery = bay.get("battery")
        acts = []
        goods = bay.get("goods")
        if bay.get("door") == "open":
            acts.append(action(view, f"/actions/sim/bays/{n}/close-door", "Close door", test_id=f"sim-close-{n}"))
            if goods:
                acts.append("<span>(take the item, then close the door)</span>")
            elif battery:
                acts.append(action(view, f"/actions/sim/bays/{n}/take", "Take battery"))
            else:
                extra = (
                    '<input name="battery_id" value="SH9000001" maxlength="16" aria-label="battery id">'
                    '<input name="soc_pct" type="number" min="0" max="100" value="15" aria-label="state of charge">'
                )
                acts.append(action(view, f"/actions/sim/bays/{n}/insert", "Insert battery", extra=extra))
        held = f"goods: {h(goods)}" if goods else h((battery or {}).get("battery_id"))
        rows.append(
            f'<tr data-bay="{n}"><th>{n}</th><td>{h(bay.get("door"))}</td><td>{h(bay.get("lock"))}</td>'
            f"<td>{held}</td><td>{_soc(battery)}</td>"
            f'<td>{h(", ".join(bay.get("faults") or []) or None)}</td><td class="actions">{"".join(acts)}</td></tr>'
        )
    entry = world.get("entry_door") or {}
    entry_acts = action(view, "/actions/sim/entry/open", "Push entry door open") + action(
        view, "/actions/sim/entry/close", "Entry door swings shut"
    )
    scan = action(
        view,
        "/actions/sim/scan",
        "Show to scanner",
        extra='<input name="text" maxlength="4096" required placeholder="code text" aria-label="code text">',
    )
    code = action(
        view,
        "/actions/sim/code",
        "Issue and scan a swap code",
        extra='<input name="rider_id" value="R-demo" maxlength="20" aria-label="rider id">',
        test_id="sim-code",
    )
    options = "".join(f'<option value="{f}">{f}</option>' for f in FAULTS)
    fault = action(
        view,
        "/actions/sim/fault",
        "Set fault",
        extra=(
            f'<select name="fault" aria-label="fault">{options}</select>'
            '<input name="bay" type="number" min="1" max="99" placeholder="bay" aria-label="bay">'
            '<select name="on" aria-label="on or off"><option value="1">on</option><option value="0">off</option>'
            "</select>"
        ),
    )
    head = "<tr><th>Bay</th><th>Door</th><th>Lock</th><th>Battery</th><th>SoC</th><th>Faults</th><th></th></tr>"
    return (
        "<p>The simulated world as it really is; the station sees it only through its drivers.</p>"
        f'<section data-live id="world"><div class="scroll"><table class="bays sim"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f"<p>Entry door: {h(entry.get('door'))}, strike {h(entry.get('strike'))}.</p>"
        f'<div class="actions" id="faults-on">faults on: {_faults_on(world.get("faults") or [], view)}</div></section>'
        f'<div class="actions">{code}{scan}{entry_acts}{fault}</div>'
    )
