"""Attacks on "one code, one use" against a running station on loopback (issue 12, item 3).

A rider tries to get more than one action out of one signed code: a second swap by scanning during
someone else's swap and asking the screen for a swap afterwards, a second swap from the session an
identification opened, an entry code shown again or turned into a session. Each attack is played over the
station's real scanner pty and local API (UI token), and the refusal is asserted in its events, screen and
its record of used nonces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import RunningStation, SimStation, Technician, wait_until
from tests.test_swap_e2e import (
    WAIT,
    charged_by_soc,
    nonce_rows,
    screen_named,
    shut,
    swap_end,
    test_config,
    wait_state,
)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[RunningStation]:
    """A station on a simulated Kerong cabinet, every battery read."""
    made = SimStation(test_config(tmp_path, {}), tmp_path, wait=WAIT)
    try:
        yield made.running
    finally:
        made.close()


def rider_post(tech: Technician, path: str, body: object = None) -> requests.Response:
    """POST on the touchscreen's rider API (the UI token)."""
    return tech.session.post(f"{tech.url}{path}", json=body, timeout=10)


def complete_swap(tech: Technician, battery_id: str = "SH7654321") -> None:
    """The rider of the swap now in flight puts the flat battery in, takes the charged one, and shuts both doors."""
    bay = int(wait_state(tech, "await_return")["return_bay"])
    assert tech.sim(f"/bays/{bay}/insert", battery_id=battery_id, soc_pct=12.0).status_code == 200
    shut(tech, bay)
    charged = int(wait_state(tech, "await_collect")["charged_bay"])
    assert tech.sim(f"/bays/{charged}/take").status_code == 200
    shut(tech, charged)
    wait_until(lambda: tech.swap() is None, WAIT, "the swap's end")


def swaps_of(tech: Technician, rider_id: str) -> int:
    """How many swaps the station started for ``rider_id``."""
    return sum(1 for e in tech.events("swap.started") if e["payload"]["rider_id"] == rider_id)


def refusals(tech: Technician, reason: str) -> int:
    """How many ``code.refused`` events carry ``reason``."""
    return sum(1 for e in tech.events("code.refused") if e["payload"]["reason"] == reason)


def test_a_scan_during_someone_elses_swap_then_the_rider_swap_button_gives_no_swap(run: RunningStation) -> None:
    tech = run.tech
    tech.code("R-first")
    wait_state(tech, "await_return")
    second = tech.code("R-attacker")  # scanned while R-first's swap runs
    screen_named(tech, "swap.busy")
    # The attack: the scan opened a session before; the screen's swap button then started a swap from it.
    assert rider_post(tech, "/api/rider/swap").status_code == 409
    complete_swap(tech)
    assert rider_post(tech, "/api/rider/swap").status_code == 409
    assert swaps_of(tech, "R-attacker") == 0
    # The busy station did not act on the code, so it still gives its one swap — and only one.
    tech.sim("/scan", text=second)
    wait_state(tech, "await_return")
    complete_swap(tech, "SH7654322")
    tech.sim("/scan", text=second)
    assert screen_named(tech, "code.refused")["reason"] == "nonce_used"
    assert rider_post(tech, "/api/rider/swap").status_code == 409
    assert swaps_of(tech, "R-attacker") == 1
    assert sorted(r["rider_id"] for r in nonce_rows(run.config)) == ["R-attacker", "R-first"]


def test_the_session_a_swap_scan_opens_cannot_start_a_second_swap(run: RunningStation) -> None:
    tech = run.tech
    tech.code("R-twice")
    wait_state(tech, "await_return")
    complete_swap(tech)
    # The swap scan opened a session (the rider may look at their points); it is not a second swap.
    answer = rider_post(tech, "/api/rider/swap")
    assert answer.status_code == 409
    assert "swap" in answer.json()["error"]
    assert swaps_of(tech, "R-twice") == 1


def test_an_identification_gives_one_swap_and_its_code_is_refused_afterwards(run: RunningStation) -> None:
    tech = run.tech
    assert rider_post(tech, "/api/rider/identify", {"purpose": "rider"}).status_code == 202
    text = tech.code("R-session")
    wait_until(lambda: tech.session.get(f"{tech.url}/api/rider", timeout=5).status_code == 200, WAIT, "identified")
    assert rider_post(tech, "/api/rider/swap").status_code == 202
    wait_state(tech, "await_return")
    complete_swap(tech)
    assert rider_post(tech, "/api/rider/swap").status_code == 409  # the session's one swap is spent
    tech.sim("/scan", text=text)  # the same code scanned at the cabinet
    assert screen_named(tech, "code.refused")["reason"] == "nonce_used"
    assert rider_post(tech, "/api/rider/identify", {"purpose": "rider"}).status_code == 202
    tech.sim("/scan", text=text)  # or shown again to identify
    wait_until(lambda: refusals(tech, "nonce_used") == 2, WAIT, "the second refusal")
    assert swaps_of(tech, "R-session") == 1
    assert [(r["rider_id"], r["scope"]) for r in nonce_rows(run.config)] == [("R-session", "swap")]


def test_an_identification_during_someone_elses_swap_never_starts_a_swap(run: RunningStation) -> None:
    tech = run.tech
    tech.code("R-busy")
    wait_state(tech, "await_return")
    assert rider_post(tech, "/api/rider/identify", {"purpose": "rider"}).status_code == 202
    tech.code("R-waiting")
    wait_until(lambda: tech.session.get(f"{tech.url}/api/rider", timeout=5).status_code == 200, WAIT, "identified")
    assert rider_post(tech, "/api/rider/swap").status_code == 409
    complete_swap(tech)
    assert rider_post(tech, "/api/rider/swap").status_code == 409
    assert swaps_of(tech, "R-waiting") == 0


def test_a_refused_swap_uses_up_its_code(run: RunningStation) -> None:
    tech = run.tech
    for bay in charged_by_soc(tech):  # staff take every charged bay out of service: nothing to hand out
        run.loop.call(run.station.controller.set_out_of_service, bay, "test", None)
    text = tech.code("R-refused")
    assert screen_named(tech, "swap.refused")["reason"] == "no_charged_battery"
    tech.sim("/scan", text=text)
    assert screen_named(tech, "code.refused")["reason"] == "nonce_used"
    assert [r["rider_id"] for r in nonce_rows(run.config)] == ["R-refused"]


def test_an_entry_code_reused_is_refused_and_cannot_identify_a_rider(run: RunningStation) -> None:
    tech = run.tech
    text = tech.code("R-door", scope="entry")
    wait_until(lambda: tech.events("entry.granted"), WAIT, "the entry")
    tech.sim("/scan", text=text)
    assert screen_named(tech, "entry.refused") == {"reason": "nonce_used"}
    assert rider_post(tech, "/api/rider/identify", {"purpose": "rider"}).status_code == 202
    tech.sim("/scan", text=text)
    wait_until(lambda: refusals(tech, "nonce_used") == 2, WAIT, "the refusal at identification")
    assert tech.session.get(f"{tech.url}/api/rider", timeout=5).status_code == 404
    assert len(tech.events("entry.granted")) == 1


def test_a_completed_swap_is_not_repeated_by_its_code(run: RunningStation) -> None:
    tech = run.tech
    text = tech.code("R-replay")
    wait_state(tech, "await_return")
    complete_swap(tech)
    assert swap_end(tech)["outcome"] == "completed"
    tech.sim("/scan", text=text)
    assert screen_named(tech, "code.refused")["reason"] == "nonce_used"
    assert swaps_of(tech, "R-replay") == 1
