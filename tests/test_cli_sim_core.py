"""Issue 13, bug 6: the CLI commands that talk to a running kiosk-core find a running ``kiosk sim``.

``kiosk sync status --config kiosk/sim/sim.toml`` used to fail with "secret file /etc/kiosk/ui-token does
not exist": the sim keeps its token (and its port) elsewhere. The sim now says where it runs in its data
folder (``running.json``), and the commands use that when the config's own token file is not there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SIM_TOML = str(Path(__file__).resolve().parents[1] / "kiosk" / "sim" / "sim.toml")


def kiosk(*args: str, sim_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_SIM_DIR": str(sim_dir)}
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli.main", *args], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.fixture
def sim_dir(tmp_path: Path) -> Iterator[Path]:
    """A running ``kiosk sim`` (its own free port) whose data folder is the one returned."""
    folder = tmp_path / "sim"
    env = {**os.environ, "KIOSK_SIM_DIR": str(folder)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "sim", "--no-ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or "Press Ctrl+C" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, f"kiosk sim ended early: {lines}"
            lines.append(line)
        yield folder
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_sync_status_with_the_sims_config_asks_the_running_sim(sim_dir: Path) -> None:
    result = kiosk("sync", "status", "--config", SIM_TOML, sim_dir=sim_dir)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["enabled"] is False


def test_sync_status_without_a_config_asks_the_running_sim(sim_dir: Path) -> None:
    assert not Path("/etc/kiosk/kiosk.toml").exists()  # this machine is no production station
    result = kiosk("sync", "status", sim_dir=sim_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["enabled"] is False


def test_without_a_running_sim_the_error_says_what_to_start(tmp_path: Path) -> None:
    result = kiosk("sync", "status", "--config", SIM_TOML, sim_dir=tmp_path / "nothing-here")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "is kiosk-core running" in result.stderr
    assert "kiosk sim" in result.stderr
