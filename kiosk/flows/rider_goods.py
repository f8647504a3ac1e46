"""The goods bays: what they hold, handing an item out for points, staff restocking them.

Handing out follows the swap's rule — persist the intent before the action: ``points.spent``, its ledger
row and the stock change are one transaction on disk before the lock is pulsed; a lock that fails (the
driver raises, or the door is not seen open within ``policy.unlock_confirm_s``) gives all three back in one
transaction (``points.spend_cancelled``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from kiosk.core.clock import Clock
from kiosk.core.errors import DeviceError, StoreError
from kiosk.core.events import Event
from kiosk.core.rider_events import PointsSpent
from kiosk.devices.base import DoorState
from kiosk.flows import rider_ledger
from kiosk.flows.cabinet import CabinetComponent
from kiosk.store import goods
from kiosk.store.component import StoreComponent

log = logging.getLogger(__name__)


class GoodsBays:
    """The station's goods bays (``[[hardware.bays]] goods``) and their stock as recorded in SQLite."""

    def __init__(
        self, items: dict[int, str], *, store: StoreComponent, cabinet: CabinetComponent, clock: Clock
    ) -> None:
        self.items = dict(items)
        """Goods bay → the catalogue item it holds."""
        self.store = store
        self.cabinet = cabinet
        self.clock = clock
        self._opening: dict[int, asyncio.Event] = {}
        """Bays just unlocked → set when their door is seen open."""

    def __contains__(self, bay: object) -> bool:
        return bay in self.items

    def stock(self) -> dict[int, int]:
        """Goods bay → how many items it holds (0 for a bay never stocked)."""
        recorded = goods.stock(self.store.store)
        return {bay: recorded[bay][1] if bay in recorded else 0 for bay in self.items}

    def in_stock(self) -> dict[str, int]:
        """Item → how many this station holds in all its goods bays."""
        totals: dict[str, int] = {}
        for bay, count in self.stock().items():
            totals[self.items[bay]] = totals.get(self.items[bay], 0) + count
        return totals

    def bay_for(self, item_id: str) -> int | None:
        """A goods bay holding ``item_id`` whose lock is not faulted (the fullest, then the lowest number)."""
        states = self.cabinet.bays()
        held = [
            (count, -bay)
            for bay, count in self.stock().items()
            if self.items[bay] == item_id and count > 0 and not (bay in states and states[bay].fault)
        ]
        return -max(held)[1] if held else None

    def door_changed(self, bay: int, door: DoorState) -> None:
        """A goods bay's door was seen open or shut (on the loop)."""
        opening = self._opening.get(bay)
        if opening is not None and door is DoorState.OPEN:
            opening.set()

    async def hand_out(self, spent: PointsSpent, day: str, confirm_s: float | None) -> str | None:
        """Record ``spent`` and open its bay; None when it opened, else what went wrong (everything given back).

        ``confirm_s``: how long the door has to be seen open after the unlock (None: the driver's word is enough).
        """
        with self.store.transaction() as tx:  # on disk before the lock is pulsed
            rider_ledger.record_spend(tx, spent, day)
        opening = self._opening[spent.bay] = asyncio.Event()
        try:
            problem = await self._open(spent.bay, opening, confirm_s)
        finally:
            self._opening.pop(spent.bay, None)
        if problem is not None:
            log.error("goods bay %d did not open (%s): the spend is given back", spent.bay, problem)
            with self.store.transaction() as tx:
                rider_ledger.record_cancel(tx, spent, problem, day)
        return problem

    async def _open(self, bay: int, opening: asyncio.Event, confirm_s: float | None) -> str | None:
        try:
            await self.cabinet.unlock(bay)
        except (DeviceError, RuntimeError) as exc:
            return str(exc) or type(exc).__name__
        state = self.cabinet.bays().get(bay)
        if confirm_s is None or (state is not None and state.door is DoorState.OPEN):
            return None
        try:
            async with asyncio.timeout(confirm_s):
                await opening.wait()
        except TimeoutError:
            return f"the door was not seen open within {confirm_s:g} s of the unlock"
        return None

    def restock(self, bay: int, count: int, audit: Event | None = None) -> None:
        """Staff filled goods bay ``bay``: it holds ``count`` items now (``audit`` in the same transaction).

        Raises ``ValueError`` for a bay that is not a goods bay, or a negative count.
        """
        item_id = self.items.get(bay)
        if item_id is None:
            raise ValueError(f'bay {bay} is not a goods bay (set goods = "<item>" on it in [[hardware.bays]])')
        if count < 0:
            raise ValueError("a bay cannot hold fewer than 0 items")
        with self.store.transaction() as tx:
            goods.restock(tx, bay, item_id, count, self.clock.wall())
            if audit is not None:
                tx.append(audit)
        log.info("goods bay %d (%s) restocked to %d", bay, item_id, count)

    def status(self, offered: set[str], bundle_at: datetime | None) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Each goods bay's item and count, and warnings (empty bays, items the city's catalogue lacks)."""
        try:
            stock = self.stock()
        except StoreError:  # before start or after close
            stock = dict.fromkeys(self.items, 0)
        goods: dict[str, dict[str, Any]] = {}
        warnings: list[str] = []
        for bay, item_id in sorted(self.items.items()):
            goods[str(bay)] = {"item_id": item_id, "count": stock[bay]}
            if stock[bay] == 0:
                warnings.append(f"goods bay {bay} ({item_id}) is empty")
            if bundle_at is not None and item_id not in offered:
                warnings.append(f"goods bay {bay} holds {item_id!r}, which the city's catalogue does not offer")
        return goods, warnings
