"""The contract every runtime component keeps (the Klipper/Moonraker pattern).

A component is built from its own config section, assigns every attribute in ``__init__``, meets its
peers only through what the composition root hands it, and offers:

- ``async start()`` — begin work; raise to say it cannot run.
- ``async close()`` — stop and put outputs in their safe state; safe to call twice, and before start.
- ``get_status()`` — JSON-safe values describing it now; a new dict each call, never mutated later.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

JsonDict = dict[str, Any]


@runtime_checkable
class Component(Protocol):
    """A part of kiosk-core with a lifecycle and a status."""

    name: str
    """Short unique name, used in status and warnings (``store``, ``api``, ``cabinet`` …)."""
    optional: bool
    """If True, a failure to start is a warning and the station runs without it."""

    async def start(self) -> None:
        """Begin work."""
        ...

    async def close(self) -> None:
        """Stop; idempotent; outputs go to their safe state."""
        ...

    def get_status(self) -> JsonDict:
        """A fresh JSON-safe snapshot."""
        ...
