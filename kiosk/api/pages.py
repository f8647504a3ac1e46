"""Server-rendered pages for staff: sign-in and a plain status overview, light enough for a phone.

(The full maintenance status page — devices, actions, live updates, user accounts — builds on this.)
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;padding:1rem;max-width:60rem;color:#111}
h1{font-size:1.4rem;margin:.2rem 0 1rem}table{border-collapse:collapse;width:100%;margin-bottom:1rem}
td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
.warn{background:#fff3cd;border:1px solid #e0b100;padding:.5rem .8rem;margin:.3rem 0;border-radius:.3rem}
.ok{color:#176b2c}.bad{color:#a40000}input,button{font-size:1.1rem;padding:.5rem;margin:.3rem 0}
code{font-size:.9em}
"""


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value of each field)."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {key: values[0] for key, values in fields.items() if values}


def _page(title: str, body: str, refresh_s: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_s}">' if refresh_s else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"{refresh}<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def login_page(station_id: str, error: str | None = None) -> str:
    """The sign-in form."""
    err = f'<p class="bad">{html.escape(error)}</p>' if error else ""
    return _page(
        f"Sign in — {station_id}",
        f"<h1>Station {html.escape(station_id)} — sign in</h1>{err}"
        '<form method="post" action="/login"><label>Station token<br>'
        '<input type="password" name="token" autocomplete="current-password" required autofocus></label><br>'
        '<button type="submit">Sign in</button></form>',
    )


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return f"<code>{html.escape(json.dumps(value, ensure_ascii=False, default=str))}</code>"
    return html.escape(str(value))


def status_page(status: dict[str, Any]) -> str:
    """The overview: station, version, uptime, clock, warnings, components, store and sync figures."""
    warnings = status.get("warnings") or []
    warn_html = (
        "".join(f'<div class="warn">{html.escape(w)}</div>' for w in warnings) or '<p class="ok">No warnings.</p>'
    )
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(comp.get('state')))}</td><td>{_cell(comp)}</td></tr>"
        for name, comp in (status.get("components") or {}).items()
    )
    facts = [
        (
            "Station",
            f"{status.get('station_name', '')} / {status.get('station_name_en', '')} ({status.get('station_id')})",
        ),
        ("Version", status.get("version")),
        ("Uptime", f"{float(status.get('uptime_s', 0)):.0f} s"),
        ("Wall clock synchronised", "yes" if status.get("wall_synced") else "no"),
    ]
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in facts)
    store_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in status.get("store", {}).items()
    )
    sync_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in status.get("sync", {}).items()
    )
    body = (
        f"<h1>{html.escape(str(status.get('station_name', 'Station')))}</h1>"
        f"<table>{fact_rows}</table><h2>Warnings</h2>{warn_html}"
        f"<h2>Components</h2><table>{rows}</table>"
        f"<h2>Store</h2><table>{store_rows}</table><h2>Sync</h2><table>{sync_rows}</table>"
    )
    return _page(f"Status — {status.get('station_id')}", body, refresh_s=5)
