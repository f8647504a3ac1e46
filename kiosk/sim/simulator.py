"""The simulated cabinet as a component of ``kiosk sim``: started before the drivers that talk to it.

It also lets simulated time pass for the batteries (they charge), once a second on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from kiosk.devices.sim.cabinet import SimCabinet

TICK_S = 1.0


class SimulatorComponent:
    """Owns a :class:`SimCabinet`: starts its ptys and pins, charges its batteries, closes it last."""

    name = "simulator"
    optional = False

    def __init__(self, sim: SimCabinet) -> None:
        self.sim = sim
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create the simulated devices and begin charging."""
        await asyncio.to_thread(self.sim.start)
        self._task = asyncio.create_task(self._charge(), name="simulator-charge")

    async def _charge(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.sim.tick(TICK_S)

    async def close(self) -> None:
        """Stop charging and remove the simulated devices (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self.sim.close)

    def get_status(self) -> dict[str, Any]:
        """Which cabinet is simulated (its world is at ``/api/sim``)."""
        return {"kind": self.sim.kind, "workdir": str(self.sim.workdir)}
