"""The project's exceptions: one tree, each member also inheriting the matching built-in.

Catch ``KioskError`` to catch anything the station raises on purpose; catch the built-in
(``ValueError``, ``OSError``) where a caller already handles that family.
"""

from __future__ import annotations


class KioskError(Exception):
    """Base of every error the station raises on purpose."""


class ConfigError(KioskError, ValueError):
    """The configuration file is missing, unreadable, or does not fit the schema.

    ``problems`` holds one plain-language line per mistake, each naming the key and its line.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class StoreError(KioskError, RuntimeError):
    """The station's database could not do what was asked."""


class DatabaseCorrupt(StoreError):
    """The database file failed its integrity check (it is moved aside, never deleted)."""


class ProtocolError(KioskError, ValueError):
    """Bytes or a message from a device or peer do not follow the protocol."""


class DeviceError(KioskError, OSError):
    """A device could not be reached or did not do what was asked."""


class ComponentError(KioskError, RuntimeError):
    """A component failed to start or stop."""
