"""The kiosk command as an operator uses it: real processes, real signals, real sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import wait_until

CONFIG = """\
[station]
id = "cli-001"
name = "命令行驿站"
name_en = "CLI Station"
data_dir = "data"

[api]
port = 0
ui_token_file = "data/ui-token"
"""


def kiosk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli.main", *args], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_version() -> None:
    result = kiosk("version")
    assert result.returncode == 0
    assert result.stdout.startswith("kiosk ")


def test_config_check_accepts_a_good_file(config_file: Path) -> None:
    result = kiosk("config", "check", str(config_file))
    assert result.returncode == 0
    assert "OK — station cli-001" in result.stdout


def test_config_check_explains_a_bad_file_and_fails(config_file: Path) -> None:
    config_file.write_text(CONFIG.replace("port = 0", "port = 0\nprot = 1"), encoding="utf-8")
    result = kiosk("config", "check", str(config_file))
    assert result.returncode == 2
    assert "line 9: unknown key 'prot' in [api] — did you mean 'port'?" in result.stderr


def test_config_example_prints_a_config_that_checks(tmp_path: Path) -> None:
    example = kiosk("config", "example")
    assert example.returncode == 0
    path = tmp_path / "example.toml"
    path.write_text(example.stdout, encoding="utf-8")
    assert kiosk("config", "check", str(path)).returncode == 0


def test_db_commands_without_a_database_say_so(config_file: Path) -> None:
    result = kiosk("db", "info", "--config", str(config_file))
    assert result.returncode == 2
    assert "no database" in result.stderr


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(20)
    yield sock
    sock.close()


def messages_until(sock: socket.socket, wanted: str) -> list[str]:
    seen: list[str] = []
    while wanted not in seen:
        seen.append(sock.recv(4096).decode())  # the socket timeout bounds the wait
    return seen


def test_run_under_systemd_notifies_pings_the_watchdog_and_stops_cleanly_on_sigterm(
    config_file: Path, notify_socket: socket.socket
) -> None:
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.getsockname(), "WATCHDOG_USEC": "200000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "run", "--config", str(config_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    env["WATCHDOG_PID"] = str(proc.pid)
    try:
        assert "READY=1" in messages_until(notify_socket, "READY=1")
        assert messages_until(notify_socket, "WATCHDOG=1")[-1] == "WATCHDOG=1"
        proc.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in messages_until(notify_socket, "STOPPING=1")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)

    exported = kiosk("db", "export", "--config", str(config_file))
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["type"] for r in records] == ["station.started", "station.stopped"]
    assert records[1]["payload"] == {"reason": "SIGTERM"}
    assert [r["seq"] for r in records] == [1, 2]

    info = kiosk("db", "info", "--config", str(config_file))
    assert json.loads(info.stdout)["events_total"] == 2
    check = kiosk("db", "check", "--config", str(config_file))
    assert check.returncode == 0
    assert "integrity check: ok" in check.stdout


def test_sim_prints_where_to_look_serves_health_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "sim", "--no-ui", "--port", "0", "--data-dir", str(tmp_path / "sim")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or "Press Ctrl+C" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, f"kiosk sim ended early: {lines}"
            lines.append(line)
        text = "".join(lines)
        assert "Station sim-001" in text
        token = next(line.split(": ", 1)[1].strip() for line in lines if line.startswith("UI token"))
        url = next(line.split(": ", 1)[1].split()[0] for line in lines if "Local API" in line)
        assert url.startswith("http://127.0.0.1:")
        answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert answer.json()["components"]["cabinet"]["kind"] == "kerong"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    assert wait_until(lambda: (tmp_path / "sim" / "station.db").exists(), 5, "the sim database")


def test_kiosk_ui_hands_its_options_to_the_touchscreen_app() -> None:
    result = kiosk("ui", "--help")
    assert result.returncode == 0
    assert "--window" in result.stdout
    assert "--api-url" in result.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sync_commands_ask_the_running_core(config_file: Path, tmp_path: Path) -> None:
    port = free_port()
    config_file.write_text(CONFIG.replace("port = 0", f"port = {port}"), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "run", "--config", str(config_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: _healthy(port), 20, "kiosk-core answering")
        status = kiosk("sync", "status", "--config", str(config_file))
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["enabled"] is False
        now = kiosk("sync", "now", "--config", str(config_file))
        assert now.returncode == 1
        assert "sync with the hub is not enabled" in now.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_sync_commands_without_a_running_core_say_so(config_file: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    token = tmp_path / "data" / "ui-token"
    token.write_text("t" * 40)
    token.chmod(0o600)
    config_file.write_text(CONFIG.replace("port = 0", f"port = {free_port()}"), encoding="utf-8")
    result = kiosk("sync", "status", "--config", str(config_file))
    assert result.returncode == 2
    assert "kiosk-core is not answering" in result.stderr


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200
    except requests.RequestException:
        return False
