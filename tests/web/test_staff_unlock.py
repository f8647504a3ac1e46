"""Issue 13, bug 2: a staff unlock from the status page is confirmed like a swap's, and reports the truth.

Opening a jammed bay used to say "Bay 3 unlocked." and audit ``ok=true`` while the door stayed shut and
locked. Now the door must be seen open within ``policy.unlock_confirm_s``; otherwise staff read that it did
not open, the audit says ``ok=false``, the bay is faulted (a warning, swaps avoid it) — and the lock is
pulsed once, never again by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import wait_until
from tests.web.conftest import WAIT, WebStation, csrf_of, sign_in

CONFIRM_S = 1.5


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[WebStation]:
    """A web station whose unlocks must be confirmed within 1.5 s (the default 10 s would slow the tests)."""
    station = WebStation(tmp_path, {"unlock_confirm_s": CONFIRM_S})
    yield station
    station.close()


def _open(web: WebStation, bay: int) -> str:
    session, _ = sign_in(web.url)
    answer = session.post(
        f"{web.url}/actions/bays/{bay}/open", data={"csrf": csrf_of(session, web.url), "back": "/devices"}, timeout=10
    )
    assert answer.status_code == 200
    return answer.text


def test_a_jammed_bay_reports_that_it_did_not_open(quick: WebStation) -> None:
    quick.sim.inject("lock_jammed", 3)
    page = _open(quick, 3)
    assert "Bay 3 unlocked" not in page
    assert "Bay 3 did not open: the lock did not release" in page
    assert {b["bay"]: (b["door"], b["lock"]) for b in quick.tech.world()["bays"]}[3] == ("closed", "locked")


def test_a_jammed_bay_is_audited_as_failed(quick: WebStation) -> None:
    quick.sim.inject("lock_jammed", 3)
    _open(quick, 3)
    last = quick.staff_actions()[-1]
    assert (last["action"], last["bay"], last["ok"]) == ("open_bay", 3, False)
    assert "did not open" in last["error"]


def test_a_jammed_bay_is_faulted_and_warned_of(quick: WebStation) -> None:
    quick.sim.inject("lock_jammed", 3)
    _open(quick, 3)
    fault = quick.tech.bay(3)["fault"]
    assert fault is not None
    assert "did not release" in fault
    assert any(w.startswith("cabinet: bay 3:") and "did not release" in w for w in quick.tech.status()["warnings"])
    assert [e["payload"]["bay"] for e in quick.tech.events("bay.fault_changed")][-1] == 3


def test_a_jammed_bay_is_pulsed_once_only(quick: WebStation) -> None:
    quick.sim.inject("lock_jammed", 3)
    before = len(quick.sim.pulses)
    _open(quick, 3)
    assert quick.sim.pulses[before:] == [3]


def test_clearing_the_fault_lets_staff_try_again(quick: WebStation) -> None:
    quick.sim.inject("lock_jammed", 3)
    _open(quick, 3)
    quick.sim.inject("lock_jammed", 3, on=False)
    session, _ = sign_in(quick.url)
    session.post(f"{quick.url}/actions/bays/3/clear-fault", data={"csrf": csrf_of(session, quick.url)}, timeout=5)
    assert quick.tech.bay(3)["fault"] is None
    assert "Bay 3 opened." in _open(quick, 3)
    wait_until(lambda: quick.tech.bay(3)["door"] == "open", WAIT, "bay 3's door open")


def test_a_bay_that_opens_is_reported_opened_and_audited_ok(quick: WebStation) -> None:
    page = _open(quick, 2)
    assert "Bay 2 opened." in page
    assert quick.tech.bay(2)["door"] == "open"
    last = quick.staff_actions()[-1]
    assert (last["action"], last["bay"], last["ok"]) == ("open_bay", 2, True)


def test_a_bay_already_open_is_not_pulsed_again(quick: WebStation) -> None:
    _open(quick, 2)
    before = len(quick.sim.pulses)
    page = _open(quick, 2)
    assert "Bay 2 is already open" in page
    assert quick.sim.pulses[before:] == []
