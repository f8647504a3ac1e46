"""The first minutes with ``kiosk sim``: one sign-in line with a password typeable on a phone, the touchscreen app
beside the simulator (on a virtual display here), and ``kiosk ui`` finding a running simulator by itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.api.users import UserStore, check_password
from kiosk.cli.main import build_parser
from kiosk.cli.sim import _sim_admin_password, _sim_config
from kiosk.core.config import DEFAULT_CONFIG_PATH, Config
from kiosk.core.secrets import typeable_password, typeable_password_bits
from kiosk.sim.running import RUNNING_FILE, find_running_sim
from kiosk.sim.session import start_xvfb
from tests.ops.processes import Background, api_url, kiosk_env, kiosk_sim, processes_naming

TYPEABLE = re.compile(r"^[a-z]+( [a-z]+)+$")
UI_CONNECTED = r"connected to kiosk-core at (http://\S+)"
UI_START_S = 60.0
"""Kivy's cold start under Xvfb with software OpenGL on a busy 2-core machine."""


# --- the first password -------------------------------------------------------------------------------


def test_a_typeable_password_is_lower_case_words_with_over_60_bits() -> None:
    passwords = {typeable_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert TYPEABLE.match(password), password
        assert len(password.split(" ")) == 4
        assert check_password(password) == password
    assert typeable_password_bits() > 70
    assert typeable_password_bits(words=1, syllables=1) == pytest.approx(6.13, abs=0.01)


def sim_config_in(tmp_path: Path) -> Config:
    return _sim_config(build_parser().parse_args(["sim", "--data-dir", str(tmp_path / "sim")]))


def test_the_sims_admin_password_is_typeable_and_kept_across_starts(tmp_path: Path) -> None:
    config = sim_config_in(tmp_path)
    first = _sim_admin_password(config)
    assert TYPEABLE.match(first)
    assert _sim_admin_password(config) == first
    assert UserStore(tmp_path / "sim" / "users.json").verify("admin", first) is not None


def test_an_older_sims_long_password_is_replaced_by_a_typeable_one_that_works(tmp_path: Path) -> None:
    config = sim_config_in(tmp_path)
    _sim_admin_password(config)
    old = "zjVX-9vjKupxNhFWXa8qSQWtpsLVf4TRnZpbyxNYyjI"  # what the simulator printed before
    users = UserStore(tmp_path / "sim" / "users.json")
    users.set_password("admin", old)
    (tmp_path / "sim" / "admin-password").write_text(old + "\n")
    new = _sim_admin_password(config)
    assert TYPEABLE.match(new)
    assert users.verify("admin", new) is not None
    assert users.verify("admin", old) is None


def test_a_lost_password_file_gets_a_new_password_that_works(tmp_path: Path) -> None:
    config = sim_config_in(tmp_path)
    _sim_admin_password(config)
    (tmp_path / "sim" / "admin-password").unlink()
    new = _sim_admin_password(config)
    assert UserStore(tmp_path / "sim" / "users.json").verify("admin", new) is not None


def sign_in(url: str, password: str) -> requests.Response:
    session = requests.Session()
    form = session.get(f"{url}/login", timeout=5).text
    csrf = re.search(r'name="login_csrf" value="([^"]+)"', form)
    assert csrf is not None
    data = {"login_csrf": csrf.group(1), "username": "admin", "password": password}
    return session.post(f"{url}/login", data=data, timeout=10)


def test_the_banner_says_once_how_to_sign_in_and_that_password_works(tmp_path: Path) -> None:
    sim = kiosk_sim(tmp_path / "sim", "--ui", "off")
    try:
        url = api_url(sim)
        mentions = [line for line in sim.out if "sign in" in line.lower() or "sign-in" in line.lower()]
        assert len(mentions) == 1, mentions
        assert "add-user" not in sim.text()
        password = sim.wait_for(r"sign in as admin, password: ([a-z ]+)\)", 1).group(1)
        assert TYPEABLE.match(password)
        signed = sign_in(url, password)
        assert signed.status_code == 200
        assert "/login" not in signed.url
        assert sim.interrupt() == 0
    finally:
        sim.close()


# --- the touchscreen app beside the simulator ----------------------------------------------------------


def test_the_sim_says_how_to_see_the_touchscreen_when_there_is_no_display(tmp_path: Path) -> None:
    sim = kiosk_sim(tmp_path / "sim", env=kiosk_env(DISPLAY=None, WAYLAND_DISPLAY=None))
    try:
        line = sim.wait_for(r"^Touchscreen app: .*", 1).group(0)
        assert "no display" in line
        assert "--ui xvfb" in line
        assert sim.interrupt() == 0
    finally:
        sim.close()


def test_asking_for_a_window_without_a_display_is_refused_before_anything_starts(tmp_path: Path) -> None:
    sim = Background(
        [sys.executable, "-m", "kiosk.cli.main", "sim", "--ui", "window", "--port", "0", "--data-dir", str(tmp_path)],
        kiosk_env(DISPLAY=None, WAYLAND_DISPLAY=None),
    )
    try:
        assert sim.proc.wait(timeout=30) == 2
        sim.close()
        assert "--ui window needs a display" in sim.text()
        assert not (tmp_path / "station.db").exists()
    finally:
        sim.close()


def test_the_sim_runs_the_touchscreen_on_a_virtual_display_and_it_connects(tmp_path: Path) -> None:
    sim = kiosk_sim(tmp_path / "sim", "--ui", "xvfb", env=kiosk_env(DISPLAY=None, WAYLAND_DISPLAY=None))
    try:
        url = api_url(sim)
        line = sim.wait_for(r"^Touchscreen app: on the virtual display (:\d+)", 1)
        assert f"x11vnc -display {line.group(1)}" in line.string
        assert sim.wait_for(UI_CONNECTED, UI_START_S, stream="err").group(1) == url
        assert processes_naming(str(tmp_path / "sim" / "ui-token"))  # the app, given the sim's token file
        assert sim.interrupt() == 0
        assert "the touchscreen app ended" not in sim.text()  # it was ended, it did not fail
        assert processes_naming(str(tmp_path / "sim" / "ui-token")) == []
    finally:
        sim.close()


def test_where_a_display_exists_the_sim_opens_the_touchscreen_in_a_window(tmp_path: Path, display: str) -> None:
    sim = kiosk_sim(tmp_path / "sim", env=kiosk_env(DISPLAY=display, WAYLAND_DISPLAY=None))  # no --ui: the default
    try:
        url = api_url(sim)
        assert sim.wait_for(r"^Touchscreen app: (.*)", 1).group(1).startswith("opened in a window (800x480")
        assert sim.wait_for(UI_CONNECTED, UI_START_S, stream="err").group(1) == url
        assert sim.interrupt() == 0
        assert "the touchscreen app ended" not in sim.text()
        assert processes_naming(str(tmp_path / "sim" / "ui-token")) == []
    finally:
        sim.close()


# --- kiosk ui finds the running simulator ------------------------------------------------------------


@pytest.fixture
def no_station_config() -> None:
    """These tests are about a machine without a station: none may be configured here."""
    assert not DEFAULT_CONFIG_PATH.exists(), f"{DEFAULT_CONFIG_PATH} exists: run these tests on a non-station machine"


@pytest.fixture
def display() -> Iterator[str]:
    """A virtual X display for the touchscreen app."""
    xvfb, name = start_xvfb()
    try:
        yield name
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def kiosk_ui(env: dict[str, str]) -> Background:
    return Background([sys.executable, "-m", "kiosk.cli.main", "ui"], env)


@pytest.mark.usefixtures("no_station_config")
def test_kiosk_ui_alone_goes_to_the_running_sim(tmp_path: Path, display: str) -> None:
    sim_dir = tmp_path / "sim"
    sim = kiosk_sim(sim_dir, "--ui", "off")
    try:
        url = api_url(sim)
        run = find_running_sim(sim_dir)
        assert run is not None
        assert run.url == url
        assert run.ui_token_file == (sim_dir / "ui-token").resolve()
        ui = kiosk_ui(kiosk_env(KIOSK_SIM_DIR=str(sim_dir), DISPLAY=display, WAYLAND_DISPLAY=None))
        try:
            assert ui.wait_for(UI_CONNECTED, UI_START_S, stream="err").group(1) == url
        finally:
            ui.close()
        assert sim.interrupt() == 0
    finally:
        sim.close()


@pytest.mark.usefixtures("no_station_config")
def test_kiosk_ui_without_a_running_sim_says_how_to_start_one(tmp_path: Path) -> None:
    ui = kiosk_ui(kiosk_env(KIOSK_SIM_DIR=str(tmp_path), DISPLAY=None))
    try:
        assert ui.proc.wait(timeout=30) == 2
    finally:
        ui.close()
    assert "no simulated station is running" in ui.text()
    assert "kiosk sim" in ui.text()


@pytest.mark.usefixtures("no_station_config")
def test_kiosk_ui_with_a_sim_that_does_not_answer_says_so(tmp_path: Path) -> None:
    # A live process (this test's) left the file, but nothing listens where it says: a hung or half-started sim.
    record = {"station_id": "sim-001", "url": "http://127.0.0.1:9", "ui_token_file": "/x", "pid": os.getpid()}
    (tmp_path / RUNNING_FILE).write_text(json.dumps(record))
    ui = kiosk_ui(kiosk_env(KIOSK_SIM_DIR=str(tmp_path), DISPLAY=None))
    try:
        assert ui.proc.wait(timeout=30) == 2
    finally:
        ui.close()
    assert "is not answering at http://127.0.0.1:9" in ui.text()


@pytest.mark.usefixtures("no_station_config")
def test_kiosk_sync_status_alone_asks_the_running_sim(tmp_path: Path) -> None:
    sim_dir = tmp_path / "sim"
    sim = kiosk_sim(sim_dir, "--ui", "off")
    try:
        status = subprocess.run(
            [sys.executable, "-m", "kiosk.cli.main", "sync", "status"],
            env=kiosk_env(KIOSK_SIM_DIR=str(sim_dir)),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["enabled"] is False
        assert sim.interrupt() == 0
    finally:
        sim.close()


def test_a_sim_for_a_hub_without_its_token_says_how_to_register_it(tmp_path: Path) -> None:
    argv = ["sim", "--hub", "http://127.0.0.1:9", "--port", "0", "--data-dir", str(tmp_path / "sim"), "--ui", "off"]
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.cli.main", *argv], env=kiosk_env(), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert f"kiosk-hub station add sim-001 --name NAME --token-file {tmp_path / 'sim' / 'hub-token'}" in result.stderr
