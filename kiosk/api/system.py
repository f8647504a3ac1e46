"""Facts about the computer itself for the overview: free disk space and CPU temperature.

Pure readers with the file system root injectable, so tests give them a fake ``/sys``; anything
missing (no thermal zone on a laptop, no data folder yet) reads as None, never as an error.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

THERMAL = Path("/sys/class/thermal")


@dataclass(frozen=True)
class DiskSpace:
    """Free and total bytes of the file system holding a folder."""

    free_bytes: int
    total_bytes: int

    @property
    def free_pct(self) -> float:
        """Free space as a percentage of the total."""
        return 100.0 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def disk_space(folder: Path | None) -> DiskSpace | None:
    """The disk space where ``folder`` lives (its nearest existing parent), or None if unknown."""
    if folder is None:
        return None
    path = folder
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return DiskSpace(free_bytes=usage.free, total_bytes=usage.total)


def cpu_temperature_c(thermal: Path = THERMAL) -> float | None:
    """The CPU temperature (°C) from the first thermal zone of type cpu/soc (else zone 0), or None."""
    try:
        zones = sorted(p for p in thermal.iterdir() if p.name.startswith("thermal_zone"))
    except OSError:
        return None
    chosen = None
    for zone in zones:
        try:
            kind = (zone / "type").read_text(encoding="ascii").strip().lower()
        except (OSError, UnicodeDecodeError):
            continue
        if "cpu" in kind or "soc" in kind:
            chosen = zone
            break
    chosen = chosen or (zones[0] if zones else None)
    if chosen is None:
        return None
    try:
        millidegrees = int((chosen / "temp").read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return millidegrees / 1000.0


def format_bytes(count: int) -> str:
    """``1536`` → ``1.5 KiB``: binary units, one decimal."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop always returns
