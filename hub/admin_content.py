"""The content admin page: the city's content as tables, and an editor that checks before it saves.

:func:`check_content` is the one check behind both buttons ("Check" and "Save"): the content model's own
validation (the same as ``kiosk-hub content load``), each problem in plain words with where it is (the
item's number and id), so an operator can find it in a long file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from pydantic import ValidationError

from hub.admin_html import hidden_csrf, local_time, page
from hub.content import Content, content_from_file
from kiosk.core.city_file import CityFile
from kiosk.core.content import CatalogueItem, PointsRule

_PLAIN = {
    "missing": "is missing",
    "extra_forbidden": "is not a field the content knows (mistyped?)",
    "model_type": "must be a JSON object ({…})",
    "list_type": "must be a list ([…])",
    "dict_type": "must be a JSON object ({…})",
    "string_type": "must be text in quotes",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "datetime_type": "must be a date and time like 2026-03-10T09:30:00Z",
    "datetime_parsing": "must be a date and time like 2026-03-10T09:30:00Z",
    "datetime_from_date_parsing": "must be a date and time like 2026-03-10T09:30:00Z",
}


@dataclass(frozen=True)
class ContentCheck:
    """What checking a content text found: the content (when it is good) or the problems."""

    content: Content | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        """Whether the text can be saved."""
        return self.content is not None and not self.problems


def _where(data: Any, loc: Sequence[int | str]) -> str:
    """``services, item 3 (id "legal-1"), title_en`` for the location ``("services", 2, "title_en")``."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int):
            item = node[step] if isinstance(node, list) and -len(node) <= step < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            parts.append(f"item {step + 1}" + (f" (id {json.dumps(ident, ensure_ascii=False)})" if ident else ""))
            node = item
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ", ".join(parts) or "the whole content"


def _plain(err: Any) -> str:
    kind = str(err.get("type", ""))
    if kind in _PLAIN:
        return _PLAIN[kind]
    message = str(err.get("msg", "is not right"))
    # pydantic's custom validators say "Value error, <our words>": keep our words only.
    return message.removeprefix("Value error, ")


def check_content(text: str, now: datetime | None = None) -> ContentCheck:
    """Check a content text (JSON) the way "Check" and "Save" both do; nothing is saved here.

    The text is a city content file (:mod:`kiosk.core.city_file`), as ``kiosk-hub content load`` reads it:
    unknown keys at any level are problems, slot plans become slots from ``now``.
    """
    if not text.strip():
        return ContentCheck(None, ["the content is empty: it must be a JSON object ({…}); {} is no content at all"])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return ContentCheck(None, [f"line {exc.lineno}, column {exc.colno}: this is not valid JSON ({exc.msg})"])
    try:
        content = content_from_file(CityFile.model_validate(data), now or datetime.now(UTC))
    except ValidationError as exc:
        return ContentCheck(None, [f"{_where(data, e['loc'])}: {_plain(e)}" for e in exc.errors()])
    except ValueError as exc:
        return ContentCheck(None, [str(exc)])
    return ContentCheck(content, [])


def content_json(content: Content) -> str:
    """The content as the editor shows it: indented JSON, Chinese as it is, defaults left out."""
    return json.dumps(content.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False, indent=2)


def _services_table(content: Content, utc_offset_minutes: int) -> str:
    services = content.services
    if not services:
        return "<p>No services.</p>"
    rows = []
    for s in services:
        slots = (
            "<ul>"
            + "".join(
                f"<li>{escape(slot.id)}: {escape(local_time(slot.starts, utc_offset_minutes))}–"
                f"{escape(local_time(slot.ends, utc_offset_minutes)[-5:])} {escape(slot.place_en)}"
                f" · {content.capacity_of(slot.id)} places</li>"
                for slot in s.slots
            )
            + "</ul>"
            if s.slots
            else ("no open slots" if s.bookable else "not bookable")
        )
        rows.append(
            f"<tr><td>{escape(s.id)}</td><td>{escape(s.category)}</td><td>{escape(s.title_zh)}<br>"
            f"{escape(s.title_en)}</td><td>{escape(s.url or '')}</td><td>{slots}</td></tr>"
        )
    head = "<tr><th>id</th><th>category</th><th>title</th><th>link</th><th>slots</th></tr>"
    return f'<table id="services">{head}{"".join(rows)}</table>'


def _catalogue_table(items: Sequence[CatalogueItem]) -> str:
    if not items:
        return "<p>No items: riders cannot spend points yet.</p>"
    rows = "".join(
        f'<tr><td>{escape(i.id)}</td><td>{escape(i.name_zh)}<br>{escape(i.name_en)}</td><td class="num">{i.points}'
        f"</td><td>{escape(i.kind)}</td></tr>"
        for i in items
    )
    return f'<table id="catalogue"><tr><th>id</th><th>name</th><th>points</th><th>kind</th></tr>{rows}</table>'


def _rules_table(rules: Sequence[PointsRule]) -> str:
    if not rules:
        return "<p>No rules: riders earn no points.</p>"
    rows = "".join(
        f'<tr><td>{escape(r.id)}</td><td class="num">{r.points}</td><td class="num">{r.per_day}</td></tr>'
        for r in rules
    )
    return f'<table id="rules"><tr><th>rule</th><th>points</th><th>at most per day</th></tr>{rows}</table>'


def render_content(
    content: Content,
    *,
    text: str | None,
    problems: Sequence[str],
    csrf: str,
    who: str,
    utc_offset_minutes: int,
    message: str | None = None,
) -> str:
    """``GET /admin/content``: the saved content as tables and the editor (``text``: what the operator typed)."""
    found = (
        '<div class="problems" role="alert"><p>Problems found; nothing was saved:</p><ul>'
        + "".join(f"<li>{escape(p)}</li>" for p in problems)
        + "</ul></div>"
        if problems
        else ""
    )
    editor = (
        f'<h2 id="editor">Edit the content</h2>{found}<form method="post" action="/admin/content">{hidden_csrf(csrf)}'
        f'<textarea name="content" rows="24" spellcheck="false" aria-label="content JSON">'
        f"{escape(content_json(content) if text is None else text)}</textarea><p>"
        '<button type="submit" name="action" value="check" data-test="check">Check</button> '
        '<button type="submit" name="action" value="save" data-test="save">Save</button> '
        '<span class="muted">Save replaces the whole content at once; stations get it at their next fetch.</span>'
        "</p></form>"
    )
    body = (
        f"<h2>Catalogue</h2>{_catalogue_table(content.catalogue)}<h2>Points rules</h2>"
        f"{_rules_table(content.points_rules)}<h2>Services</h2>{_services_table(content, utc_offset_minutes)}{editor}"
    )
    return page("Content", body, who=who, message=message)
