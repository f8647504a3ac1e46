"""kiosk install / uninstall into a throwaway root: files, modes, owners, accounts, units, and what stays."""

from __future__ import annotations

import argparse
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from kiosk.api.users import UserStore
from kiosk.cli.ops import add_ops_commands
from kiosk.core.config import load_config
from kiosk.ops.install import (
    DROP_IN,
    GROUPS,
    UI_GROUPS,
    UI_USER,
    USER,
    Installer,
    InstallError,
    InstallResult,
    Layout,
    account_commands,
    group_members,
    summary,
    with_consoleblank,
)
from tests.ops.test_units import SYSTEMD_DIR, make_systemd_root, verify

BASE_GROUPS = "root:x:0:\ndialout:x:20:\ninput:x:101:\nvideo:x:44:\nrender:x:105:\n"
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait\n"


class FakeSystem:
    """Records every command and owner change instead of making them."""

    def __init__(self, fail: Sequence[str] = ()) -> None:
        self.commands: list[list[str]] = []
        self.stdin: list[str | None] = []
        self.owners: dict[Path, tuple[str, str]] = {}
        self.fail = fail

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> int:
        self.commands.append(list(argv))
        self.stdin.append(stdin)
        return 1 if argv[0] in self.fail else 0

    def chown(self, path: Path, user: str, group: str) -> None:
        self.owners[path] = (user, group)


def make_root(root: Path) -> Path:
    """A minimal Raspberry Pi OS standing in a folder: account files and the kernel command line."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text(BASE_GROUPS)
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text("".join(f"{line.split(':')[0]}:*::\n" for line in BASE_GROUPS.splitlines()))
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text(CMDLINE)
    return root


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(root=make_root(tmp_path / "root"), source=SYSTEMD_DIR)


def install(layout: Layout, system: FakeSystem | None = None, **options: bool) -> tuple[FakeSystem, list[str]]:
    system = system or FakeSystem()
    lines = summary(Installer(layout, system, say=lambda _: None, **options).install())
    return system, lines


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- accounts (pure) --------------------------------------------------------------------------------


BOTH_USERS = (
    f"{USER}:x:999:999::/var/lib/kiosk:/usr/sbin/nologin\n{UI_USER}:x:998:998::/nonexistent:/usr/sbin/nologin\n"
)


def test_fresh_system_gets_the_missing_groups_and_two_system_users(tmp_path: Path) -> None:
    commands = account_commands(tmp_path, "root:x:0:0::/root:/bin/sh\n", BASE_GROUPS)
    assert commands[0] == ["groupadd", "--prefix", str(tmp_path), "--system", "gpio"]
    assert [argv[:3] for argv in commands[1:]] == [["useradd", "--prefix", str(tmp_path)]] * 2
    assert commands[1][-3:] == ["--groups", ",".join(GROUPS), USER]
    assert commands[2][-3:] == ["--groups", ",".join(UI_GROUPS), UI_USER]
    assert len(commands) == 3


@pytest.mark.parametrize(("index", "home"), [(0, "/var/lib/kiosk"), (1, "/nonexistent")])
def test_users_are_nologin_system_users_with_their_own_group(index: int, home: str) -> None:
    useradd = [argv for argv in account_commands(Path("/"), "", BASE_GROUPS) if argv[0] == "useradd"][index]
    assert {"--system", "--user-group", "--no-create-home"} <= set(useradd)
    assert useradd[useradd.index("--shell") + 1] == "/usr/sbin/nologin"
    assert useradd[useradd.index("--home-dir") + 1] == home


def test_the_touchscreen_user_is_in_the_display_groups_only() -> None:
    useradd = next(argv for argv in account_commands(Path("/"), "", BASE_GROUPS) if argv[-1] == UI_USER)
    groups = set(useradd[useradd.index("--groups") + 1].split(","))
    assert groups == {"video", "render"}
    assert groups.isdisjoint({USER, "input", "dialout"})


def test_the_touchscreen_user_is_taken_out_of_the_kiosk_group(tmp_path: Path) -> None:
    groups = "".join(f"{g}:x:{100 + i}:{USER},{UI_USER}\n" for i, g in enumerate((*GROUPS, *UI_GROUPS)))
    groups += f"{USER}:x:999:{UI_USER}\n{UI_USER}:x:998:\n"
    commands = account_commands(tmp_path, BOTH_USERS, groups)
    assert commands == [["usermod", "--prefix", str(tmp_path), "--remove", "--groups", USER, UI_USER]]


def test_running_system_gets_no_prefix() -> None:
    assert all("--prefix" not in argv for argv in account_commands(Path("/"), "", BASE_GROUPS))


def test_complete_accounts_need_no_command(tmp_path: Path) -> None:
    groups = "".join(f"{g}:x:{100 + i}:{USER}\n" for i, g in enumerate(GROUPS))
    groups += "".join(f"{g}:x:{200 + i}:{UI_USER}\n" for i, g in enumerate(UI_GROUPS))
    assert account_commands(tmp_path, BOTH_USERS, groups) == []


def test_existing_users_only_get_the_groups_they_lack(tmp_path: Path) -> None:
    groups = "".join(f"{g}:x:{100 + i}:{USER if g != 'gpio' else ''}\n" for i, g in enumerate(GROUPS))
    groups += f"video:x:44:{UI_USER}\nrender:x:105:\n"
    commands = account_commands(tmp_path, BOTH_USERS, groups)
    assert commands == [
        ["usermod", "--prefix", str(tmp_path), "--append", "--groups", "gpio", USER],
        ["usermod", "--prefix", str(tmp_path), "--append", "--groups", "render", UI_USER],
    ]


def test_group_members_reads_the_member_list() -> None:
    assert group_members("gpio:x:997:pi,kiosk\n", "gpio") == {"pi", "kiosk"}
    assert group_members("gpio:x:997:\n", "dialout") is None


# --- files, modes, owners ---------------------------------------------------------------------------


def test_install_writes_config_token_rules_and_units(layout: Layout) -> None:
    install(layout)
    expected = [
        "etc/kiosk/kiosk.toml",
        "etc/kiosk/ui-token",
        "etc/udev/rules.d/99-kiosk.rules",
        "etc/polkit-1/rules.d/50-kiosk-ui-restart.rules",
        "etc/systemd/system/kiosk-core.service",
        "etc/systemd/system/kiosk-ui.service",
    ]
    assert [p for p in expected if not (layout.root / p).is_file()] == []


def test_hub_unit_is_installed_only_when_asked(layout: Layout) -> None:
    install(layout)
    assert not (layout.root / "etc/systemd/system/kiosk-hub.service").exists()


def test_token_is_owner_only_and_belongs_to_kiosk(layout: Layout) -> None:
    system, _ = install(layout)
    token = layout.at(layout.ui_token)
    assert (mode(token), system.owners[token]) == (0o600, (USER, USER))


def test_config_is_readable_by_the_kiosk_group_only(layout: Layout) -> None:
    system, _ = install(layout)
    config = layout.at(layout.config_file)
    assert (mode(config), system.owners[config]) == (0o640, ("root", USER))


def test_config_folder_is_roots_and_the_data_folder_kiosks(layout: Layout) -> None:
    system, _ = install(layout)
    config_dir, data_dir = layout.at(layout.config_dir), layout.at(layout.data_dir)
    assert (mode(config_dir), system.owners[config_dir]) == (0o750, ("root", USER))
    assert (mode(data_dir), system.owners[data_dir]) == (0o750, (USER, USER))


def test_units_and_rules_are_world_readable_and_roots(layout: Layout) -> None:
    system, _ = install(layout)
    unit = layout.at(layout.unit_dir / "kiosk-core.service")
    assert (mode(unit), system.owners[unit]) == (0o644, ("root", "root"))


def test_generated_config_is_valid_and_points_at_the_installed_paths(layout: Layout) -> None:
    install(layout)
    config = load_config(layout.at(layout.config_file))
    assert (config.station.data_dir, config.api.ui_token_file) == (layout.data_dir, layout.ui_token)


def test_existing_config_is_never_overwritten(layout: Layout) -> None:
    install(layout)
    config = layout.at(layout.config_file)
    config.write_text("# the technician's own\n")
    _, lines = install(layout)
    assert (config.read_text(), f"kept {layout.config_file} (already there)" in lines) == (
        "# the technician's own\n",
        True,
    )


def test_token_is_printed_once_and_kept_on_a_second_install(layout: Layout) -> None:
    _, first = install(layout)
    token = layout.at(layout.ui_token).read_text().strip()
    _, second = install(layout)
    assert [any(token in line for line in lines) for lines in (first, second)] == [True, False]
    assert layout.at(layout.ui_token).read_text().strip() == token


def test_install_runs_the_account_commands(layout: Layout) -> None:
    system, _ = install(layout)
    assert system.commands[:3] == account_commands(layout.root, "root:x:0:0:root:/root:/bin/bash\n", BASE_GROUPS)


def test_console_blanking_is_switched_off_on_the_kernel_command_line(layout: Layout) -> None:
    install(layout)
    install(layout)
    text = layout.at(Path("/boot/firmware/cmdline.txt")).read_text()
    assert (text.count("consoleblank=0"), text.count("\n"), text.startswith("console=serial0")) == (1, 1, True)


def test_consoleblank_replaces_another_setting() -> None:
    assert with_consoleblank("root=/dev/sda2 consoleblank=600\n") == "root=/dev/sda2 consoleblank=0\n"


def test_other_data_folder_gets_a_drop_in_and_its_config(tmp_path: Path) -> None:
    layout = Layout(root=make_root(tmp_path / "root"), source=SYSTEMD_DIR, data_dir=Path("/data/kiosk"))
    install(layout)
    drop_in = layout.at(layout.unit_dir / DROP_IN).read_text()
    assert "ReadWritePaths=/data/kiosk" in drop_in.splitlines()
    assert load_config(layout.at(layout.config_file)).station.data_dir == Path("/data/kiosk")


def test_other_venv_is_written_into_the_units(tmp_path: Path) -> None:
    layout = Layout(root=make_root(tmp_path / "root"), source=SYSTEMD_DIR, venv=Path("/srv/kiosk-venv"))
    install(layout)
    text = layout.at(layout.unit_dir / "kiosk-core.service").read_text()
    assert "ExecStart=/srv/kiosk-venv/bin/kiosk run --config /etc/kiosk/kiosk.toml" in text.splitlines()


# --- systemctl, admin, failures ---------------------------------------------------------------------


def test_units_are_enabled_inside_the_target_root(layout: Layout) -> None:
    system, _ = install(layout)
    enable = ["systemctl", f"--root={layout.root}", "enable", "kiosk-core.service", "kiosk-ui.service"]
    assert system.commands[-1] == enable


def test_no_systemctl_runs_no_systemctl(layout: Layout) -> None:
    system, lines = install(layout, systemctl=False)
    assert [argv for argv in system.commands if argv[0] in ("systemctl", "udevadm")] == []
    assert any("systemctl enable kiosk-core.service kiosk-ui.service" in line for line in lines)


def test_first_login_is_made_with_a_generated_password_kiosk_core_can_check(layout: Layout) -> None:
    system, lines = install(layout)
    users = layout.at(layout.users_file)
    password = next(line.rsplit(": ", 1)[1] for line in lines if line.startswith("status page login 'admin'"))
    assert UserStore(users).verify("admin", password) is not None
    assert (mode(users), system.owners[users]) == (0o600, (USER, USER))


def test_an_existing_accounts_file_is_kept_untouched_but_secured(layout: Layout) -> None:
    users = layout.at(layout.users_file)
    users.parent.mkdir(parents=True)
    UserStore(users).add("maria", "a long enough password")
    users.chmod(0o644)
    before = users.read_text()
    system, lines = install(layout)
    assert (users.read_text(), mode(users), system.owners[users]) == (before, 0o600, (USER, USER))
    assert not any("status page login" in line for line in lines)


def test_first_login_password_is_printed_once_in_the_summary() -> None:
    password = secrets.token_urlsafe(12)
    assert sum(password in line for line in summary(InstallResult(admin_password=password))) == 1


def test_a_damaged_accounts_file_is_left_alone_with_a_note(layout: Layout) -> None:
    users = layout.at(layout.users_file)
    users.parent.mkdir(parents=True)
    users.write_text("{not json")
    users.chmod(0o600)
    result = InstallResult()
    Installer(layout, FakeSystem(), say=lambda _: None).first_admin(result)
    assert (result.admin_password, users.read_text()) == (None, "{not json")
    assert "admin add-user admin" in result.notes[0]


def test_a_failing_account_command_stops_the_install(layout: Layout) -> None:
    with pytest.raises(InstallError, match=r"'groupadd .*gpio' failed with exit code 1"):
        install(layout, FakeSystem(fail=("groupadd",)))


def test_hub_only_installs_just_the_hub_unit(layout: Layout) -> None:
    system, _ = install(layout, station=False, hub=True)
    written = sorted(str(p.relative_to(layout.root)) for p in layout.root.rglob("*") if p.is_file())
    assert "etc/systemd/system/kiosk-hub.service" in written
    assert not (layout.root / "etc/kiosk").exists()
    assert [argv[0] for argv in system.commands] == ["systemctl"]


# --- uninstall --------------------------------------------------------------------------------------


def test_uninstall_removes_units_and_rules(layout: Layout) -> None:
    install(layout)
    Installer(layout, FakeSystem(), say=lambda _: None).uninstall()
    gone = [
        layout.unit_dir / "kiosk-core.service",
        layout.unit_dir / "kiosk-ui.service",
        layout.udev_dir / "99-kiosk.rules",
        layout.polkit_dir / "50-kiosk-ui-restart.rules",
    ]
    assert [p for p in gone if layout.at(p).exists()] == []


def test_uninstall_keeps_config_token_and_data_and_says_so(layout: Layout) -> None:
    install(layout)
    database = layout.at(layout.data_dir / "station.db")
    database.write_bytes(b"events")
    kept = Installer(layout, FakeSystem(), say=lambda _: None).uninstall()
    assert kept == [layout.config_dir, layout.data_dir]
    assert [p.exists() for p in (layout.at(layout.config_file), layout.at(layout.ui_token), database)] == [True] * 3


def test_uninstall_disables_the_units_in_the_target_root(layout: Layout) -> None:
    install(layout)
    system = FakeSystem()
    Installer(layout, system, say=lambda _: None).uninstall()
    assert system.commands == [
        ["systemctl", f"--root={layout.root}", "disable", "kiosk-core.service", "kiosk-ui.service"]
    ]


# --- the real commands (useradd --prefix, systemctl --root) through `kiosk install` ------------------


def run_cli(*words: str) -> int:
    parser = argparse.ArgumentParser()
    add_ops_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(words))
    return int(args.func(args))


def test_kiosk_install_makes_real_accounts_owners_and_enabled_units(tmp_path: Path) -> None:
    # Needs root (useradd, chown), as installing does; the test machine runs as root.
    root = make_systemd_root(make_root(tmp_path / "root"))
    assert run_cli("install", "--root", str(root), "--source", str(SYSTEMD_DIR)) == 0
    passwd = (root / "etc/passwd").read_text()
    kiosk = next(line.split(":") for line in passwd.splitlines() if line.startswith(f"{USER}:"))
    groups = (root / "etc/group").read_text()
    assert [USER in (group_members(groups, g) or set()) for g in GROUPS] == [True] * len(GROUPS)
    assert (kiosk[5], kiosk[6]) == ("/var/lib/kiosk", "/usr/sbin/nologin")
    token = root / "etc/kiosk/ui-token"
    assert (token.stat().st_uid, token.stat().st_gid) == (int(kiosk[2]), int(kiosk[3]))
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert sorted(os.listdir(wants)) == ["kiosk-core.service", "kiosk-ui.service"]
    result = verify(root, "kiosk-core.service", "kiosk-ui.service")
    assert (result.returncode, result.stderr) == (0, "")


def test_kiosk_uninstall_keeps_the_user_and_disables_the_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_systemd_root(make_root(tmp_path / "root"))
    run_cli("install", "--root", str(root), "--source", str(SYSTEMD_DIR))
    assert run_cli("uninstall", "--root", str(root), "--source", str(SYSTEMD_DIR)) == 0
    out = capsys.readouterr().out
    assert "kept /etc/kiosk" in out
    assert "kept /var/lib/kiosk" in out
    assert sorted(root.glob("etc/systemd/system/*.wants/kiosk-*")) == []
    assert f"{USER}:" in (root / "etc/passwd").read_text()
