"""kiosk doctor: each check on a good setup and on the broken one it is there to catch."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import http.server
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.devices.sim.pty import PtyPort
from kiosk.ops.doctor import (
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    Finding,
    Host,
    Level,
    check_clock,
    check_data_dir,
    check_disk,
    check_gpio,
    check_port,
    mount_of,
    privileges,
    report,
    run_checks,
)
from kiosk.store import Store

STATION = "sh-doctor-001"
TOKEN = secrets.token_urlsafe(16)
GOOD_HOST = Host(
    mounts_text=lambda: "/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n",
    group_text=lambda: "gpio:x:997:kiosk\n",
    gpio_chips=lambda: ["/dev/gpiochip0"],
    has_lgpio=lambda: True,
    clock_synced=lambda: True,
    disk_usage=lambda _: (8 * 2**30, 30 * 2**30),
)


def secret(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


class Setup:
    """A station config in a temp folder whose parts a test can break one at a time."""

    def __init__(self, folder: Path, port: str) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.data.mkdir()
        self.font = folder / "font.ttc"
        self.font.write_bytes(b"font")
        self.ui_token = secret(folder / "ui-token", "ui-token")
        self.hub_token = secret(folder / "hub-token", TOKEN)
        self.port = port
        self.sync = "enabled = false"

    def write(self) -> Path:
        path = self.folder / "kiosk.toml"
        path.write_text(
            f"""
[station]
id = "{STATION}"
name = "测试驿站"
name_en = "Test Station"
data_dir = "{self.data}"

[api]
ui_token_file = "{self.ui_token}"

[sync]
{self.sync}
token_file = "{self.hub_token}"
timeout_s = 2

[ui]
font_file = "{self.font}"

[hardware]
cabinet = "kerong"
bus_port = "{self.port}"

[[hardware.bays]]
number = 1
board = 0
lock = 0
""",
            encoding="utf-8",
        )
        return path


@pytest.fixture
def setup(tmp_path: Path, pty_port: PtyPort) -> Setup:
    return Setup(tmp_path, pty_port.path)


def findings(setup: Setup, host: Host = GOOD_HOST) -> dict[str, Finding]:
    return {f.check: f for f in run_checks(setup.write(), host, hub_timeout_s=2)}


def levels(setup: Setup, host: Host = GOOD_HOST) -> dict[str, Level]:
    return {name: f.level for name, f in findings(setup, host).items()}


# --- the whole run ----------------------------------------------------------------------------------


def test_good_setup_passes_every_check(setup: Setup) -> None:
    assert {name: level for name, level in levels(setup).items() if level not in (Level.OK, Level.SKIP)} == {}


def test_good_setup_exits_zero(setup: Setup) -> None:
    assert report(run_checks(setup.write(), GOOD_HOST), write=lambda _: None) == 0


def test_any_failure_exits_non_zero_and_prints_a_fix(setup: Setup) -> None:
    setup.font.unlink()
    lines: list[str] = []
    assert report(run_checks(setup.write(), GOOD_HOST), write=lines.append) == 1
    assert [line for line in lines if line.startswith("FAIL")] == [f"FAIL  font: {setup.font} is missing"]
    assert "      fix: apt-get install fonts-wqy-microhei (or set ui.font_file)" in lines


def test_invalid_config_fails_alone_with_its_line(setup: Setup) -> None:
    path = setup.write()
    path.write_text(path.read_text().replace('cabinet = "kerong"', 'cabinet = "kerong"\nbus_speed = 9600'))
    result = run_checks(path, GOOD_HOST)
    assert [(f.check, f.level) for f in result] == [("config", Level.FAIL)]
    assert "bus_speed" in result[0].message


def test_missing_config_file_fails(tmp_path: Path) -> None:
    result = run_checks(tmp_path / "nowhere.toml", GOOD_HOST)
    assert (result[0].level, "does not exist" in result[0].message) == (Level.FAIL, True)


# --- serial ports -----------------------------------------------------------------------------------


def test_configured_port_that_is_missing_fails(setup: Setup) -> None:
    setup.port = str(setup.folder / "ttyUSB-unplugged")
    found = findings(setup)["lock boards port"]
    assert (found.level, "does not exist" in found.message, "/dev/serial/by-id" in found.fix) == (
        Level.FAIL,
        True,
        True,
    )


def test_port_that_opens_is_ok(pty_port: PtyPort) -> None:
    assert check_port("scanner", pty_port.path) == Finding("scanner port", Level.OK, f"{pty_port.path} opens")


def test_port_held_by_a_running_station_is_ok(pty_port: PtyPort) -> None:
    fd = os.open(pty_port.path, os.O_RDWR | os.O_NOCTTY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        found = check_port("lock boards", pty_port.path)
    finally:
        os.close(fd)
    assert (found.level, "in use" in found.message) == (Level.OK, True)


def test_port_without_permission_fails(pty_port: PtyPort, monkeypatch: pytest.MonkeyPatch) -> None:
    # As a user outside the dialout group sees it (root would open anything, so the refusal is staged).
    def refuse(path: str, *args: object) -> int:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "open", refuse)
    found = check_port("slot controllers", pty_port.path)
    assert (found.level, "permission denied" in found.message, "dialout" in found.fix) == (Level.FAIL, True, True)


def test_doctor_as_an_ordinary_user_warns_that_it_needs_sudo() -> None:
    assert privileges(0, "root") == []
    assert privileges(1000, "kiosk") == []
    assert [(f.level, "sudo kiosk doctor" in f.fix) for f in privileges(1000, "pi")] == [(Level.WARN, True)]


# --- GPIO -------------------------------------------------------------------------------------------


def test_gpio_good_when_chip_group_and_library_are_there() -> None:
    result = check_gpio(["/dev/gpiochip0"], "gpio:x:997:pi,kiosk\n", has_lgpio=True)
    assert [f.level for f in result] == [Level.OK, Level.OK]


def test_gpio_without_a_chip_fails() -> None:
    assert check_gpio([], "gpio:x:997:kiosk\n", has_lgpio=True)[0].level is Level.FAIL


def test_gpio_user_outside_the_group_fails_with_the_usermod_fix() -> None:
    found = check_gpio(["/dev/gpiochip0"], "gpio:x:997:pi\n", has_lgpio=True)[1]
    assert (found.level, found.fix) == (Level.FAIL, "usermod -aG gpio kiosk")


def test_gpio_without_lgpio_warns() -> None:
    found = check_gpio(["/dev/gpiochip0"], "gpio:x:997:kiosk\n", has_lgpio=False)[-1]
    assert (found.check, found.level, "python3-lgpio" in found.fix) == ("GPIO library", Level.WARN, True)


def test_gpio_is_checked_only_when_the_config_uses_pins(setup: Setup) -> None:
    assert "GPIO" not in findings(setup)


def test_pins_of_a_cabinet_without_lockers_need_no_gpio(setup: Setup) -> None:
    path = setup.write()
    text = path.read_text().replace('cabinet = "kerong"', 'cabinet = "none"')
    path.write_text(text.replace("lock = 0\n", 'lock = 0\npresence_pin = "GPIO24"\n'))
    assert "GPIO" not in {f.check for f in run_checks(path, GOOD_HOST)}


def test_gpio_cabinet_gets_the_gpio_checks(setup: Setup) -> None:
    path = setup.write()
    text = path.read_text().replace('cabinet = "kerong"', 'cabinet = "gpio"')
    path.write_text(text.replace("lock = 0\n", 'lock = 0\nlock_pin = "GPIO17"\ndoor_pin = "GPIO27"\n'))
    broken = dataclasses.replace(GOOD_HOST, gpio_chips=lambda: [])
    result = {f.check: f.level for f in run_checks(path, broken)}
    assert result["GPIO"] is Level.FAIL


# --- font, clock, data folder, disk -----------------------------------------------------------------


def test_missing_font_fails(setup: Setup) -> None:
    setup.font.unlink()
    assert levels(setup)["font"] is Level.FAIL


def test_unsynchronised_clock_warns() -> None:
    assert (check_clock(True).level, check_clock(False).level) == (Level.OK, Level.WARN)


def test_data_folder_on_tmpfs_fails(tmp_path: Path) -> None:
    mounts = f"/dev/root / ext4 rw 0 0\ntmpfs {tmp_path} tmpfs rw 0 0\n"
    found = check_data_dir(tmp_path, mounts)
    assert (found.level, "lost at reboot" in found.message) == (Level.FAIL, True)


def test_data_folder_on_an_overlay_root_fails_but_on_its_own_partition_passes(tmp_path: Path) -> None:
    overlay = "overlay / overlay rw 0 0\n"
    own = overlay + f"/dev/mmcblk0p3 {tmp_path} ext4 rw 0 0\n"
    assert (check_data_dir(tmp_path, overlay).level, check_data_dir(tmp_path, own).level) == (Level.FAIL, Level.OK)


def test_missing_data_folder_fails(tmp_path: Path) -> None:
    assert check_data_dir(tmp_path / "gone", "/dev/root / ext4 rw 0 0\n").level is Level.FAIL


def test_mount_of_picks_the_deepest_mount_point() -> None:
    mounts = "/dev/root / ext4 rw 0 0\n/dev/sda1 /var/lib ext4 rw 0 0\n/dev/sdb1 /var/lib/kiosk xfs rw 0 0\n"
    assert mount_of(Path("/var/lib/kiosk/sub"), mounts) == ("/var/lib/kiosk", "xfs")
    assert mount_of(Path("/var/lib/kiosk-other"), mounts) == ("/var/lib", "ext4")


def test_disk_thresholds() -> None:
    total = 30 * 2**30
    got = [check_disk(Path("/d"), free, total).level for free in (DISK_FAIL_BYTES - 1, DISK_WARN_BYTES - 1, 2**31)]
    assert got == [Level.FAIL, Level.WARN, Level.OK]


# --- database ---------------------------------------------------------------------------------------


def test_no_database_yet_is_ok(setup: Setup) -> None:
    found = findings(setup)["database"]
    assert (found.level, "kiosk-core creates it" in found.message) == (Level.OK, True)


def test_healthy_database_passes_quick_check(setup: Setup, fake_clock: FakeClock) -> None:
    Store.open(setup.data / "station.db", station_id=STATION, clock=fake_clock, boot_id="b").close()
    assert findings(setup)["database"].message.endswith("quick_check ok")


def test_corrupt_database_fails_and_is_left_alone(setup: Setup) -> None:
    database = setup.data / "station.db"
    database.write_bytes(b"\xa5" * 8192)
    found = findings(setup)["database"]
    assert (found.level, "moves a damaged file aside" in found.fix) == (Level.FAIL, True)
    assert database.read_bytes() == b"\xa5" * 8192


# --- tokens and the hub -----------------------------------------------------------------------------


def test_ui_token_readable_by_others_fails(setup: Setup) -> None:
    setup.ui_token.chmod(0o644)
    found = findings(setup)["UI token"]
    assert (found.level, "chmod 600" in found.message) == (Level.FAIL, True)


def test_sync_disabled_is_a_skip_line(setup: Setup) -> None:
    found = findings(setup)["hub"]
    assert (found.level, found.message) == (Level.SKIP, "sync disabled (the station works on its own)")


class _Hub(http.server.BaseHTTPRequestHandler):
    """Answers the bundle with 200 for the right bearer token, 401 otherwise."""

    def do_GET(self) -> None:
        ok = self.path == f"/v1/stations/{STATION}/bundle" and self.headers["Authorization"] == f"Bearer {TOKEN}"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hub_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_hub_accepting_the_token_is_ok(setup: Setup, hub_url: str) -> None:
    setup.sync = f'enabled = true\nhub_url = "{hub_url}"'
    assert (levels(setup)["hub token"], levels(setup)["hub"]) == (Level.OK, Level.OK)


def test_hub_refusing_the_token_fails(setup: Setup, hub_url: str) -> None:
    secret(setup.hub_token, "a-revoked-token")
    setup.sync = f'enabled = true\nhub_url = "{hub_url}"'
    found = findings(setup)["hub"]
    assert (found.level, "refuses the token" in found.message) == (Level.FAIL, True)


@contextlib.contextmanager
def socket_closed_port() -> Iterator[int]:
    """A loopback port nobody listens on (bound, never listening, so nothing else takes it meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_unreachable_hub_warns(setup: Setup) -> None:
    with socket_closed_port() as port:
        setup.sync = f'enabled = true\nhub_url = "http://127.0.0.1:{port}"'
        found = findings(setup)["hub"]
    assert (found.level, "unreachable" in found.message) == (Level.WARN, True)


def test_missing_hub_token_fails_without_asking_the_hub(setup: Setup, hub_url: str) -> None:
    setup.hub_token.unlink()
    setup.sync = f'enabled = true\nhub_url = "{hub_url}"'
    result = findings(setup)
    assert (result["hub token"].level, "hub" in result) == (Level.FAIL, False)
