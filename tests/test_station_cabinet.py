"""kiosk-core with a simulated cabinet of each kind, driven through the local API as a technician would.

The simulator sits behind real ptys and mock pins, so the production drivers, the cabinet component's
threads, the store and the API are all on the path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.app.station import Station
from kiosk.core.clock import SystemClock
from kiosk.devices.sim.cabinet import SimCabinet
from kiosk.sim.codes import SimCodeIssuer
from tests.support import LoopThread, Technician, sim_config, wait_until

KINDS = ["kerong", "8a80", "gpio"]


@pytest.fixture(params=KINDS)
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Station, Technician, LoopThread]]:
    loop = LoopThread()
    config = sim_config(tmp_path)
    sim = SimCabinet(request.param, config.hardware, tmp_path / "devices", seed=1)

    async def build() -> Station:
        clock = SystemClock()
        return Station(config, clock, sim=sim, sim_codes=SimCodeIssuer(tmp_path / "codes", clock))

    station: Station = loop.run(build())
    loop.run(station.start())
    try:
        yield station, Technician(station), loop
    finally:
        loop.run(station.stop("test over"))
        loop.close()


def test_every_bay_and_its_battery_are_on_the_status(running: tuple[Station, Technician, LoopThread]) -> None:
    _, tech, _ = running
    bays = wait_until(
        lambda: (b := tech.status()["components"]["cabinet"]["bays"]) and b["1"]["battery"] and b, 10, "battery reads"
    )
    assert len(bays) == 10  # 8 battery bays, 2 goods bays
    assert all(b["door"] == "closed" for b in bays.values())
    assert bays["1"]["battery"]["battery_id"].startswith("SH")
    assert bays["8"]["battery"]["present"] is False
    # Nobody has stocked the goods bays yet (kiosk sim does at start): the only warnings (besides the trusted
    # time's, which depends on whether this machine's clock is NTP-synchronised).
    warnings = [w for w in tech.status()["warnings"] if not w.startswith("time: ")]
    assert warnings == ["rider: goods bay 9 (water) is empty", "rider: goods bay 10 (snack) is empty"]


def test_an_unlocked_bay_opens_and_a_returned_battery_is_seen_and_recorded(
    running: tuple[Station, Technician, LoopThread],
) -> None:
    station, tech, loop = running
    loop.run(station.cabinet.unlock(8))
    wait_until(lambda: tech.bay(8)["door"] == "open", 10, "bay 8 seen open")
    assert tech.sim("/bays/8/insert", battery_id="SH7654321", soc_pct=12.5).status_code == 200
    assert tech.sim("/bays/8/close-door").status_code == 200
    wait_until(lambda: tech.bay(8)["door"] == "closed", 10, "bay 8 seen closed")
    battery = wait_until(lambda: tech.bay(8)["battery"]["battery_id"] == "SH7654321" and tech.bay(8)["battery"], 10)
    assert battery["soc_pct"] == pytest.approx(12.5, abs=0.2)
    doors = [(e["payload"]["bay"], e["payload"]["door"]) for e in tech.events("bay.door_changed")]
    assert doors == [(8, "open"), (8, "closed")]
    arrivals = [e["payload"] for e in tech.events("bay.battery_changed") if e["payload"]["bay"] == 8]
    assert arrivals[-1]["battery_id"] == "SH7654321"


def test_the_simulator_refuses_what_a_real_cabinet_makes_impossible(
    running: tuple[Station, Technician, LoopThread],
) -> None:
    _, tech, _ = running
    answer = tech.sim("/bays/1/take")
    assert answer.status_code == 409
    assert "closed" in answer.json()["error"] or "shut" in answer.json()["error"]


def test_an_unplugged_scanner_is_a_warning_and_an_event_and_comes_back(
    running: tuple[Station, Technician, LoopThread],
) -> None:
    _, tech, _ = running
    tech.sim("/faults", fault="scanner_unplugged")
    wait_until(lambda: "cabinet: the QR scanner is not connected" in tech.status()["warnings"], 10, "warning")
    tech.sim("/faults", fault="scanner_unplugged", on=False)
    wait_until(lambda: "cabinet: the QR scanner is not connected" not in tech.status()["warnings"], 15, "reconnect")
    states = [e["payload"]["state"] for e in tech.events("scanner.state_changed")]
    assert states == ["disconnected", "connected"]


def test_a_garbled_scan_is_recorded_as_a_bad_scan_without_its_content(
    running: tuple[Station, Technician, LoopThread],
) -> None:
    _, tech, _ = running
    tech.sim("/scan", text="X" * 600)
    bad = wait_until(lambda: tech.events("scanner.bad_scan"), 10, "a bad scan event")
    assert "too long" in bad[0]["payload"]["reason"]
    assert "XXXX" not in str(bad[0])


def test_a_hot_battery_shows_its_temperature_and_fault(running: tuple[Station, Technician, LoopThread]) -> None:
    _, tech, _ = running
    tech.sim("/faults", fault="battery_hot", bay=1)
    battery = wait_until(lambda: (b := tech.bay(1)["battery"]) and b["temperature_c"] > 60 and b, 10, "hot")
    assert "over_temperature" in battery["fault_flags"]


def test_a_silent_lock_board_faults_its_bays_and_they_recover(
    running: tuple[Station, Technician, LoopThread],
) -> None:
    station, tech, _ = running
    if station.config.hardware.cabinet == "gpio":
        # A GPIO cabinet has no board to fall silent; its equivalent is a flapping switch (next test).
        assert tech.sim("/faults", fault="board_silent").status_code == 409
        return
    tech.sim("/faults", fault="board_silent")
    wait_until(lambda: any("not answering" in w for w in tech.status()["warnings"]), 15, "board fault warning")
    tech.sim("/faults", fault="board_silent", on=False)
    wait_until(lambda: not any("not answering" in w for w in tech.status()["warnings"]), 15, "recovery")
    reasons = [e["payload"]["reason"] for e in tech.events("bay.fault_changed") if e["payload"]["bay"] == 1]
    assert reasons[0] is not None
    assert "not answering" in reasons[0]
    assert reasons[-1] is None


def test_a_flapping_door_switch_faults_the_bay(running: tuple[Station, Technician, LoopThread]) -> None:
    _, tech, _ = running
    tech.sim("/faults", fault="door_flapping", bay=2)
    fault = wait_until(lambda: tech.bay(2)["fault"], 20, "bay 2 faulted")
    assert "flapping" in fault
    assert any(w.startswith("cabinet: bay 2: ") for w in tech.status()["warnings"])


def test_a_code_with_a_fractional_lifetime_is_a_clear_422(running: tuple[Station, Technician, LoopThread]) -> None:
    _, tech, _ = running
    answer = tech.sim("/codes", rider_id="R1001", ttl_s=1.5)
    assert answer.status_code == 422
    assert tech.sim("/codes", rider_id="R1001", ttl_s=2).status_code == 200
