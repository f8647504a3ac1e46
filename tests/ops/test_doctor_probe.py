"""``kiosk doctor --probe``: status queries to the simulated boards through a pty say which profile answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.config import Config, parse_config
from kiosk.devices.lockers.probe import models_for, probe_bus
from kiosk.devices.protocols import board8a80 as p8a80
from kiosk.devices.protocols import kerong as pkerong
from kiosk.devices.sim.lockboard import SimLockBus
from kiosk.devices.sim.profiles import sim_bus_for
from kiosk.devices.sim.pty import PtyPort
from kiosk.ops.doctor import Level, check_lock_boards


@pytest.fixture
def sims() -> Iterator[list[SimLockBus]]:
    made: list[SimLockBus] = []
    yield made
    for bus in made:
        bus.close()


def config(port: str, hardware: str) -> Config:
    """A station config whose [hardware] section is ``hardware`` (bus_port filled in)."""
    return parse_config(
        f"""
[station]
id = "probe-test"
name = "测试驿站"
name_en = "Probe Test"

[hardware]
bus_port = "{port}"
{hardware}
"""
    )


def test_a_7_byte_answer_fits_the_24_lock_profile_and_the_either_length_one() -> None:
    assert models_for("8a80", p8a80.all_reply(1, 0, status_bytes=3)) == ("8a80-24", "8a80-8")


def test_an_8_byte_answer_fits_the_32_lock_profile_and_the_either_length_one() -> None:
    assert models_for("8a80", p8a80.all_reply(1, 0)) == ("8a80-32", "8a80-8")


def test_a_board_above_32_fits_only_the_wide_address_profile() -> None:
    assert models_for("8a80", p8a80.all_reply(0xC8, 0, status_bytes=3)) == ("8a80-24",)


def test_a_kerong_status_fits_both_kerong_models() -> None:
    assert models_for("kerong", pkerong.status_reply(0, 0, 0)) == ("kerong-cu12", "kerong-cu16")


@pytest.mark.parametrize(
    ("model", "expected"),
    [("8a80-24", ("8a80-24", "8a80-8")), ("8a80-32", ("8a80-32", "8a80-8")), ("kerong-cu16", None)],
)
def test_probe_through_a_pty_names_the_profiles_that_answer_and_sends_no_unlock(
    model: str, expected: tuple[str, ...] | None, pty_port: PtyPort, sims: list[SimLockBus]
) -> None:
    family: Any = "kerong" if model.startswith("kerong") else "8a80"
    board = 0 if family == "kerong" else 3
    sim = sim_bus_for(model, pty_port, [board])
    sims.append(sim)
    answers = probe_bus(pty_port.path, {family: [board, board + 1]}, timeout_s=0.1)
    assert [(a.family, a.board) for a in answers] == [(family, board)]
    assert model in answers[0].models
    if expected is not None:
        assert answers[0].models == expected
    assert sim.unlock_frames == 0
    assert sim.pulses == []


def test_doctor_probe_says_which_profile_answers(pty_port: PtyPort, sims: list[SimLockBus]) -> None:
    sims.append(sim_bus_for("8a80-24", pty_port, [2]))
    cfg = config(pty_port.path, 'board_model = "8a80-24"\n[[hardware.bays]]\nnumber = 1\nboard = 2\nlock = 0')
    (finding,) = check_lock_boards(cfg, timeout_s=0.1)
    assert finding.level is Level.OK
    assert "8a80 board 2 answers at 9600 baud (7-byte status): fits 8a80-24, 8a80-8" in finding.message


def test_doctor_probe_warns_when_the_configured_model_does_not_fit(pty_port: PtyPort, sims: list[SimLockBus]) -> None:
    sims.append(sim_bus_for("8a80-24", pty_port, [2]))
    cfg = config(pty_port.path, 'board_model = "8a80-32"\n[[hardware.bays]]\nnumber = 1\nboard = 2\nlock = 0')
    (finding,) = check_lock_boards(cfg, timeout_s=0.1)
    assert finding.level is Level.WARN
    assert finding.fix == "set [hardware] board_model to one of: 8a80-24, 8a80-8"


def test_doctor_probe_fails_when_a_configured_board_is_silent(pty_port: PtyPort, sims: list[SimLockBus]) -> None:
    sim = sim_bus_for("kerong-cu16", pty_port, [0, 1])
    sim.silent(1)
    sims.append(sim)
    bays = "\n".join(f"[[hardware.bays]]\nnumber = {n}\nboard = {n - 1}\nlock = 0" for n in (1, 2))
    findings = check_lock_boards(config(pty_port.path, f'cabinet = "kerong"\n{bays}'), timeout_s=0.1)
    assert [f.level for f in findings] == [Level.OK, Level.FAIL]
    assert findings[1].message == "configured board(s) 1 did not answer"


def test_doctor_probe_of_a_port_held_exclusively_says_so(tmp_path: Path, pty_port: PtyPort) -> None:
    import serial

    with serial.Serial(pty_port.path, exclusive=True):
        (finding,) = check_lock_boards(config(pty_port.path, 'cabinet = "kerong"'), timeout_s=0.1)
    assert finding.level is Level.FAIL
    assert "stop kiosk-core first" in finding.fix


def test_doctor_probe_skips_a_cabinet_without_lock_boards(pty_port: PtyPort) -> None:
    (finding,) = check_lock_boards(config(pty_port.path, 'cabinet = "none"'))
    assert finding.level is Level.SKIP
