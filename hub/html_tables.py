"""Tables that become one card per row on a phone: each cell carries its column's name as ``data-label``.

The hub's pages are server-rendered without scripts, so the label has to be in the HTML; the phone
style (:data:`PHONE_STYLE`) hides the heading row and shows each label before its value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

_CELL = re.compile(r"<td(?=[\s>])")
# Only the hub's own markup passes through here: every outside text is escaped before (``<`` → ``&lt;``),
# so ``<td`` can only be a cell the page itself wrote.

PHONE_STYLE = """
svg.chart{max-width:100%;height:auto}
button,input,select{font:inherit;min-height:44px;padding:.3rem .6rem}
nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;align-items:center}
nav a{display:inline-flex;align-items:center;min-height:44px;margin-right:0}
td,th{overflow-wrap:anywhere}
@media (max-width:40rem){
body{margin:.6rem}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:auto}
table.cards thead{display:none}
table.cards tr{border:1px solid #ccc;border-radius:.4rem;margin:.5rem 0;padding:.3rem}
table.cards td{border:0;padding:.15rem .3rem;text-align:left}
table.cards td[data-label]::before{content:attr(data-label) ": ";color:#666}
table.cards form{display:flex;flex-wrap:wrap;gap:.3rem}
input{max-width:100%}
}
"""
"""CSS for every hub page: charts that shrink, 44 px targets, and card tables below 40rem."""


def label_cells(row: str, headings: Sequence[str]) -> str:
    """``row`` (one ``<tr>…</tr>`` of our own markup) with ``data-label`` on its n-th cell from ``headings``."""
    count = iter(range(10_000))

    def labelled(_: re.Match[str]) -> str:
        i = next(count)
        return f'<td data-label="{escape(headings[i])}"' if i < len(headings) else "<td"

    return _CELL.sub(labelled, row)


def card_table(headings: Sequence[str], rows: Sequence[str], *, table_id: str = "", empty: str = "") -> str:
    """A table with a heading row and ``rows``; on a phone, one card per row. ``empty`` shows when no rows."""
    if not rows and empty:
        body = f'<tr><td colspan="{len(headings)}">{empty}</td></tr>'
    else:
        body = "".join(label_cells(r, headings) for r in rows)
    ident = f' id="{escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    return f'<table class="cards"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
