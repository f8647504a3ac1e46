"""SQL lives in kiosk/store only: no other kiosk module runs a statement or reaches the store's connection.

The import-linter contracts keep ``sqlite3`` and ``sqlite_utils`` out of every other layer; this keeps the
flows (and the sync relay, the API, the CLI...) from going round them through the open store's ``db``, and
from carrying SQL text of their own to hand to something that would run it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KIOSK = ROOT / "kiosk"
STORE = KIOSK / "store"
RAW = frozenset({"db", "_db", "_conn", "execute", "executemany", "executescript", "query"})
"""Attributes that are the connection or run a statement."""
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|PRAGMA\s)\b",
    re.IGNORECASE | re.DOTALL,
)


def outside_store() -> list[Path]:
    return sorted(p for p in KIOSK.rglob("*.py") if STORE not in p.parents)


def problems(text: str, where: str, raw: frozenset[str] = RAW) -> list[str]:
    """Each place in the module ``text`` that touches the connection (an attribute in ``raw``) or holds SQL text,
    as ``where:line: what``."""
    tree = ast.parse(text, filename=where)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in raw:
            found.append(f"{where}:{node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and SQL.search(node.value)
        ):
            found.append(f"{where}:{node.lineno}: SQL text {node.value[:40]!r}")
    return found


def test_no_module_outside_the_store_runs_sql_or_reaches_the_connection() -> None:
    modules = outside_store()
    assert len(modules) > 100  # the walk found the tree
    found = [
        problem
        for path in modules
        for problem in problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == [], "SQL belongs in a kiosk/store module:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "def f(store):\n    return store.store.db\n",
        "def f(tx):\n    tx.db.table('swaps')\n",
        "def f(conn):\n    conn.execute('x')\n",
        "Q = 'SELECT bay FROM bays_out_of_service'\n",
        "Q = 'delete from swaps where id = ?'\n",
        "Q = 'INSERT OR IGNORE INTO code_nonces (nonce) VALUES (?)'\n",
    ],
)
def test_the_check_catches_a_flow_that_goes_round_the_store(source: str) -> None:
    assert len(problems(source, "kiosk/flows/probe.py")) == 1


def test_the_check_leaves_plain_words_and_docstrings_alone() -> None:
    source = (
        '"""Select a bay from the cabinet; SELECT x FROM y in a docstring is prose."""\n'
        "def f(cabinet):\n    return cabinet.select('update the screen'), cabinet.dbx\n"
    )
    assert problems(source, "kiosk/flows/probe.py") == []


HUB_RAW = frozenset({"execute", "executemany", "executescript", "one"})
"""What runs a statement on the hub's transactions (``storage.db`` is also its engine and description: allowed)."""


def test_no_hub_module_outside_hub_storage_runs_sql_or_reaches_the_connection() -> None:
    hub = ROOT / "hub"
    modules = sorted(p for p in hub.rglob("*.py") if hub / "storage" not in p.parents)
    assert len(modules) > 20  # the walk found the hub
    found = [
        problem
        for path in modules
        for problem in problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), HUB_RAW)
    ]
    assert found == [], "the hub's SQL belongs in a hub/storage module:\n" + "\n".join(found)
