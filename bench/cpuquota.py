"""Run the calling benchmark under a CPU quota, to see a Pi-class CPU's figures on a faster machine.

``limit_cpu(25)`` moves this process (every thread, and every child started afterwards) into a fresh
cgroup allowed 25 % of one core: ``cpu.max`` on cgroup v2 where the cpu controller is enabled there,
else the cgroup v1 cpu controller's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (the same CFS
bandwidth limit under its older name). Both need root (or a delegated cgroup). Where neither is
available, run the bench under ``systemd-run --scope -p CPUQuota=25% python bench/swap.py`` instead.

The limit is CFS bandwidth control: within each period the group may run for ``quota`` of CPU time and
then waits, throttled, for the next period. With the usual 100 ms period (systemd's) a burst can stall
up to 75 ms; a shorter period spreads the same share more evenly, closer to a uniformly slower CPU.
:meth:`CpuQuota.throttling` reads how often and how long that happened.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


class QuotaError(RuntimeError):
    """No CPU quota could be set on this machine (the message says why and what to do instead)."""


@dataclass
class CpuQuota:
    """A cgroup this process runs in, limited to ``percent`` of one core per ``period_us``."""

    percent: float
    period_us: int
    group: Path
    parent: Path
    mechanism: str

    def describe(self) -> str:
        """What was set, where, for the report."""
        return f"{self.percent:g} % of one core, {self.mechanism}, period {self.period_us / 1000:g} ms, in {self.group}"

    def throttling(self) -> tuple[int, int, float]:
        """(periods, throttled periods, seconds throttled) so far, from the group's cpu.stat."""
        stat = dict(line.split() for line in (self.group / "cpu.stat").read_text().splitlines() if line.strip())
        periods, throttled = int(stat.get("nr_periods", 0)), int(stat.get("nr_throttled", 0))
        if "throttled_usec" in stat:  # cgroup v2
            return periods, throttled, int(stat["throttled_usec"]) / 1e6
        return periods, throttled, int(stat.get("throttled_time", 0)) / 1e9  # cgroup v1: ns

    def release(self) -> None:
        """Move this process back to where it was and remove the group. Safe twice."""
        if not self.group.exists():
            return
        (self.parent / "cgroup.procs").write_text(f"{os.getpid()}\n")
        # A child process still in it keeps the group busy: then it stays until that child is gone.
        with contextlib.suppress(OSError):
            self.group.rmdir()


def _own_group(hierarchy: str) -> Path | None:
    """The cgroup this process is in, on the v2 hierarchy ('') or the v1 one with ``hierarchy`` controller."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (hierarchy == "" and controllers == "") or hierarchy in controllers.split(","):
            return Path(path.lstrip("/"))
    return None


def _v2_root() -> Path | None:
    for candidate in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        if (candidate / "cgroup.controllers").is_file():
            return candidate
    return None


def _remove(group: Path) -> None:
    with contextlib.suppress(OSError):  # never made, or not empty: nothing of ours to clean
        group.rmdir()


def limit_cpu(percent: float, period_us: int = 100_000) -> CpuQuota:
    """Put this process under ``percent`` % of one core; QuotaError if this machine does not allow it."""
    if not 0 < percent <= 100:
        raise QuotaError(f"a CPU quota of {percent:g} % is not between 0 and 100 % of one core")
    if not 1000 <= period_us <= 1_000_000:
        raise QuotaError(f"a CFS period of {period_us} µs is outside 1 ms .. 1 s")
    quota_us = max(1000, round(period_us * percent / 100))
    name = f"bench-cpu-{os.getpid()}"
    reasons: list[str] = []
    v2 = _v2_root()
    own = _own_group("")
    if v2 is not None and own is not None:
        parent = v2 / own
        if "cpu" in (parent / "cgroup.subtree_control").read_text().split():
            group = parent / name
            try:
                group.mkdir()
                (group / "cpu.max").write_text(f"{quota_us} {period_us}\n")
                (group / "cgroup.procs").write_text(f"{os.getpid()}\n")
                return CpuQuota(percent, period_us, group, parent, "cgroup v2 cpu.max")
            except OSError as exc:
                _remove(group)
                reasons.append(f"cgroup v2 at {parent}: {exc}")
        else:
            reasons.append(f"cgroup v2 at {parent}: the cpu controller is not enabled for its children")
    v1 = CGROUP_ROOT / "cpu"
    own_v1 = _own_group("cpu")
    if (v1 / "cpu.cfs_quota_us").is_file() and own_v1 is not None:
        parent = v1 / own_v1
        group = parent / name
        try:
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(f"{period_us}\n")
            (group / "cpu.cfs_quota_us").write_text(f"{quota_us}\n")
            (group / "cgroup.procs").write_text(f"{os.getpid()}\n")
            return CpuQuota(percent, period_us, group, parent, "cgroup v1 cpu.cfs_quota_us")
        except OSError as exc:
            _remove(group)
            reasons.append(f"cgroup v1 at {parent}: {exc}")
    else:
        reasons.append("no cgroup v1 cpu controller")
    raise QuotaError(
        "cannot set a CPU quota here ("
        + "; ".join(reasons)
        + f"); run the bench under: systemd-run --scope -p CPUQuota={percent:g}% python ..."
    )
