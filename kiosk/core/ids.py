"""Identifiers: UUIDv7 for events (time-ordered), and the boot id that ties records to one power-on."""

from __future__ import annotations

import uuid
from pathlib import Path

import uuid6

_BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
_PROCESS_BOOT_ID = str(uuid.uuid4())


def new_id() -> str:
    """A new UUIDv7 as text: sortable by creation time, unique without coordination."""
    return str(uuid6.uuid7())


def boot_id(path: Path = _BOOT_ID_PATH) -> str:
    """The kernel's id of this boot; monotonic times are comparable only within one boot.

    Where the kernel does not offer one, a random id for this process is used instead, which is
    stricter (a process restart looks like a reboot) but never wrong.
    """
    try:
        text = path.read_text(encoding="ascii").strip()
        return str(uuid.UUID(text))
    except (OSError, ValueError):
        return _PROCESS_BOOT_ID
