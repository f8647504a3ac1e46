"""A scanned code is parsed once, where the scan enters the station; the parsed code travels from there.

Each scan below goes through the real station — scanner, controller, code check, swap or entry flow, rider
desk — and every module's ``parse_code`` is replaced by a counting one. A code tried for a swap and then
for the entry, an entry code refused, a text that is no code, an identification at the screen: each is
one scan and exactly one parse.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core import ridercode
from kiosk.core.ridercode import SignedCode
from tests.support import RunningStation, SimStation, wait_until
from tests.test_swap_e2e import WAIT, screen_named, test_config, wait_state


class ParseCounter:
    """Stands in for ``parse_code`` everywhere it is bound; remembers the texts it was given."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.original = ridercode.parse_code

    def __call__(self, text: str) -> SignedCode:
        self.texts.append(text)
        return self.original(text)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[RunningStation]:
    made = SimStation(test_config(tmp_path, {}), tmp_path, wait=WAIT)
    try:
        yield made.running
    finally:
        made.close()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch, run: RunningStation) -> ParseCounter:
    """Count every parse from here on, in every loaded kiosk module that holds ``parse_code``."""
    counter = ParseCounter()
    holders = [
        name
        for name, module in list(sys.modules.items())
        if name.split(".")[0] == "kiosk" and getattr(module, "parse_code", None) is counter.original
    ]
    assert "kiosk.station.codes" in holders  # where the station parses a scan
    for name in holders:
        monkeypatch.setattr(sys.modules[name], "parse_code", counter)
    return counter


def issued(run: RunningStation, rider_id: str, scope: str = "swap") -> str:
    """A signed code from the simulator's issuer, not yet scanned (issuing parses nothing)."""
    return run.tech.code(rider_id, scope=scope, scan=False)


def scan(run: RunningStation, text: str) -> None:
    assert run.tech.sim("/scan", text=text).status_code == 200


def verdicts(run: RunningStation) -> int:
    return len(run.tech.events("code.accepted")) + len(run.tech.events("code.refused"))


def test_a_swap_code_is_parsed_once(run: RunningStation, parses: ParseCounter) -> None:
    text = issued(run, "R-swap")
    scan(run, text)
    wait_state(run.tech, "await_return")  # checked, accepted, the swap under way, the desk told
    assert parses.texts == [text]


def test_an_entry_code_tried_for_a_swap_then_the_entry_is_parsed_once(
    run: RunningStation, parses: ParseCounter
) -> None:
    text = issued(run, "R-visit", scope="entry")
    scan(run, text)
    wait_until(lambda: run.tech.events("entry.granted"), WAIT, "entry.granted")
    assert run.tech.events("code.accepted")[0]["payload"]["scope"] == "entry"
    assert parses.texts == [text]


def test_an_entry_code_refused_is_parsed_once(run: RunningStation, parses: ParseCounter) -> None:
    text = issued(run, "R-again", scope="entry")
    scan(run, text)
    wait_until(lambda: run.tech.events("entry.granted"), WAIT, "entry.granted")
    scan(run, text)  # used: refused as an entry (looked at for its scope once the swap check refused it)
    assert screen_named(run.tech, "entry.refused") == {"reason": "nonce_used"}
    assert parses.texts == [text, text]


def test_a_text_that_is_no_code_is_parsed_once(run: RunningStation, parses: ParseCounter) -> None:
    before = verdicts(run)
    scan(run, "HELLO-NOT-A-CODE")
    wait_until(lambda: verdicts(run) > before, WAIT, "the refusal")
    assert run.tech.events("code.refused")[-1]["payload"]["reason"] == "bad_encoding"
    assert parses.texts == ["HELLO-NOT-A-CODE"]


def test_an_identifying_scan_is_parsed_once(run: RunningStation, parses: ParseCounter) -> None:
    tech = run.tech
    answer = tech.session.post(f"{tech.url}/api/rider/identify", json={"purpose": "rider"}, timeout=10)
    assert answer.status_code == 202
    text = issued(run, "R-desk")
    scan(run, text)
    assert screen_named(tech, "rider")["rider_id"] == "R-desk"
    assert parses.texts == [text]
