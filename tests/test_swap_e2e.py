"""The swap end to end: a rider (the simulator's controls) and the station (its API), every cabinet kind.

Nothing here calls the station's code directly: the rider scans codes, opens nothing by hand, puts
batteries in and takes them out through ``/api/sim``; the station is judged by ``/api/screen``,
``/api/status``, ``/api/events`` and, for the record it keeps, its SQLite file. Production drivers talk to
the simulated cabinet over ptys and mock pins, so every layer is on the path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.core.config import Config, HardwareConfig
from kiosk.core.ridercode import parse_code
from tests.support import LastingSimCabinet, RunningStation, Technician, sim_config, wait_until

KINDS = ["kerong", "8a80", "gpio"]
LONG = 60.0
"""A time limit no test reaches (s)."""
WAIT = 10.0
"""Bound on waiting for the station to notice something (s)."""
RETURNED = "SH7654321"
SWAP_FLOW = ("code.", "swap.")
PULSE_S = 0.2
"""GPIO unlock pulse (s): short, since a rider can latch a door only once its relay is off again."""

StartStation = Callable[..., RunningStation]
ONE_KIND = pytest.mark.parametrize("start", ["kerong"], indirect=True)
"""For what does not depend on the cabinet (checking codes): one kind is enough."""


def test_config(tmp_path: Path, policy: dict[str, Any]) -> Config:
    """The sim config with no rider limit, exact code times, and the given policy."""
    base = {"min_minutes_between_swaps": 0, "code_clock_skew_s": 0, "insert_timeout_s": LONG}
    config = sim_config(tmp_path, policy={**base, "collect_timeout_s": LONG, **policy})
    gpio = config.hardware.gpio.model_copy(update={"pulse_s": PULSE_S})
    hardware = config.hardware.model_copy(update={"gpio": gpio})
    return config.model_copy(update={"hardware": hardware})


test_config.__test__ = False  # type: ignore[attr-defined]  # a helper named like a test


@pytest.fixture(params=KINDS)
def start(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StartStation]:
    """Start a station (policy overrides as keywords) on a simulated cabinet of each kind."""
    made: list[tuple[RunningStation, LastingSimCabinet]] = []

    def make(**policy: Any) -> RunningStation:
        config = test_config(tmp_path, policy)
        sim = LastingSimCabinet(request.param, config.hardware, tmp_path / "devices", seed=1)
        running = RunningStation(config, sim, tmp_path / "codes")
        made.append((running, sim))
        wait_until(lambda: all_read(running.tech), WAIT, "every bay's battery read")
        return running

    yield make
    for running, sim in made:
        try:
            running.close()
        finally:
            sim.end()


# --- what the rider sees and does -------------------------------------------------------------------


def all_read(tech: Technician) -> bool:
    """The station has read every bay's battery once (before that it would refuse for lack of data)."""
    return tech.batteries_read()


def world_bays(tech: Technician) -> dict[int, dict[str, Any]]:
    """The simulated bays as they really are."""
    return {b["bay"]: b for b in tech.world()["bays"]}


def charged_by_soc(tech: Technician) -> list[int]:
    """Bays with a charged battery (≥ 95 %), highest state of charge first."""
    bays = world_bays(tech).values()
    full = [b for b in bays if b["battery"] and b["battery"]["soc_pct"] >= 95.0]
    return [b["bay"] for b in sorted(full, key=lambda b: -b["battery"]["soc_pct"])]


def empty_bays(tech: Technician) -> list[int]:
    """Bays with no battery, by number."""
    return sorted(n for n, b in world_bays(tech).items() if b["battery"] is None)


def screen_named(tech: Technician, name: str) -> dict[str, Any]:
    """Wait for the touchscreen to show ``name``; its parameters."""
    screen = wait_until(lambda: (s := tech.screen())["name"] == name and s, WAIT, f"screen {name}")
    return dict(screen["params"])


def wait_state(tech: Technician, state: str) -> dict[str, Any]:
    """Wait for the swap in flight to reach ``state``."""

    def reached() -> dict[str, Any] | None:
        swap = tech.swap()
        return swap if swap is not None and swap["state"] == state else None

    found = wait_until(reached, WAIT, f"swap state {state}")
    assert found is not None
    return found


def swap_end(tech: Technician) -> dict[str, Any]:
    """Wait for the swap to end; its closing event's payload (``outcome`` added for a completed one)."""
    done = wait_until(lambda: tech.events("swap.completed") + tech.events("swap.ended"), LONG / 3, "the swap's end")
    event = done[0]
    payload = dict(event["payload"])
    if event["type"] == "swap.completed":
        payload["outcome"] = "completed"
    return payload


def flow(tech: Technician) -> list[str]:
    """The code and swap events, oldest first."""
    return [e["type"] for e in tech.all_events() if e["type"].startswith(SWAP_FLOW)]


def swap_rows(config: Config) -> list[sqlite3.Row]:
    """The swaps table as the station left it (read-only)."""
    db = sqlite3.connect(f"file:{config.database_path()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return list(db.execute("SELECT * FROM swaps ORDER BY started"))
    finally:
        db.close()


def nonce_rows(config: Config) -> list[sqlite3.Row]:
    """The used code nonces (read-only)."""
    db = sqlite3.connect(f"file:{config.database_path()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return list(db.execute("SELECT * FROM code_nonces"))
    finally:
        db.close()


def shut(tech: Technician, bay: int) -> None:
    """The rider pushes the bay's door shut once it can latch.

    A GPIO lock stays released for its whole pulse and a door pushed against it would not latch (the
    simulator lets it close anyway and a second pulse then makes no new edge), so the rider waits for the
    relay to drop; a lock board's latch engages at once.
    """
    if tech.world()["kind"] == "gpio":
        wait_until(lambda: world_bays(tech)[bay]["lock"] == "locked", WAIT, f"bay {bay}'s relay off")
    assert tech.sim(f"/bays/{bay}/close-door").status_code == 200


def return_battery(tech: Technician, battery_id: str = RETURNED) -> int:
    """The rider waits for the return bay, puts ``battery_id`` in and shuts the door; the bay."""
    bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
    wait_state(tech, "await_return")
    assert tech.sim(f"/bays/{bay}/insert", battery_id=battery_id, soc_pct=12.0).status_code == 200
    shut(tech, bay)
    return bay


# --- the swap ---------------------------------------------------------------------------------------


def test_a_completed_swap_takes_the_flat_battery_and_hands_out_the_fullest(start: StartStation) -> None:
    run = start()
    tech = run.tech
    fullest = charged_by_soc(tech)[0]
    tech.code("R-complete")
    return_bay = return_battery(tech)
    assert int(screen_named(tech, "swap.take_charged")["bay"]) == fullest
    wait_state(tech, "await_collect")
    assert tech.sim(f"/bays/{fullest}/take").status_code == 200
    shut(tech, fullest)
    assert screen_named(tech, "swap.done") == {"bay": fullest}
    end = swap_end(tech)
    assert end["outcome"] == "completed"
    assert (end["return_bay"], end["charged_bay"], end["returned_battery_id"]) == (return_bay, fullest, RETURNED)
    world = world_bays(tech)
    assert world[return_bay]["battery"]["battery_id"] == RETURNED
    assert world[fullest]["battery"] is None
    assert all(b["door"] == "closed" for b in world.values())
    assert [r["outcome"] for r in swap_rows(run.config)] == ["completed"]


def test_a_completed_swap_records_its_steps_in_order(start: StartStation) -> None:
    run = start()
    tech = run.tech
    tech.code("R-order")
    return_battery(tech)
    bay = int(screen_named(tech, "swap.take_charged")["bay"])
    wait_state(tech, "await_collect")
    tech.sim(f"/bays/{bay}/take")
    shut(tech, bay)
    swap_end(tech)
    assert flow(tech) == [
        "code.accepted",
        "swap.started",
        "swap.bay_unlocking",
        "swap.bay_opened",
        "swap.door_closed",
        "swap.battery_returned",
        "swap.charged_chosen",
        "swap.bay_unlocking",
        "swap.bay_opened",
        "swap.door_closed",
        "swap.completed",
    ]


def test_a_rider_who_never_puts_a_battery_in_abandons_the_swap_and_no_charged_bay_opens(
    start: StartStation,
) -> None:
    run = start(insert_timeout_s=1.5, door_open_alarm_s=0.5)
    tech = run.tech
    tech.code("R-abandon")
    bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
    wait_state(tech, "await_return")
    shut(tech, bay)  # shut empty: the rider walked away
    end = swap_end(tech)
    assert end["outcome"] == "abandoned"
    assert run.sim.pulses == [bay]
    assert tech.events("swap.charged_chosen") == []
    assert [r["outcome"] for r in swap_rows(run.config)] == ["abandoned"]


def test_a_charged_battery_not_taken_stays_in_its_bay(start: StartStation) -> None:
    run = start()
    tech = run.tech
    tech.code("R-leaves")
    return_battery(tech)
    bay = int(screen_named(tech, "swap.take_charged")["bay"])
    battery = world_bays(tech)[bay]["battery"]["battery_id"]
    wait_state(tech, "await_collect")
    shut(tech, bay)
    end = swap_end(tech)
    assert end["outcome"] == "not_collected"
    assert end["battery_left_in_bay"] is True
    assert world_bays(tech)[bay]["battery"]["battery_id"] == battery


def test_a_foreign_battery_is_given_back_through_the_return_bay(start: StartStation) -> None:
    run = start(battery_id_pattern=r"^SH[0-9]{7}$")
    tech = run.tech
    tech.code("R-foreign")
    bay = return_battery(tech, battery_id="XX1234567")
    assert screen_named(tech, "swap.take_back") == {"bay": bay, "reason": "foreign", "seconds": LONG}
    wait_state(tech, "await_take_back")
    assert tech.sim(f"/bays/{bay}/take").status_code == 200
    shut(tech, bay)
    end = swap_end(tech)
    assert end["outcome"] == "foreign_battery"
    assert run.sim.pulses == [bay, bay]
    assert tech.events("swap.charged_chosen") == []
    assert world_bays(tech)[bay]["battery"] is None


def test_a_jammed_return_bay_is_faulted_and_another_bay_opens(start: StartStation) -> None:
    run = start(unlock_confirm_s=1.0)
    tech = run.tech
    jammed, spare = empty_bays(tech)[:2]
    assert tech.sim("/faults", fault="lock_jammed", bay=jammed).status_code == 200
    tech.code("R-jam")
    assert int(screen_named(tech, "swap.open_return_bay")["bay"]) == jammed
    wait_until(lambda: (s := tech.swap()) and s["return_bay"] == spare, WAIT, "another bay chosen")
    assert screen_named(tech, "swap.open_return_bay")["bay"] == spare
    faulted = tech.events("bay.faulted")
    assert [e["payload"]["bay"] for e in faulted] == [jammed]
    assert str(jammed) in tech.status()["components"]["station"]["out_of_service"]
    assert [e["payload"]["bay"] for e in tech.events("swap.bay_unlocking")] == [jammed, spare]


def test_no_charged_battery_refuses_the_swap_and_opens_nothing(start: StartStation) -> None:
    run = start()
    tech = run.tech
    for bay in charged_by_soc(tech):
        tech.sim("/faults", fault="battery_hot", bay=bay)
    hot = charged_by_soc(tech)
    wait_until(lambda: all(tech.bay(b)["battery"]["temperature_c"] > 60 for b in hot), WAIT, "hot batteries seen")
    tech.code("R-nothing")
    assert screen_named(tech, "swap.refused")["reason"] == "no_charged_battery"
    assert [e["payload"]["reason"] for e in tech.events("swap.refused")] == ["no_charged_battery"]
    assert run.sim.pulses == []
    assert tech.swap() is None


@ONE_KIND
def test_a_second_scan_during_a_swap_is_told_to_wait_and_changes_nothing(start: StartStation) -> None:
    run = start()
    tech = run.tech
    tech.code("R-first")
    bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
    wait_state(tech, "await_return")
    before = flow(tech)
    tech.code("R-second")
    screen_named(tech, "swap.busy")
    assert flow(tech) == before
    assert run.sim.pulses == [bay]
    assert tech.swap()["rider_id"] == "R-first"  # type: ignore[index]


@ONE_KIND
def test_an_expired_code_is_refused_with_its_reason(start: StartStation) -> None:
    run = start()
    tech = run.tech
    text = tech.code("R-late", ttl_s=1, scan=False)  # codes carry whole seconds
    expires = parse_code(text).code.expires_at
    wait_until(lambda: datetime.now(UTC) >= expires, 2 * WAIT, "the code's expiry")
    tech.sim("/scan", text=text)
    params = screen_named(tech, "code.refused")
    assert params["reason"] == "expired"
    assert params["message_en"]
    assert [e["payload"]["reason"] for e in tech.events("code.refused")] == ["expired"]
    assert run.sim.pulses == []


@ONE_KIND
def test_a_replayed_code_is_refused_and_its_nonce_is_used_once(start: StartStation) -> None:
    run = start()
    tech = run.tech
    text = tech.code("R-replay")
    screen_named(tech, "swap.open_return_bay")
    tech.sim("/scan", text=text)
    assert screen_named(tech, "code.refused")["reason"] == "nonce_used"
    assert len(tech.events("swap.started")) == 1
    assert [r["rider_id"] for r in nonce_rows(run.config)] == ["R-replay"]


# --- a restart mid-swap ----------------------------------------------------------------------------


def test_a_restart_with_the_return_bay_open_resumes_and_the_swap_completes(start: StartStation) -> None:
    run = start()
    tech = run.tech
    tech.code("R-restart")
    bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
    wait_state(tech, "await_return")
    run.restart()
    tech = run.tech
    assert tech.swap()["state"] == "await_return"  # type: ignore[index]
    recovered = tech.events("swap.recovered")
    assert [e["payload"]["decision"] for e in recovered] == ["resumed"]
    tech.sim(f"/bays/{bay}/insert", battery_id=RETURNED, soc_pct=12.0)
    shut(tech, bay)
    charged = int(screen_named(tech, "swap.take_charged")["bay"])
    wait_state(tech, "await_collect")
    tech.sim(f"/bays/{charged}/take")
    shut(tech, charged)
    assert swap_end(tech)["outcome"] == "completed"
    assert run.sim.pulses == [bay, charged]


def test_a_charged_battery_taken_while_the_station_was_down_completes_the_swap(start: StartStation) -> None:
    run = start()
    tech = run.tech
    tech.code("R-down")
    return_battery(tech)
    charged = int(screen_named(tech, "swap.take_charged")["bay"])
    wait_state(tech, "await_collect")
    run.stop()
    run.sim.take_battery(charged)  # kiosk-core (and its API) is down: the rider acts on the world itself
    run.sim.close_door(charged)
    run.start(boot_id="another-boot")
    tech = run.tech
    end = swap_end(tech)
    assert end["outcome"] == "completed"
    assert [e["payload"]["decision"] for e in tech.events("swap.recovered")] == ["ended"]
    assert world_bays(tech)[charged]["battery"] is None
    assert [r["outcome"] for r in swap_rows(run.config)] == ["completed"]


# --- a GPIO cabinet without slot controllers (presence switches only) --------------------------------


class PresenceOnlyCabinet(LastingSimCabinet):
    """The simulated GPIO cabinet with its slot controllers left unwired: the station sees presence only."""

    def hardware_config(self) -> HardwareConfig:
        """The simulator's GPIO config without the slot controllers' port."""
        hw = super().hardware_config()
        return hw.model_copy(update={"slots": hw.slots.model_copy(update={"port": None})})


@pytest.fixture
def presence_only(tmp_path: Path) -> Iterator[StartStation]:
    """Start a station (policy overrides as keywords) on a GPIO cabinet that senses batteries by presence only."""
    made: list[tuple[RunningStation, LastingSimCabinet]] = []

    def make(**policy: Any) -> RunningStation:
        config = test_config(tmp_path, policy)
        # Without its goods bays: the GPIO header has pins for presence switches on 8 battery bays, not for more.
        battery_bays = [bay for bay in config.hardware.bays if bay.goods is None]
        config = config.model_copy(update={"hardware": config.hardware.model_copy(update={"bays": battery_bays})})
        sim = PresenceOnlyCabinet("gpio", config.hardware, tmp_path / "devices", seed=1)
        running = RunningStation(config, sim, tmp_path / "codes")
        made.append((running, sim))
        bays = lambda: running.tech.status()["components"]["cabinet"]["bays"].values()  # noqa: E731
        wait_until(lambda: all(b["presence"] is not None for b in bays()), WAIT, "every bay's presence")
        return running

    yield make
    for running, sim in made:
        try:
            running.close()
        finally:
            sim.end()


def test_presence_only_cabinet_refuses_swaps_unless_present_batteries_may_count_as_charged(
    presence_only: StartStation,
) -> None:
    run = presence_only()
    run.tech.code("R-gpio")
    assert screen_named(run.tech, "swap.refused")["reason"] == "no_charged_battery"
    assert run.sim.pulses == []


def test_presence_only_cabinet_swaps_when_resting_batteries_count_as_charged(presence_only: StartStation) -> None:
    run = presence_only(assume_charged_after_s=1.0)
    tech = run.tech
    tech.code("R-gpio")
    return_bay = return_battery(tech, battery_id="XX0000001")  # no id is read, so none is judged foreign
    charged = int(screen_named(tech, "swap.take_charged")["bay"])
    assert world_bays(tech)[charged]["battery"] is not None
    wait_state(tech, "await_collect")
    tech.sim(f"/bays/{charged}/take")
    shut(tech, charged)
    end = swap_end(tech)
    assert end["outcome"] == "completed"
    assert (end["returned_battery_id"], end["charged_battery_id"]) == (None, None)
    assert world_bays(tech)[return_bay]["battery"]["battery_id"] == "XX0000001"


def test_a_return_bay_shut_empty_opens_again_when_the_rider_asks_on_the_screen(start: StartStation) -> None:
    run = start(insert_timeout_s=30)
    tech = run.tech
    tech.code("R-reopen")
    bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
    wait_state(tech, "await_return")
    shut(tech, bay)
    assert screen_named(tech, "swap.no_battery")["can_reopen"] is True
    assert requests.post(f"{tech.url}/api/swap/reopen", timeout=5).status_code == 401  # the UI's token is needed
    assert tech.session.post(f"{tech.url}/api/swap/reopen", timeout=5).status_code == 202
    wait_until(lambda: run.sim.pulses == [bay, bay], 10, "the same return bay pulsed again")
    assert [e["payload"]["bay"] for e in tech.events("swap.reopen_requested")] == [bay]
