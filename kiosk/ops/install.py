"""``kiosk install`` / ``kiosk uninstall``: put a station (or a city hub) on Raspberry Pi OS.

``systemd/install.sh`` does what must happen before this module can run (apt packages, the venv at
``/opt/kiosk/venv`` with ``--system-site-packages`` so apt's python3-lgpio is importable, the project
installed into it), then calls ``kiosk install --source <checkout>/systemd``. This module does the rest:

- the ``kiosk`` system user, in the groups that reach GPIO, serial, input and the display;
- ``/etc/kiosk`` (root:kiosk 0750) with an example config if there is none (never overwritten, 0640)
  and a generated UI token (kiosk 0600, printed once);
- the data folder (kiosk 0750), which must be a persistent partition when the root is read-only;
- the udev rules, the systemd units (enabled), console blanking off on the kernel command line;
- the first staff login for the status page, through ``kiosk admin add-user`` when that exists.

Everything is root-relocatable: paths are given as the installed system sees them and written under
``Layout.root``, and every command goes through a :class:`System`, so a test installs into a throwaway
folder and reads back the commands and owners instead of touching the machine's users.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kiosk.core.config_example import example_toml
from kiosk.core.errors import KioskError

USER = "kiosk"
"""The unprivileged user kiosk-core and kiosk-ui run as (and its own group)."""
GROUPS = ("gpio", "dialout", "input", "video", "render")
"""Its extra groups: /dev/gpiochip*, serial adapters, scanners and touchscreen, the display."""
STATION_UNITS = ("kiosk-core.service", "kiosk-ui.service")
HUB_UNITS = ("kiosk-hub.service",)
UDEV_RULES = "99-kiosk.rules"
POLKIT_RULE = "50-kiosk-ui-restart.rules"
"""Lets kiosk-core restart kiosk-ui (the status page's action), nothing else."""
USERS_FILE = "users.json"
"""The status page's accounts file in the config folder (``kiosk admin``'s default)."""
DROP_IN = "kiosk-core.service.d/paths.conf"
CMDLINE_FILES = (Path("/boot/firmware/cmdline.txt"), Path("/boot/cmdline.txt"))
"""The kernel command line: Bookworm's place first, then the older one."""

# What the unit files in systemd/ say; the installer rewrites them only when the layout differs.
_UNIT_VENV = "/opt/kiosk/venv"
_UNIT_CONFIG = "/etc/kiosk/kiosk.toml"
_UNIT_DATA = "/var/lib/kiosk"
_ROOT = ("root", "root")


class InstallError(KioskError):
    """The installation cannot go on (a command failed, a file is missing)."""


@dataclass(frozen=True)
class Layout:
    """Where things go, as the installed system sees them; ``root`` is where that system is on this machine."""

    root: Path = Path("/")
    source: Path = Path(__file__).resolve().parents[2] / "systemd"
    """The folder with the unit files and udev rules (``systemd/`` of the checkout)."""
    venv: Path = Path(_UNIT_VENV)
    config_dir: Path = Path("/etc/kiosk")
    data_dir: Path = Path(_UNIT_DATA)
    unit_dir: Path = Path("/etc/systemd/system")
    udev_dir: Path = Path("/etc/udev/rules.d")
    polkit_dir: Path = Path("/etc/polkit-1/rules.d")

    def at(self, path: Path) -> Path:
        """Where ``path`` of the installed system lies on this machine."""
        return self.root / path.relative_to("/")

    @property
    def config_file(self) -> Path:
        """The station's config file."""
        return self.config_dir / "kiosk.toml"

    @property
    def ui_token(self) -> Path:
        """The token the touchscreen app presents to kiosk-core."""
        return self.config_dir / "ui-token"

    @property
    def live(self) -> bool:
        """True when installing into the running system (not a folder standing in for one)."""
        return self.root == Path("/")


class System(Protocol):
    """The installer's way to change the machine: commands and file owners (a test records them)."""

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> int:
        """Run a command; its exit code."""
        ...

    def chown(self, path: Path, user: str, group: str) -> None:
        """Give ``path`` (on this machine) to ``user``:``group`` as the installed system names them."""
        ...


def _ids(text: str, name: str) -> int | None:
    """The numeric id of ``name`` in the text of a passwd or group file (field 3), or None."""
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name:
            return int(fields[2])
    return None


def group_members(group_text: str, group: str) -> set[str] | None:
    """The members listed for ``group`` in the text of a group file; None if there is no such group."""
    for line in group_text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == group:
            return {m for m in fields[3].split(",") if m}
    return None


class HostSystem:
    """The real thing: subprocesses, and owners looked up in the target root's own passwd and group."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> int:
        """Run ``argv`` with its output going to ours."""
        return subprocess.run(list(argv), input=stdin, text=True, check=False).returncode  # noqa: S603 - fixed commands

    def chown(self, path: Path, user: str, group: str) -> None:
        """chown by the ids the target system gives those names (its /etc files, not this machine's)."""
        uid = _ids((self.root / "etc/passwd").read_text(encoding="utf-8"), user)
        gid = _ids((self.root / "etc/group").read_text(encoding="utf-8"), group)
        if uid is None or gid is None:
            raise InstallError(f"{user}:{group} is not a user and group of {self.root}")
        os.chown(path, uid, gid, follow_symlinks=False)


def account_commands(root: Path, passwd_text: str, group_text: str) -> list[list[str]]:
    """The groupadd/useradd/usermod commands that make the ``kiosk`` user as it should be (pure).

    Missing groups are created as system groups (``gpio`` is missing on plain Debian); an existing
    user only gets the groups it lacks, so running the installer again changes nothing.
    """
    prefix = [] if root == Path("/") else ["--prefix", str(root)]
    commands = [["groupadd", *prefix, "--system", g] for g in GROUPS if group_members(group_text, g) is None]
    if _ids(passwd_text, USER) is None:
        commands.append(
            [
                "useradd",
                *prefix,
                "--system",
                "--user-group",
                "--home-dir",
                _UNIT_DATA,
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "station kiosk",
                "--groups",
                ",".join(GROUPS),
                USER,
            ]
        )
    else:
        lacking = [g for g in GROUPS if USER not in (group_members(group_text, g) or set())]
        if lacking:
            commands.append(["usermod", *prefix, "--append", "--groups", ",".join(lacking), USER])
    return commands


def with_consoleblank(cmdline: str) -> str:
    """The kernel command line with ``consoleblank=0`` (the text console never blanks); one line, as the Pi wants."""
    words = [w for w in cmdline.split() if not w.startswith("consoleblank=")]
    return " ".join([*words, "consoleblank=0"]) + "\n"


def unit_text(text: str, layout: Layout) -> str:
    """A unit file from ``systemd/`` adjusted to ``layout`` (the files name the default paths)."""
    return text.replace(_UNIT_VENV, str(layout.venv)).replace(_UNIT_CONFIG, str(layout.config_file))


def example_config(layout: Layout) -> str:
    """The commented example config with this layout's data folder and token file."""
    text = example_toml()
    text = re.sub(r'(?m)^data_dir = ".*"$', f'data_dir = "{layout.data_dir}"', text)
    return re.sub(r'(?m)^ui_token_file = ".*"$', f'ui_token_file = "{layout.ui_token}"', text)


@dataclass
class InstallResult:
    """What an install did, for the summary printed at its end."""

    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    ui_token: str | None = None
    """Set when the token was generated now (printed once)."""
    admin_password: str | None = None
    """Set when the first staff login was created now (printed once)."""
    notes: list[str] = field(default_factory=list)


class Installer:
    """Installs or removes a station (``station=True``) and/or a hub (``hub=True``) in ``layout``."""

    def __init__(
        self,
        layout: Layout,
        system: System,
        *,
        station: bool = True,
        hub: bool = False,
        systemctl: bool = True,
        say: Callable[[str], None] = print,
    ) -> None:
        self.layout = layout
        self.system = system
        self.station = station
        self.hub = hub
        self.systemctl = systemctl
        self.say = say

    # --- small helpers ----------------------------------------------------------------------------

    def _must(self, argv: Sequence[str], *, stdin: str | None = None) -> None:
        code = self.system.run(argv, stdin=stdin)
        if code != 0:
            raise InstallError(f"'{' '.join(argv)}' failed with exit code {code}")

    def _dir(self, path: Path, mode: int, user: str, group: str) -> None:
        real = self.layout.at(path)
        real.mkdir(parents=True, exist_ok=True)
        os.chmod(real, mode)
        self.system.chown(real, user, group)

    def _file(self, path: Path, text: str, mode: int, result: InstallResult, owner: tuple[str, str]) -> None:
        real = self.layout.at(path)
        real.parent.mkdir(parents=True, exist_ok=True)
        tmp = real.with_name(f".{real.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # open() narrows by the umask; say the mode exactly
        os.replace(tmp, real)
        # Given away only once in place: until then it is root's, with the final (restrictive) mode.
        self.system.chown(real, *owner)
        result.written.append(path)

    def _source(self, name: str) -> str:
        path = self.layout.source / name
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InstallError(f"cannot read {path} ({exc.strerror}); pass --source <checkout>/systemd") from exc

    def _units(self) -> tuple[str, ...]:
        return (STATION_UNITS if self.station else ()) + (HUB_UNITS if self.hub else ())

    def _systemctl(self, *words: str) -> list[str]:
        root = [] if self.layout.live else [f"--root={self.layout.root}"]
        return ["systemctl", *root, *words]

    # --- install ----------------------------------------------------------------------------------

    def install(self) -> InstallResult:
        """Install (again: every step leaves what is already right alone); returns what it did."""
        result = InstallResult()
        if self.station:
            self._accounts()
            self._folders()
            self._config(result)
            self._token(result)
            self._file(self.layout.udev_dir / UDEV_RULES, self._source(UDEV_RULES), 0o644, result, ("root", "root"))
            self._file(self.layout.polkit_dir / POLKIT_RULE, self._source(POLKIT_RULE), 0o644, result, ("root", "root"))
            self._cmdline(result)
        for unit in self._units():
            self._file(self.layout.unit_dir / unit, unit_text(self._source(unit), self.layout), 0o644, result, _ROOT)
        if self.station and self.layout.data_dir != Path(_UNIT_DATA):
            text = f"# Written by kiosk install: the data folder is not {_UNIT_DATA}.\n[Service]\n"
            text += f"ReadWritePaths={self.layout.data_dir}\n"
            self._file(self.layout.unit_dir / DROP_IN, text, 0o644, result, _ROOT)
        if self.systemctl:
            self._enable()
        else:
            units = " ".join(self._units())
            result.notes.append(f"systemctl was not run: enable the units with 'systemctl enable {units}'")
        if self.station:
            self.first_admin(result)
        return result

    def _accounts(self) -> None:
        etc = self.layout.at(Path("/etc"))
        passwd = (etc / "passwd").read_text(encoding="utf-8")
        group = (etc / "group").read_text(encoding="utf-8")
        for argv in account_commands(self.layout.root, passwd, group):
            self._must(argv)

    def _folders(self) -> None:
        self._dir(self.layout.config_dir, 0o750, "root", USER)
        self._dir(self.layout.data_dir, 0o750, USER, USER)

    def _config(self, result: InstallResult) -> None:
        if self.layout.at(self.layout.config_file).exists():
            result.kept.append(self.layout.config_file)
            return
        self._file(self.layout.config_file, example_config(self.layout), 0o640, result, ("root", USER))
        result.notes.append(f"edit {self.layout.config_file} (station id, cabinet, bays, ports), then 'kiosk doctor'")

    def _token(self, result: InstallResult) -> None:
        # kiosk-core runs with a read-only /etc (ProtectSystem=strict), so it cannot create the token itself.
        if self.layout.at(self.layout.ui_token).exists():
            result.kept.append(self.layout.ui_token)
            return
        token = secrets.token_urlsafe(32)
        self._file(self.layout.ui_token, token + "\n", 0o600, result, (USER, USER))
        result.ui_token = token

    def _cmdline(self, result: InstallResult) -> None:
        for path in CMDLINE_FILES:
            real = self.layout.at(path)
            if real.is_file():
                text = real.read_text(encoding="utf-8")
                if "consoleblank=0" not in text.split():
                    self._file(path, with_consoleblank(text), real.stat().st_mode & 0o777, result, _ROOT)
                return
        result.notes.append("no /boot/firmware/cmdline.txt: add consoleblank=0 to the kernel command line yourself")

    def _enable(self) -> None:
        if self.layout.live:
            self._must(["systemctl", "daemon-reload"])
            if self.station:
                self._must(["udevadm", "control", "--reload"])
                self._must(["udevadm", "trigger", "--subsystem-match=tty", "--subsystem-match=input"])
        self._must(self._systemctl("enable", *self._units()))

    def first_admin(self, result: InstallResult) -> None:
        """Create the status page's first login ``admin`` with a generated password (printed once)."""
        kiosk = str(self.layout.venv / "bin" / "kiosk")
        config = self.layout.config_file
        hint = f"create the first status-page login with: {kiosk} admin add-user admin --config {config}"
        # Only on the running system (the command writes to the real /etc); a checkout without the
        # status page's accounts has no 'admin' command.
        if not self.layout.live or self.system.run([kiosk, "admin", "--help"]) != 0:
            result.notes.append(hint)
            return
        password = secrets.token_urlsafe(12)
        argv = [kiosk, "admin", "add-user", "admin", "--config", str(config), "--password-stdin"]
        if self.system.run(argv, stdin=password + "\n") != 0:
            result.notes.append("the first login could not be created; " + hint)
            return
        result.admin_password = password
        users = self.layout.at(self.layout.config_dir / USERS_FILE)
        if users.exists():  # written by root just now; kiosk-core (user kiosk) must read it
            self.system.chown(users, USER, USER)

    # --- uninstall --------------------------------------------------------------------------------

    def uninstall(self) -> list[Path]:
        """Disable and remove the units and udev rules; config, tokens, data and the user stay. Returns what stayed."""
        units = self._units()
        if self.systemctl:
            self.system.run(self._systemctl("disable", *(["--now"] if self.layout.live else []), *units))
        removed = [self.layout.unit_dir / u for u in units]
        if self.station:
            removed += [
                self.layout.unit_dir / DROP_IN,
                self.layout.udev_dir / UDEV_RULES,
                self.layout.polkit_dir / POLKIT_RULE,
            ]
        for path in removed:
            real = self.layout.at(path)
            if real.exists():
                real.unlink()
                self.say(f"removed {path}")
        drop_in_dir = self.layout.at(self.layout.unit_dir / DROP_IN).parent
        if drop_in_dir.is_dir() and not any(drop_in_dir.iterdir()):
            drop_in_dir.rmdir()
        if self.systemctl and self.layout.live:
            self.system.run(["systemctl", "daemon-reload"])
        return [self.layout.config_dir, self.layout.data_dir] if self.station else []


def summary(result: InstallResult) -> list[str]:
    """The lines printed after an install; secrets appear here and nowhere else."""
    lines = [f"wrote {p}" for p in result.written] + [f"kept {p} (already there)" for p in result.kept]
    if result.ui_token:
        lines.append(f"UI token (shown once; kiosk-core and kiosk-ui read it from its file): {result.ui_token}")
    if result.admin_password:
        lines.append(f"status page login 'admin', password (shown once, change it): {result.admin_password}")
    lines += [f"next: {n}" for n in result.notes]
    return lines
