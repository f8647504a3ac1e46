"""The systemd units, udev rules and install scripts in systemd/: systemd itself checks the units.

``systemd-analyze verify`` wants every ExecStart binary to exist and every unit it depends on to be
findable. Debian 12's systemd 252 takes ``--root=DIR``: the units and the stub binaries live in a
throwaway root, and a copy of the host's /usr/lib/systemd/system gives them their targets. Unknown
keys are only warnings (exit code 0), so the tests also require verify to print nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.ops.install import HUB_UNITS, STATION_UNITS, UDEV_RULES, Layout

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNITS = (*STATION_UNITS, *HUB_UNITS)


def make_systemd_root(root: Path) -> Path:
    """A folder systemd-analyze can use as --root: the host's system units and stub kiosk binaries."""
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    bin_dir = root / Layout().venv.relative_to("/") / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("kiosk", "kiosk-hub"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    return root


def verify(root: Path, *units: str) -> subprocess.CompletedProcess[str]:
    """systemd-analyze verify of ``units`` as installed under ``root``."""
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *units], capture_output=True, text=True, timeout=60, check=False
    )


def sections(text: str) -> dict[str, list[tuple[str, str]]]:
    """A unit file as {section: [(key, value), ...]} (keys repeat, so a list)."""
    result: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            result.setdefault(current, [])
            continue
        key, _, value = line.partition("=")
        result[current].append((key, value))
    return result


def values(text: str, section: str, key: str) -> list[str]:
    """Every value of ``key`` in ``section``."""
    return [v for k, v in sections(text).get(section, []) if k == key]


def unit(name: str) -> str:
    return (SYSTEMD_DIR / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def systemd_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_systemd_root(tmp_path_factory.mktemp("systemd-root"))


@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify_passes_without_a_warning(systemd_root: Path, name: str) -> None:
    shutil.copy(SYSTEMD_DIR / name, systemd_root / "etc/systemd/system" / name)
    result = verify(systemd_root, name)
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def test_verify_reports_a_mistake_in_a_unit(systemd_root: Path) -> None:
    broken = unit("kiosk-core.service").replace("NotifyAccess=main", "NotifyAcess=main")
    (systemd_root / "etc/systemd/system/kiosk-broken.service").write_text(broken)
    result = verify(systemd_root, "kiosk-broken.service")
    assert "Unknown key 'NotifyAcess'" in result.stderr


def test_verify_reports_a_missing_executable(systemd_root: Path) -> None:
    broken = unit("kiosk-core.service").replace("/opt/kiosk/venv/bin/kiosk", "/opt/kiosk/nowhere/kiosk")
    (systemd_root / "etc/systemd/system/kiosk-noexec.service").write_text(broken)
    assert verify(systemd_root, "kiosk-noexec.service").returncode != 0


def test_core_is_a_notify_service_with_a_watchdog() -> None:
    text = unit("kiosk-core.service")
    got = [values(text, "Service", k) for k in ("Type", "NotifyAccess", "Restart")]
    assert got == [["notify"], ["main"], ["always"]]
    assert values(text, "Service", "WatchdogSec") == ["30s"]


def test_core_start_limits_are_in_the_unit_section() -> None:
    text = unit("kiosk-core.service")
    in_unit = [bool(values(text, "Unit", k)) for k in ("StartLimitIntervalSec", "StartLimitBurst")]
    assert in_unit == [True, True]
    assert not values(text, "Service", "StartLimitIntervalSec")


@pytest.mark.parametrize("name", STATION_UNITS)
def test_station_units_never_wait_for_the_network(name: str) -> None:
    assert "network-online" not in "\n".join(v for entries in sections(unit(name)).values() for _, v in entries)


def test_core_runs_unprivileged_in_the_device_groups() -> None:
    text = unit("kiosk-core.service")
    assert values(text, "Service", "User") == ["kiosk"]
    assert set(values(text, "Service", "SupplementaryGroups")[0].split()) == {"gpio", "dialout", "input"}


def test_core_runs_the_installed_command_on_the_installed_config() -> None:
    layout = Layout()
    expected = f"{layout.venv}/bin/kiosk run --config {layout.config_file}"
    assert values(unit("kiosk-core.service"), "Service", "ExecStart") == [expected]


def test_core_may_write_only_its_data_folder() -> None:
    text = unit("kiosk-core.service")
    assert values(text, "Service", "ProtectSystem") == ["strict"]
    assert values(text, "Service", "ReadWritePaths") == [str(Layout().data_dir)]


def test_core_device_allow_names_device_groups_without_globs() -> None:
    allowed = values(unit("kiosk-core.service"), "Service", "DeviceAllow")
    assert all(re.fullmatch(r"char-[A-Za-z0-9-]+ rw", entry) for entry in allowed), allowed
    groups = {entry.split()[0] for entry in allowed}
    assert {"char-gpiochip", "char-ttyUSB", "char-ttyACM", "char-input"} <= groups


def test_core_has_a_writable_working_directory_for_lgpio() -> None:
    text = unit("kiosk-core.service")
    assert values(text, "Service", "WorkingDirectory") == ["/run/kiosk"]
    assert values(text, "Service", "RuntimeDirectory") == ["kiosk"]


def test_ui_follows_core_and_restarts_on_failure() -> None:
    text = unit("kiosk-ui.service")
    assert "kiosk-core.service" in values(text, "Unit", "After")[0].split()
    assert values(text, "Unit", "Wants") == ["kiosk-core.service"]
    assert values(text, "Service", "Restart") == ["on-failure"]


def test_ui_draws_with_kms_and_switches_console_blanking_off() -> None:
    text = unit("kiosk-ui.service")
    assert "SDL_VIDEODRIVER=kmsdrm" in values(text, "Service", "Environment")
    assert "--blank 0 --powerdown 0" in values(text, "Service", "ExecStartPre")[0]


def test_ui_runs_as_its_own_user_on_systemds_copies_of_the_config_and_token() -> None:
    text = unit("kiosk-ui.service")
    layout = Layout()
    assert (values(text, "Service", "User"), values(text, "Service", "Group")) == (["kiosk-ui"], ["kiosk-ui"])
    assert values(text, "Service", "LoadCredential") == [
        f"kiosk.toml:{layout.config_file}",
        f"ui-token:{layout.ui_token}",
    ]
    copies = f"--config %d/kiosk.toml --config-base {layout.config_dir} --token-file %d/ui-token"
    expected = f"{layout.venv}/bin/kiosk ui {copies}"
    assert values(text, "Service", "ExecStart") == [expected]


def test_ui_is_in_the_display_groups_only() -> None:
    assert values(unit("kiosk-ui.service"), "Service", "SupplementaryGroups") == ["video render"]


def test_hub_serves_on_loopback_from_its_state_directory() -> None:
    text = unit("kiosk-hub.service")
    assert values(text, "Service", "ExecStart") == [f"{Layout().venv}/bin/kiosk-hub serve --host 127.0.0.1 --port 8800"]
    assert "KIOSK_HUB_DB=/var/lib/kiosk-hub/hub.db" in values(text, "Service", "Environment")


UDEV_KEY = r'(ACTION|SUBSYSTEM|KERNEL|ENV\{[A-Z_]+\}|GROUP|MODE|SYMLINK|GOTO)(==|!=|=|\+=)"[^"]*"'


def test_udev_rules_lines_are_well_formed() -> None:
    for line in (SYSTEMD_DIR / UDEV_RULES).read_text().splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("LABEL="):
            continue
        for part in line.split(", "):
            assert re.fullmatch(UDEV_KEY, part), f"not a udev key: {part!r} in {line!r}"


def test_udev_rules_name_serial_and_input_devices_by_usb_port() -> None:
    text = (SYSTEMD_DIR / UDEV_RULES).read_text()
    assert 'SYMLINK+="kiosk/serial-$env{ID_PATH_TAG}"' in text
    assert 'SYMLINK+="kiosk/input-$env{ID_PATH_TAG}"' in text


def test_install_script_makes_a_venv_that_sees_apt_packages() -> None:
    env = {**os.environ, "KIOSK_DRY_RUN": "1", "KIOSK_VENV": "/opt/kiosk/venv"}
    result = subprocess.run(
        ["sh", str(SYSTEMD_DIR / "install.sh"), "--no-systemctl"], capture_output=True, text=True, env=env, timeout=60
    )
    lines = result.stdout.splitlines()
    assert "python3 -m venv --system-site-packages /opt/kiosk/venv" in lines
    assert f"/opt/kiosk/venv/bin/kiosk install --source {SYSTEMD_DIR} --venv /opt/kiosk/venv --no-systemctl" in lines


def test_install_script_installs_the_font_and_the_display_libraries() -> None:
    env = {**os.environ, "KIOSK_DRY_RUN": "1"}
    result = subprocess.run(
        ["sh", str(SYSTEMD_DIR / "install.sh")], capture_output=True, text=True, env=env, timeout=60
    )
    apt = next(line for line in result.stdout.splitlines() if "apt-get install" in line).split()
    assert {"python3-venv", "fonts-wqy-microhei", "libgbm1", "libegl1", "python3-evdev"} <= set(apt)


def test_uninstall_script_removes_the_venv_and_says_data_stays() -> None:
    env = {**os.environ, "KIOSK_DRY_RUN": "1", "KIOSK_VENV": "/opt/kiosk/venv"}
    result = subprocess.run(
        ["sh", str(SYSTEMD_DIR / "uninstall.sh")], capture_output=True, text=True, env=env, timeout=60
    )
    assert "rm -rf /opt/kiosk/venv" in result.stdout.splitlines()
    assert "kept /etc/kiosk and /var/lib/kiosk" in result.stdout
