"""The units' sandboxing, as systemd itself scores it, and the settings each long-lived service must have.

``systemd-analyze security --offline=yes UNIT-FILE`` (systemd 252) reads a unit file without a running
systemd and prints an overall exposure level (0 = locked down, 10 = unprotected). kiosk-ui shares the
Pi with kiosk-core and touches riders' screens: its exposure must be no worse than core's.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kiosk.core.config import ApiConfig
from kiosk.ops.install import HUB_UNITS, STATION_UNITS, Layout, unit_text
from kiosk.sync.serving import FD_RESERVE, ConnectionLimits
from tests.ops.test_units import SYSTEMD_DIR, unit, values

EXPOSURE = re.compile(r"Overall exposure level for (\S+): (\d+\.\d)")
SERVERS = ("kiosk-core.service", "kiosk-hub.service")
"""Units that run a server taking connections from many clients."""


def exposure(path: Path) -> float:
    """The overall exposure level systemd-analyze gives the unit file at ``path``."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = EXPOSURE.search(result.stdout)
    assert found is not None, (result.returncode, result.stdout[-500:], result.stderr)
    assert found.group(1) == path.name
    return float(found.group(2))


def test_exposure_is_read_from_systemd_analyze_and_an_unhardened_unit_scores_high(tmp_path: Path) -> None:
    plain = tmp_path / "plain.service"
    plain.write_text("[Service]\nExecStart=/bin/true\n")
    assert exposure(plain) > 9.0


def test_ui_is_no_more_exposed_than_core() -> None:
    ui, core = exposure(SYSTEMD_DIR / "kiosk-ui.service"), exposure(SYSTEMD_DIR / "kiosk-core.service")
    assert ui <= core, f"kiosk-ui {ui} > kiosk-core {core}"


@pytest.mark.parametrize("name", [*STATION_UNITS, *HUB_UNITS])
def test_every_unit_is_at_most_moderately_exposed(name: str) -> None:
    assert exposure(SYSTEMD_DIR / name) <= 4.0


def test_ui_exposure_gets_worse_when_a_line_goes(tmp_path: Path) -> None:
    weakened = tmp_path / "kiosk-ui.service"
    weakened.write_text(unit("kiosk-ui.service").replace("CapabilityBoundingSet=\n", ""))
    assert exposure(weakened) > exposure(SYSTEMD_DIR / "kiosk-ui.service")


SHARED = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateMounts": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "RestrictSUIDSGID": "yes",
    "RestrictRealtime": "yes",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "RemoveIPC": "yes",
    "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "DevicePolicy": "closed",
}
"""What kiosk-core and kiosk-ui both say, exactly once."""


@pytest.mark.parametrize("name", STATION_UNITS)
@pytest.mark.parametrize("key", sorted(SHARED))
def test_station_units_share_the_hardening(name: str, key: str) -> None:
    assert values(unit(name), "Service", key) == [SHARED[key]]


def test_ui_may_only_open_local_and_internet_sockets_to_loopback() -> None:
    text = unit("kiosk-ui.service")
    assert values(text, "Service", "RestrictAddressFamilies") == ["AF_UNIX AF_INET AF_INET6"]
    assert values(text, "Service", "IPAddressDeny") == ["any"]
    assert values(text, "Service", "IPAddressAllow") == ["localhost"]


def test_ui_talks_to_core_on_loopback_by_default() -> None:
    assert ApiConfig().local_url().startswith("http://127.0.0.1:")
    assert ApiConfig(host="0.0.0.0").local_url().startswith("http://127.0.0.1:")  # noqa: S104 - the LAN setting


def test_ui_filters_system_calls_softly() -> None:
    text = unit("kiosk-ui.service")
    assert values(text, "Service", "SystemCallFilter") == ["@system-service", "~@privileged @resources"]
    assert values(text, "Service", "SystemCallErrorNumber") == ["EPERM"]


def test_ui_devices_are_the_display_input_and_its_console_only() -> None:
    text = unit("kiosk-ui.service")
    assert sorted(values(text, "Service", "DeviceAllow")) == ["/dev/tty1 rw", "char-drm rw", "char-input r"]
    assert values(text, "Service", "PrivateDevices") == []  # it would hide /dev/dri


def test_ui_hides_other_processes_and_keeps_its_files_private() -> None:
    text = unit("kiosk-ui.service")
    assert values(text, "Service", "ProtectProc") == ["invisible"]
    assert values(text, "Service", "UMask") == ["0077"]
    assert values(text, "Service", "RuntimeDirectoryMode") == ["0700"]
    assert "XDG_RUNTIME_DIR=/run/kiosk-ui" in values(text, "Service", "Environment")


def test_ui_unit_follows_another_config_folder(tmp_path: Path) -> None:
    layout = Layout(config_dir=Path("/srv/kiosk-etc"))
    text = unit_text(unit("kiosk-ui.service"), layout)
    assert values(text, "Service", "LoadCredential") == [
        "kiosk.toml:/srv/kiosk-etc/kiosk.toml",
        "ui-token:/srv/kiosk-etc/ui-token",
    ]
    assert "--config-base /srv/kiosk-etc " in values(text, "Service", "ExecStart")[0]
    assert [line for line in text.splitlines() if "/etc/kiosk" in line and not line.startswith("#")] == []


@pytest.mark.parametrize("name", SERVERS)
def test_servers_have_an_open_files_limit(name: str) -> None:
    limit = values(unit(name), "Service", "LimitNOFILE")
    assert len(limit) == 1
    assert int(limit[0]) >= ConnectionLimits().max_connections + FD_RESERVE


def test_every_long_lived_unit_has_an_open_files_limit() -> None:
    services = sorted(SYSTEMD_DIR.glob("*.service"))
    long_lived = [p.name for p in services if values(p.read_text(), "Service", "Type") != ["oneshot"]]
    assert set(SERVERS) <= set(long_lived)
    assert [name for name in long_lived if len(values(unit(name), "Service", "LimitNOFILE")) != 1] == []
