"""``kiosk doctor``: is this Pi ready to run the station? Each check says OK, WARN or FAIL and how to fix it.

The checks read the machine but change nothing: serial ports are opened and closed without a byte
sent (except with ``--probe``, which asks the lock boards for their status — never an unlock — to say
which board profile answers), the database is opened read-only (safe beside a running kiosk-core),
the hub is asked once for the station's bundle with a short timeout. What each check looks at is
passed in (paths, the text of /proc/self/mounts and /etc/group, a clock), so the tests drive good and
broken setups directly.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import glob
import importlib.util
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kiosk.core.clock import SystemClock
from kiosk.core.config import Config, load_config
from kiosk.core.errors import ConfigError, KioskError, StoreError
from kiosk.core.secrets import read_secret_file
from kiosk.ops.install import USER, group_members


class Level(enum.Enum):
    """How a check came out; only FAIL makes ``kiosk doctor`` exit non-zero."""

    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class Finding:
    """The result of one check: what was looked at, the verdict, and a plain fix when it is not OK."""

    check: str
    level: Level
    message: str
    fix: str = ""

    def lines(self) -> list[str]:
        """How it is printed: a verdict line, and the fix indented below it."""
        out = [f"{self.level.value:<4}  {self.check}: {self.message}"]
        if self.fix and self.level in (Level.WARN, Level.FAIL):
            out.append(f"      fix: {self.fix}")
        return out


VOLATILE_FS = frozenset({"tmpfs", "ramfs", "overlay", "zram", "squashfs"})
"""File systems whose contents do not survive a reboot (or cannot be written)."""
DISK_FAIL_BYTES = 200 * 1024 * 1024
DISK_WARN_BYTES = 1024 * 1024 * 1024
HUB_TIMEOUT_S = 5.0


# --- config --------------------------------------------------------------------------------------


def check_config(path: Path) -> tuple[Finding, Config | None]:
    """The config file parses and validates."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        return Finding(
            "config", Level.FAIL, str(exc), f"edit {path}; 'kiosk config check {path}' explains each line"
        ), None
    bays = len(config.hardware.bays)
    message = f"{path}: station {config.station.id}, cabinet {config.hardware.cabinet}, {bays} bays"
    return Finding("config", Level.OK, message), config


# --- serial ports --------------------------------------------------------------------------------


def serial_ports(config: Config) -> list[tuple[str, str]]:
    """(role, port) of every serial device the config names."""
    hw = config.hardware
    ports: list[tuple[str, str]] = []
    if hw.cabinet in ("kerong", "8a80") and hw.bus_port:
        ports.append(("lock boards", hw.bus_port))
    if hw.slots.port:
        ports.append(("slot controllers", hw.slots.port))
    if hw.scanner.kind == "serial" and hw.scanner.port and not hw.scanner.port.startswith("usb:"):
        ports.append(("scanner", hw.scanner.port))
    if hw.scanner.kind == "evdev" and hw.scanner.port:
        ports.append(("scanner (keyboard mode)", hw.scanner.port))
    return ports


def check_port(role: str, port: str) -> Finding:
    """The device exists and this user may open it; one that another process holds is reported, not failed."""
    name = f"{role} port"
    if not os.path.exists(port):
        fix = "plug the adapter in; 'ls -l /dev/serial/by-id/ /dev/kiosk/' lists the names to put in the config"
        return Finding(name, Level.FAIL, f"{port} does not exist", fix)
    try:
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except PermissionError:
        return Finding(
            name,
            Level.FAIL,
            f"{port}: permission denied",
            f"add the user to its group: 'usermod -aG dialout,input {USER}'",
        )
    except OSError as exc:
        return Finding(
            name, Level.FAIL, f"{port} cannot be opened: {exc.strerror}", "unplug and replug it; check dmesg"
        )
    try:
        # The drivers open their ports exclusively (flock); a held lock means a running kiosk-core has it.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return Finding(name, Level.OK, f"{port} is in use (kiosk-core has it open)")
        raise
    finally:
        os.close(fd)
    return Finding(name, Level.OK, f"{port} opens")


def check_usb_scanner(port: str) -> Finding:
    """A scanner named ``usb:VID:PID`` is plugged in."""
    from serial.tools import list_ports

    vid, pid = (int(part, 16) for part in port.split(":")[1:3])
    for info in list_ports.comports():
        if info.vid == vid and info.pid == pid:
            return Finding("scanner port", Level.OK, f"{port} is {info.device}")
    return Finding("scanner port", Level.FAIL, f"no USB serial device {port}", "plug the scanner in ('lsusb' lists it)")


# --- GPIO ----------------------------------------------------------------------------------------


def uses_gpio(config: Config) -> bool:
    """Whether any configured device is wired to GPIO pins."""
    hw = config.hardware
    if hw.cabinet == "gpio" or hw.entry_door.present:
        return True
    # Presence switches on a lock-board cabinet; a cabinet 'none' builds no bays, whatever their pins say.
    return hw.cabinet != "none" and any(bay.presence_pin for bay in hw.bays)


def check_gpio(chips: Sequence[str], group_text: str, has_lgpio: bool) -> list[Finding]:
    """A GPIO chip device exists, the kiosk user is in the gpio group, and lgpio is importable."""
    findings: list[Finding] = []
    if not chips:
        fix = "run on a Raspberry Pi (or a kernel with the GPIO character device)"
        findings.append(Finding("GPIO", Level.FAIL, "no /dev/gpiochip* device", fix))
    else:
        findings.append(Finding("GPIO", Level.OK, ", ".join(chips)))
    members = group_members(group_text, "gpio")
    if members is None:
        findings.append(
            Finding("GPIO group", Level.FAIL, "there is no gpio group", "run 'kiosk install' (it creates it)")
        )
    elif USER not in members:
        findings.append(
            Finding("GPIO group", Level.FAIL, f"user {USER} is not in group gpio", f"usermod -aG gpio {USER}")
        )
    else:
        findings.append(Finding("GPIO group", Level.OK, f"user {USER} is in group gpio"))
    if not has_lgpio:
        fix = "apt-get install python3-lgpio, and make the venv with --system-site-packages (install.sh does)"
        message = "lgpio is not importable: gpiozero falls back to a pin driver the hardened service cannot use"
        findings.append(Finding("GPIO library", Level.WARN, message, fix))
    return findings


# --- font, clock, disk ---------------------------------------------------------------------------


def check_font(path: Path) -> Finding:
    """The touchscreen's Chinese+Latin font is installed (the app refuses to start without it)."""
    if path.is_file():
        return Finding("font", Level.OK, str(path))
    return Finding("font", Level.FAIL, f"{path} is missing", "apt-get install fonts-wqy-microhei (or set ui.font_file)")


def check_clock(synced: bool) -> Finding:
    """The wall clock is NTP-synchronised (a Pi has no real-time clock)."""
    if synced:
        return Finding("clock", Level.OK, "synchronised")
    fix = "give the Pi network access to an NTP server ('timedatectl timesync-status'); records stay usable meanwhile"
    return Finding("clock", Level.WARN, "not synchronised: event times are re-anchored by the hub later", fix)


def mount_of(path: Path, mounts_text: str) -> tuple[str, str]:
    """(mount point, file system type) that holds ``path``, from the text of /proc/self/mounts."""
    best = ("/", "unknown")
    target = str(path)
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]) and (point != "/" or best[0] == "/"):
            best = (point, fields[2])
    return best


def check_data_dir(path: Path, mounts_text: str) -> Finding:
    """The data folder exists and lives on a persistent file system (not tmpfs or an overlay root)."""
    if not path.is_dir():
        return Finding("data folder", Level.FAIL, f"{path} does not exist", "run 'kiosk install' (it creates it)")
    point, fstype = mount_of(path, mounts_text)
    if fstype in VOLATILE_FS:
        fix = f"mount a persistent partition at {path} (an /etc/fstab line) before the station runs"
        return Finding("data folder", Level.FAIL, f"{path} is on {fstype} ({point}): lost at reboot", fix)
    return Finding("data folder", Level.OK, f"{path} on {fstype} ({point})")


def check_disk(path: Path, free: int, total: int) -> Finding:
    """Enough free space for the database to grow while the hub is out of reach."""
    text = f"{free / 2**30:.1f} GiB free of {total / 2**30:.1f} GiB at {path}"
    fix = "free space: 'journalctl --vacuum-size=100M', remove old files; synced events are pruned by age"
    if free < DISK_FAIL_BYTES:
        return Finding("disk", Level.FAIL, text, fix)
    if free < DISK_WARN_BYTES:
        return Finding("disk", Level.WARN, text, fix)
    return Finding("disk", Level.OK, text)


# --- database ------------------------------------------------------------------------------------


def check_database(config: Config) -> Finding:
    """``PRAGMA quick_check`` on a read-only connection: safe while kiosk-core runs."""
    from kiosk.store import Store

    path = config.database_path()
    if not path.exists():
        return Finding("database", Level.OK, f"no database at {path} yet (kiosk-core creates it at first start)")
    fix = (
        "restart kiosk-core: it moves a damaged file aside (kept, never deleted) and starts a fresh one; "
        "'kiosk db check' gives details"
    )
    try:
        store = Store.open_readonly(path, station_id=config.station.id, clock=SystemClock())
    except StoreError as exc:
        return Finding("database", Level.FAIL, f"{path}: {exc}", fix)
    try:
        result = store.quick_check()
    except StoreError as exc:
        result = str(exc)
    finally:
        store.close()
    if result == "ok":
        return Finding("database", Level.OK, f"{path}: quick_check ok")
    return Finding("database", Level.FAIL, f"{path}: {result[:300]}", fix)


# --- tokens and the hub --------------------------------------------------------------------------


def check_secret(name: str, path: Path, fix: str) -> Finding:
    """A token file exists, is not empty and only its owner can read it."""
    try:
        read_secret_file(path)
    except ConfigError as exc:
        return Finding(name, Level.FAIL, str(exc), fix)
    return Finding(name, Level.OK, f"{path} (mode 0600)")


def check_hub(config: Config, timeout_s: float = HUB_TIMEOUT_S) -> list[Finding]:
    """The hub answers and accepts this station's token (one GET of the bundle, short timeout)."""
    sync = config.sync
    if not sync.enabled or not sync.hub_url:
        return [Finding("hub", Level.SKIP, "sync disabled (the station works on its own)")]
    token_fix = f"ask the hub's operator: 'kiosk-hub station token {config.station.id} --token-file FILE', copy it"
    token_finding = check_secret("hub token", sync.token_file, token_fix + f" to {sync.token_file}, chmod 600")
    if token_finding.level is Level.FAIL:
        return [token_finding]
    import requests

    url = f"{sync.hub_url.rstrip('/')}/v1/stations/{config.station.id}/bundle"
    headers = {"Authorization": f"Bearer {read_secret_file(sync.token_file)}"}
    try:
        answer = requests.get(url, headers=headers, timeout=timeout_s)
    except requests.RequestException as exc:
        fix = "check the network and hub_url; the station keeps working and sends its events once it gets through"
        return [token_finding, Finding("hub", Level.WARN, f"{sync.hub_url} unreachable ({type(exc).__name__})", fix)]
    answer.close()
    if answer.status_code in (200, 304):
        return [token_finding, Finding("hub", Level.OK, f"{sync.hub_url} accepts the token")]
    if answer.status_code in (401, 403):
        return [token_finding, Finding("hub", Level.FAIL, f"{sync.hub_url} refuses the token", token_fix)]
    if answer.status_code == 404:
        fix = f"register it at the hub: 'kiosk-hub station add {config.station.id} --name …'"
        return [token_finding, Finding("hub", Level.FAIL, f"the hub does not know station {config.station.id}", fix)]
    fix = "look at the hub's log; the station retries by itself"
    return [token_finding, Finding("hub", Level.WARN, f"{sync.hub_url} answered HTTP {answer.status_code}", fix)]


# --- lock-board probe (--probe) -----------------------------------------------------------------


def check_lock_boards(config: Config, *, timeout_s: float = 0.15) -> list[Finding]:
    """Ask the lock boards for their status and say which board profile answers (status queries only)."""
    from kiosk.devices.lockers.probe import probe_bus  # only --probe talks to the bus

    hw = config.hardware
    if hw.cabinet not in ("kerong", "8a80") or not hw.bus_port:
        return [Finding("lock boards", Level.SKIP, "no RS-485 lock boards configured")]
    family: Literal["kerong", "8a80"] = "kerong" if hw.cabinet == "kerong" else "8a80"
    configured = sorted({bay.board for bay in hw.bays})
    boards = {family: configured} if configured else None
    try:
        answers = probe_bus(hw.bus_port, boards, timeout_s=timeout_s)
    except OSError as exc:
        return [
            Finding(
                "lock boards",
                Level.FAIL,
                str(exc),
                "stop kiosk-core first (it holds the port: 'sudo systemctl stop kiosk-core') and check bus_port",
            )
        ]
    if not answers:
        asked = ", ".join(map(str, configured)) if configured else "every address"
        return [
            Finding(
                "lock boards",
                Level.FAIL,
                f"no lock board answered a status query on {hw.bus_port} (boards asked: {asked})",
                "check the boards' power, the A/B wires and each board's address switches",
            )
        ]
    findings = []
    for answer in answers:
        fits = hw.board_model is None or hw.board_model in answer.models
        level = Level.OK if fits and answer.family == family else Level.WARN
        fix = f"set [hardware] board_model to one of: {', '.join(answer.models)}" if level is Level.WARN else ""
        findings.append(Finding("lock boards", level, answer.describe(), fix))
    missing = [b for b in configured if b not in {a.board for a in answers if a.family == family}]
    if missing:
        findings.append(
            Finding(
                "lock boards",
                Level.FAIL,
                f"configured board(s) {', '.join(map(str, missing))} did not answer",
                "check that board's power, wiring and address switches",
            )
        )
    return findings


# --- the runner ----------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


@dataclass(frozen=True)
class Host:
    """What the checks read from the machine; a test gives its own."""

    mounts_text: Callable[[], str] = lambda: _read("/proc/self/mounts")
    group_text: Callable[[], str] = lambda: _read("/etc/group")
    gpio_chips: Callable[[], list[str]] = lambda: sorted(glob.glob("/dev/gpiochip*"))
    has_lgpio: Callable[[], bool] = lambda: importlib.util.find_spec("lgpio") is not None
    clock_synced: Callable[[], bool] = lambda: SystemClock().wall_synced()
    disk_usage: Callable[[Path], tuple[int, int]] = lambda p: (shutil.disk_usage(p).free, shutil.disk_usage(p).total)


def run_checks(
    config_path: Path, host: Host | None = None, *, hub_timeout_s: float = HUB_TIMEOUT_S, probe: bool = False
) -> list[Finding]:
    """Every check, in the order a technician fixes things; later checks are skipped without a valid config.

    ``probe``: also ask the lock boards for their status and say which profile answers.
    """
    host = host or Host()
    first, config = check_config(config_path)
    if config is None:
        return [first]
    findings = [first]
    for role, port in serial_ports(config):
        findings.append(check_port(role, port))
    if config.hardware.scanner.kind == "serial" and (config.hardware.scanner.port or "").startswith("usb:"):
        findings.append(check_usb_scanner(config.hardware.scanner.port or ""))
    if probe:
        findings += check_lock_boards(config)
    if uses_gpio(config):
        findings += check_gpio(host.gpio_chips(), host.group_text(), host.has_lgpio())
    findings.append(check_font(config.ui.font_file))
    findings.append(check_clock(host.clock_synced()))
    data_dir = config.station.data_dir
    findings.append(check_data_dir(data_dir, host.mounts_text()))
    if data_dir.is_dir():
        findings.append(check_disk(data_dir, *host.disk_usage(data_dir)))
        findings.append(check_database(config))
    findings.append(check_secret("UI token", config.api.ui_token_file, "run 'kiosk install' (it generates one)"))
    findings += check_hub(config, hub_timeout_s)
    return findings


def report(findings: Iterable[Finding], write: Callable[[str], None] = print) -> int:
    """Print every finding; the exit code: 1 if any check failed, else 0."""
    failed = 0
    for finding in findings:
        for line in finding.lines():
            write(line)
        failed += finding.level is Level.FAIL
    write(f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0


def privileges(euid: int, user: str) -> list[Finding]:
    """A warning when the doctor cannot read what only root and the kiosk user may (tokens, database)."""
    if euid == 0 or user == USER:
        return []
    fix = "run 'sudo kiosk doctor': the tokens and the data folder are readable by user kiosk only"
    return [Finding("doctor", Level.WARN, f"running as {user}: some checks will be refused", fix)]


def doctor(config_path: Path, host: Host | None = None, *, probe: bool = False) -> int:
    """``kiosk doctor``: run every check and print the results; non-zero exit on any FAIL."""
    import getpass

    try:
        return report([*privileges(os.geteuid(), getpass.getuser()), *run_checks(config_path, host, probe=probe)])
    except KioskError as exc:  # a check that could not even run is a failure, said plainly
        print(f"FAIL  doctor: {exc}")
        return 1
