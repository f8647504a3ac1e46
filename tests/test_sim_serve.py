"""The simulated cabinet served in its own process (``python -m kiosk.devices.sim.serve``): its control protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.devices.sim.cabinet import SimCabinet
from kiosk.devices.sim.serve import CabinetServer, board_hardware
from tests.swap_crash_harness import BAYS, CabinetProcess


@pytest.fixture
def served(tmp_path: Path) -> Iterator[CabinetServer]:
    """A cabinet server in this process (its socket is not needed to test its answers)."""
    server = CabinetServer(SimCabinet("kerong", board_hardware(3), tmp_path / "cab", seed=1))
    server.sim.start()
    yield server
    server.close()


def test_control_refuses_an_impossible_rider_action_with_the_reason(served: CabinetServer) -> None:
    answer = served.answer(b'{"op": "take_battery", "bay": 1}')
    assert answer == {"ok": False, "error": "bay 1's door is shut: unlock it before trying to take a battery"}


def test_control_names_the_known_operations_for_an_unknown_one(served: CabinetServer) -> None:
    answer = served.answer(b'{"op": "teleport"}')
    assert answer["ok"] is False
    assert "teleport" in answer["error"]
    assert "take_battery" in answer["error"]


def test_control_refuses_a_line_that_is_not_a_json_object(served: CabinetServer) -> None:
    assert served.answer(b"[1, 2]")["ok"] is False
    assert served.answer(b"not json")["ok"] is False


def test_staff_unload_takes_the_battery_out_of_a_shut_bay_and_shuts_it(served: CabinetServer) -> None:
    battery = served.batteries()["1"]
    assert served.answer(b'{"op": "staff_unload", "bay": 1}') == {"ok": True, "result": battery}
    assert "1" not in served.batteries()
    assert served.sim.door_open(1) is False
    assert served.pulses.since(0) == []


def test_served_cabinet_writes_its_hardware_config_and_answers_on_its_socket(tmp_path: Path) -> None:
    process = CabinetProcess(tmp_path / "cab")
    try:
        hardware = json.loads(process.hardware.read_text(encoding="utf-8"))
        assert hardware["cabinet"] == "kerong"
        assert len(hardware["bays"]) == BAYS
        assert hardware["entry_door"]["lock_pin"] is None
        assert process.call("door_open", bay=1) is False
    finally:
        process.close()
    assert not (tmp_path / "cab" / "control.sock").exists()
