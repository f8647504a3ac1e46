"""The rider desk: what the station offers a rider besides a battery — points, city services, bookings, feedback.

It holds the identified rider's session (:mod:`kiosk.station.rider_session`), the city content of the last
bundle and the goods bays' stock, and serves the touchscreen through :class:`kiosk.api.rider.RiderApi`.

- A spend asks the hub live first (``policy.spend_confirm_timeout_s``); without an answer the offline rule
  of :mod:`kiosk.station.points` decides. The ledger row, the stock change and ``points.spent`` are ONE
  transaction written before the bay is unlocked; a lock that fails gives everything back the same way
  (``points.spend_cancelled``), and the rider is told.
- Every accepted code (a swap, the entry, an identification) opens a session and credits the day's
  check-in once per rider and station-local day, when the city has a ``checkin`` rule.
- Bookings are kept locally ('requested') and the bundle's ``bookings`` bring the city's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from kiosk.api.rider import RiderApi, RiderConflict, RiderNotFound
from kiosk.api.rider_models import (
    BookingAnswer,
    CatalogueOffer,
    FeedbackAnswer,
    FeedbackRequest,
    IdentifyAnswer,
    RedeemAnswer,
    RiderBooking,
    RiderCorrection,
    RiderView,
    StationContent,
)
from kiosk.api.screen import ScreenFeed
from kiosk.app import rider_ledger as ledger
from kiosk.app.cabinet import CabinetComponent
from kiosk.app.components import StoreComponent
from kiosk.core.clock import Clock
from kiosk.core.config import Config, PolicyConfig
from kiosk.core.content import Announcement, CatalogueItem, Location, NearbyStation, PointsRule, Service
from kiosk.core.errors import DeviceError, StoreError
from kiosk.core.events import Event
from kiosk.core.ids import new_id
from kiosk.core.rider_events import (
    BookingRequested,
    FeedbackGiven,
    PointsEarned,
    PointsSpendCancelled,
    PointsSpent,
    ServiceViewed,
)
from kiosk.devices.base import BayState
from kiosk.station.points import (
    BalanceSource,
    EntryKind,
    KnownBalance,
    SpendOutcome,
    decide_spend,
    earning_due,
    newest_balance,
    offline_cap_left,
    shown_balance,
)
from kiosk.station.rider_session import RiderSession
from kiosk.sync.protocol import Bundle, PointsCorrection, RiderBalance, SpendAnswer, SpendRequest

log = logging.getLogger(__name__)

SpendCall = Callable[[SpendRequest, float], Awaitable[SpendAnswer | None]]
"""Ask the hub live (``SyncRelay.spend``): its answer, or None without one in the time given."""
SwapStarter = Callable[[str, str], None]
"""Start a swap for (rider id, nonce of the code that identified them) — ``StationController.start_rider_swap``."""

EXPIRY_CHECK_S = 0.5
RIDER_SCREENS = ("rider", "points.")
"""Screens the desk put up (``rider.identify``, ``rider``, ``points.take_item``): it may take them down."""


class RiderDesk:
    """The rider services of one station, as a runtime component."""

    name = "rider"
    optional = False

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock,
        store: StoreComponent,
        cabinet: CabinetComponent,
        screen: ScreenFeed,
        spend: SpendCall | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.cabinet = cabinet
        self.screen = screen
        self.spend = spend
        self.start_swap: SwapStarter | None = None
        """Set by the composition root once the controller exists (the two know each other)."""
        self.policy: PolicyConfig = config.policy
        self.zone = zoneinfo.ZoneInfo(config.station.timezone)
        self.goods_bays: dict[int, str] = {b.number: b.goods for b in config.hardware.bays if b.goods is not None}
        self.session = RiderSession()
        self.services: list[Service] = []
        self.announcements: list[Announcement] = []
        self.nearby: list[NearbyStation] = []
        self.location: Location | None = None
        self.catalogue: list[CatalogueItem] = []
        self.points_rules: list[PointsRule] = []
        self.balances: dict[str, RiderBalance] = {}
        self.bundle_at: datetime | None = None
        self._bookings_waiting: Bundle | None = None
        self._codes: dict[str, KnownBalance] = {}
        self._session_corrections: list[RiderCorrection] = []
        self._open_goods: set[int] = set()
        self._spending = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the bookings of a bundle applied before the store opened, then watch for sessions running out."""
        if self._bookings_waiting is not None:
            self._take_bookings(self._bookings_waiting)
        self._task = asyncio.create_task(self._expiry_loop(), name="rider-sessions")

    async def close(self) -> None:
        """Stop watching sessions (safe twice)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            self.check_expiry()

    def check_expiry(self) -> None:
        """End a session that ran out (a rider walked away, or never scanned)."""
        if self.session.expired(self.clock.monotonic(), self.policy.rider_session_s):
            log.info("the rider session ran out")
            self._end_session()

    def _end_session(self) -> None:
        self.session = self.session.end()
        self._session_corrections = []
        if self.screen.current.name.startswith(RIDER_SCREENS):
            self.screen.show("idle", {}, mono=self.clock.monotonic())

    # --- the bundle ----------------------------------------------------------------------------

    def use_bundle(self, bundle: Bundle, policy: PolicyConfig) -> None:
        """Switch to the city content, balances and booking answers of ``bundle`` (already checked)."""
        self.policy = policy
        self.services = list(bundle.services)
        self.announcements = list(bundle.announcements)
        self.nearby = sorted(bundle.nearby, key=lambda n: n.distance_m)
        self.location = bundle.location
        self.catalogue = list(bundle.catalogue)
        self.points_rules = list(bundle.points_rules)
        self.balances = {b.rider_id: b for b in bundle.balances}
        self.bundle_at = bundle.generated_at
        self._take_bookings(bundle)

    def _take_bookings(self, bundle: Bundle) -> None:
        if not bundle.bookings:
            self._bookings_waiting = None
            return
        try:
            with self.store.transaction() as tx:
                changed = ledger.update_bookings(tx, list(bundle.bookings), self.clock.wall())
        except StoreError:  # applied before the store opened (at start): taken at the desk's start
            self._bookings_waiting = bundle
            return
        self._bookings_waiting = None
        if changed:
            log.info("the hub answered %d booking(s)", changed)

    # --- what the controller tells the desk ---------------------------------------------------------

    @property
    def awaiting_scan(self) -> bool:
        """Whether the next scan identifies a rider (rather than starting a swap or opening the entry)."""
        self.check_expiry()
        return self.session.awaiting_scan

    def is_goods_bay(self, bay: int) -> bool:
        """Whether ``bay`` hands out goods (never part of a swap)."""
        return bay in self.goods_bays

    def goods_door(self, state: BayState) -> None:
        """A goods bay's door changed (the rider took the item and shut it)."""
        if state.door.value == "closed" and state.bay in self._open_goods:
            self._open_goods.discard(state.bay)
            self.session = self.session.touch(self.clock.monotonic())

    def code_accepted(
        self,
        rider_id: str,
        *,
        nonce: str,
        can_swap: bool,
        points: int | None,
        issued_at: datetime,
        identifying: bool = False,
    ) -> None:
        """A code of ``rider_id`` was accepted (and recorded): open a session, credit the day's check-in.

        ``identifying``: the rider scanned because the screen asked; show them their part of the screen.
        A swap or the entry also opens a session (so the rider can look at their points afterwards), but
        leaves the screen to that flow.
        """
        now = self.clock.monotonic()
        if points is not None:
            self._codes[rider_id] = KnownBalance(points, issued_at, BalanceSource.CODE)
        if identifying or self.session.rider_id != rider_id:
            self._session_corrections = []
        self.session = self.session.identify(
            rider_id, now, can_swap=can_swap, nonce=nonce, points=points, issued_at=issued_at
        )
        self._check_in(rider_id)
        if identifying:
            self.screen.show("rider", {"rider_id": rider_id, "purpose": self.session.purpose}, mono=now)

    def _check_in(self, rider_id: str) -> None:
        day = self.today()
        db = self.store.store.db
        if ledger.checked_in(db, rider_id, day):
            return
        rule = earning_due(self.points_rules, "checkin", 0)
        if rule is None:
            return
        entry_id = new_id()
        with self.store.transaction() as tx:
            record = tx.append(
                PointsEarned(entry_id=entry_id, rider_id=rider_id, rule=rule.id, points=rule.points, day=day)
            )
            ledger.add_entry(
                tx,
                entry_id=entry_id,
                rider_id=rider_id,
                kind=EntryKind.EARNED,
                points=rule.points,
                seq=record.seq,
                wall=record.wall,
                day=day,
                rule=rule.id,
            )
            tx.db.table("checkins").insert({"entry_id": entry_id, "rider_id": rider_id, "day": day})
        log.info("rider %s checked in today (%d points)", rider_id, rule.points)

    def today(self) -> str:
        """The station's local day (``YYYY-MM-DD``)."""
        return self.clock.wall().astimezone(self.zone).date().isoformat()

    # --- the touchscreen's calls ---------------------------------------------------------------------

    def api(self) -> RiderApi:
        """The callables the local API's rider endpoints use."""
        return RiderApi(
            content=self.content,
            service_viewed=self.service_viewed,
            identify=self.identify,
            rider=self.rider_view,
            end=self.end,
            swap=self.swap,
            redeem=self.redeem,
            book=self.book,
            feedback=self.feedback,
        )

    def _rider(self) -> str:
        """The identified rider (touching the session), or RiderConflict."""
        self.check_expiry()
        rider_id = self.session.rider_id
        if not self.session.identified or rider_id is None:
            raise RiderConflict("nobody is identified: ask the rider to scan their code first")
        self.session = self.session.touch(self.clock.monotonic())
        return rider_id

    def content(self) -> StationContent:
        """What the last bundle offers here, with this station's stock."""
        now = self.clock.wall()
        in_stock: dict[str, int] = {}
        for item_id, count in ledger.stock(self.store.store.db).values():
            in_stock[item_id] = in_stock.get(item_id, 0) + count
        return StationContent(
            services=self.services,
            announcements=[a for a in self.announcements if _current(a, now)],
            nearby=self.nearby,
            location=self.location,
            catalogue=[
                CatalogueOffer(**item.model_dump(), in_stock=in_stock.get(item.id, 0)) for item in self.catalogue
            ],
            points_rules=self.points_rules,
            bundle_at=self.bundle_at,
        )

    def _service(self, service_id: str) -> Service:
        service = next((s for s in self.services if s.id == service_id), None)
        if service is None:
            raise RiderNotFound(f"there is no service {service_id!r} at this station")
        return service

    def service_viewed(self, service_id: str, language: str) -> None:
        """Record ``service.viewed`` (the city's service demand figure)."""
        service = self._service(service_id)
        self.session = self.session.touch(self.clock.monotonic())
        lang = "en" if language == "en" else "zh"
        self.store.append(ServiceViewed(service_id=service.id, category=service.category[:32], language=lang))

    def identify(self, purpose: str) -> IdentifyAnswer:
        """The next scan identifies a rider, for ``purpose``; the screen asks for it."""
        now = self.clock.monotonic()
        wait = self.policy.rider_session_s
        try:
            self.session = self.session.await_scan(purpose, now, wait)
        except ValueError as exc:
            raise RiderConflict(str(exc)) from None
        self._session_corrections = []
        self.screen.show("rider.identify", {"purpose": purpose, "deadline": now + wait}, mono=now)
        return IdentifyAnswer(waiting_s=wait)

    def end(self) -> None:
        """The rider is done; back to the idle screen."""
        self._end_session()

    def swap(self) -> None:
        """Start a swap for the identified rider (once per identification, like the code it came from)."""
        rider_id = self._rider()
        nonce = self.session.nonce
        if not self.session.can_swap or nonce is None or self.start_swap is None:
            raise RiderConflict("this code is not for battery swaps (or was used for one): scan your swap code")
        self.start_swap(rider_id, nonce)
        self.session = replace(self.session, can_swap=False)

    # --- the rider's points ------------------------------------------------------------------------

    def _known(self, rider_id: str) -> KnownBalance | None:
        bundled = self.balances.get(rider_id)
        from_bundle = (
            KnownBalance(bundled.balance, bundled.as_of, BalanceSource.BUNDLE, bundled.station_seq)
            if bundled is not None
            else None
        )
        return newest_balance(from_bundle, self._codes.get(rider_id))

    def _corrections(self, rider_id: str) -> list[RiderCorrection]:
        """Corrections not shown before, kept for the whole session once shown."""
        bundled = self.balances.get(rider_id)
        fresh: list[PointsCorrection] = list(bundled.corrections) if bundled is not None else []
        known = {c.entry_id for c in self._session_corrections}
        fresh = [c for c in fresh if c.entry_id not in known]
        if fresh:
            seen = ledger.shown_corrections(self.store.store.db, [c.entry_id for c in fresh])
            new = [RiderCorrection(**c.model_dump()) for c in fresh if c.entry_id not in seen]
            if new:
                with self.store.transaction() as tx:
                    ledger.mark_shown(tx, [c.entry_id for c in new], self.clock.wall())
                self._session_corrections += new
        return list(self._session_corrections)

    def rider_view(self) -> RiderView | None:
        """The identified rider's points, check-in, corrections and bookings; None when nobody is identified."""
        try:
            rider_id = self._rider()
        except RiderConflict:
            return None
        db = self.store.store.db
        entries = ledger.ledger_entries(db, self.store.station_id, rider_id)
        known = self._known(rider_id)
        balance, pending = shown_balance(known, entries)
        return RiderView(
            rider_id=rider_id,
            purpose=self.session.purpose,  # one of PURPOSES, checked at identify
            balance=balance,
            balance_as_of=known.as_of if known is not None else None,
            pending=pending,
            offline_cap_left=offline_cap_left(entries, self.policy.offline_spend_cap_points),
            checked_in_today=ledger.checked_in(db, rider_id, self.today()),
            corrections=self._corrections(rider_id),
            bookings=[RiderBooking.model_validate(b) for b in ledger.rider_bookings(db, rider_id)],
            expires_in_s=self.session.expires_in(self.clock.monotonic(), self.policy.rider_session_s),
        )

    def _bay_for(self, item_id: str) -> int | None:
        """A goods bay holding ``item_id`` whose lock is not faulted (the fullest first)."""
        bays = self.cabinet.bays()
        held = [
            (count, -bay)
            for bay, (item, count) in ledger.stock(self.store.store.db).items()
            if item == item_id
            and count > 0
            and bay in self.goods_bays
            and (bays.get(bay) is None or not bays[bay].fault)
        ]
        return -max(held)[1] if held else None

    def _refusal(self, reason: str, balance: int | None) -> RedeemAnswer:
        zh, en = ledger.REFUSAL_MESSAGES[reason]
        return RedeemAnswer(ok=False, reason=reason, balance=balance, message_zh=zh, message_en=en)

    async def redeem(self, item_id: str) -> RedeemAnswer:
        """Spend the identified rider's points on ``item_id`` and open its bay, or say why not."""
        async with self._spending:  # one spend at a time: two must not both take the last item
            rider_id = self._rider()
            db = self.store.store.db
            known = self._known(rider_id)
            balance, _ = shown_balance(known, ledger.ledger_entries(db, self.store.station_id, rider_id))
            item = next((i for i in self.catalogue if i.id == item_id), None)
            if item is None:
                return self._refusal("unknown_item", balance)
            bay = self._bay_for(item.id)
            if bay is None:
                return self._refusal("out_of_stock", balance)
            entry_id = new_id()
            answer = await self._ask_hub(
                SpendRequest(
                    station_id=self.store.station_id,
                    entry_id=entry_id,
                    rider_id=rider_id,
                    item_id=item.id,
                    points=item.points,
                )
            )
            entries = ledger.ledger_entries(db, self.store.station_id, rider_id)
            decision = decide_spend(
                cost=item.points,
                known=known,
                entries=entries,
                cap=self.policy.offline_spend_cap_points,
                live_accepted=None if answer is None else answer.accepted,
            )
            if not decision.allowed:
                assert decision.reason is not None
                log.info("rider %s may not spend %d on %s: %s", rider_id, item.points, item.id, decision.reason.value)
                return self._refusal(decision.reason.value, balance)
            confirmed = decision.outcome is SpendOutcome.CONFIRMED
            self._record_spend(entry_id, rider_id, item, bay, confirmed)
            try:
                await self.cabinet.unlock(bay)
            except (DeviceError, RuntimeError) as exc:
                log.error("goods bay %d did not open (%s): the spend is given back", bay, exc)
                self._cancel_spend(entry_id, rider_id, item, bay, str(exc))
                after, _ = shown_balance(known, ledger.ledger_entries(db, self.store.station_id, rider_id))
                return self._refusal("bay_fault", after)
            self._open_goods.add(bay)
            after, _ = shown_balance(known, ledger.ledger_entries(db, self.store.station_id, rider_id))
            now = self.clock.monotonic()
            self.session = self.session.touch(now)
            params = {
                "bay": bay,
                "item_id": item.id,
                "name_zh": item.name_zh,
                "name_en": item.name_en,
                "kind": item.kind,
            }
            self.screen.show("points.take_item", params, mono=now)
            return RedeemAnswer(ok=True, bay=bay, confirmed=confirmed, balance=after)

    async def _ask_hub(self, request: SpendRequest) -> SpendAnswer | None:
        if self.spend is None:
            return None
        answer = await self.spend(request, self.policy.spend_confirm_timeout_s)
        if answer is not None and answer.entry_id != request.entry_id:
            log.error("the hub answered a spend with another entry id; treating it as no answer")
            return None
        return answer

    def _record_spend(self, entry_id: str, rider_id: str, item: CatalogueItem, bay: int, confirmed: bool) -> None:
        day = self.today()
        with self.store.transaction() as tx:
            spent = PointsSpent(
                entry_id=entry_id, rider_id=rider_id, item_id=item.id, points=item.points, bay=bay, confirmed=confirmed
            )
            record = tx.append(spent)
            ledger.add_entry(
                tx,
                entry_id=entry_id,
                rider_id=rider_id,
                kind=EntryKind.SPENT,
                points=item.points,
                seq=record.seq,
                wall=record.wall,
                day=day,
                item_id=item.id,
                bay=bay,
                confirmed=confirmed,
            )
            ledger.change_stock(tx, bay, -1, record.wall)

    def _cancel_spend(self, entry_id: str, rider_id: str, item: CatalogueItem, bay: int, reason: str) -> None:
        with self.store.transaction() as tx:
            record = tx.append(PointsSpendCancelled(entry_id=entry_id, rider_id=rider_id, reason=reason[:200]))
            ledger.add_entry(
                tx,
                entry_id=new_id(),
                rider_id=rider_id,
                kind=EntryKind.CANCELLED,
                points=item.points,
                seq=record.seq,
                wall=record.wall,
                day=self.today(),
                item_id=item.id,
                bay=bay,
                ref=entry_id,
            )
            ledger.change_stock(tx, bay, +1, record.wall)

    # --- bookings and feedback -------------------------------------------------------------------------

    def book(self, service_id: str, slot_id: str) -> BookingAnswer:
        """Ask for a slot of a bookable service for the identified rider (queued for the hub)."""
        rider_id = self._rider()
        service = self._service(service_id)
        if not service.bookable:
            raise RiderConflict(f"the service {service_id!r} takes no bookings")
        slot = next((s for s in service.slots if s.id == slot_id), None)
        if slot is None:
            raise RiderNotFound(f"the service {service_id!r} has no open slot {slot_id!r}")
        booking_id = new_id()
        with self.store.transaction() as tx:
            record = tx.append(
                BookingRequested(booking_id=booking_id, rider_id=rider_id, service_id=service.id, slot_id=slot.id)
            )
            ledger.add_booking(
                tx,
                booking_id=booking_id,
                rider_id=rider_id,
                service_id=service.id,
                slot_id=slot.id,
                starts=slot.starts,
                wall=record.wall,
            )
        return BookingAnswer(booking_id=booking_id)

    def feedback(self, request: FeedbackRequest) -> FeedbackAnswer:
        """Record feedback, signed by the identified rider or anonymous; signed earns the ``feedback`` rule daily."""
        rider_id = self._rider() if request.signed else None
        feedback_id = new_id()
        day = self.today()
        rule = None
        if rider_id is not None and not ledger.earned_today(self.store.store.db, rider_id, "feedback", day):
            # Once a local day here, whatever the city's per_day: the hub applies that across stations.
            rule = earning_due(self.points_rules, "feedback", 0)
        given = FeedbackGiven(
            feedback_id=feedback_id, rating=request.rating, topic=request.topic, text=request.text, rider_id=rider_id
        )
        with self.store.transaction() as tx:
            tx.append(given)
            if rule is not None and rider_id is not None:
                entry_id = new_id()
                earned = PointsEarned(entry_id=entry_id, rider_id=rider_id, rule=rule.id, points=rule.points, day=day)
                record = tx.append(earned)
                ledger.add_entry(
                    tx,
                    entry_id=entry_id,
                    rider_id=rider_id,
                    kind=EntryKind.EARNED,
                    points=rule.points,
                    seq=record.seq,
                    wall=record.wall,
                    day=day,
                    rule=rule.id,
                )
        return FeedbackAnswer(
            feedback_id=feedback_id, signed=rider_id is not None, points_earned=rule.points if rule else 0
        )

    # --- staff ------------------------------------------------------------------------------------------

    def restock(self, bay: int, count: int, audit: Event | None = None) -> None:
        """Staff filled goods bay ``bay``: it holds ``count`` items now (``audit`` in the same transaction).

        Raises ``ValueError`` for a bay that is not a goods bay, or a negative count.
        """
        item_id = self.goods_bays.get(bay)
        if item_id is None:
            raise ValueError(f'bay {bay} is not a goods bay (set goods = "<item>" on it in [[hardware.bays]])')
        if count < 0:
            raise ValueError("a bay cannot hold fewer than 0 items")
        with self.store.transaction() as tx:
            ledger.set_stock(tx, bay, item_id, count, self.clock.wall())
            if audit is not None:
                tx.append(audit)
        log.info("goods bay %d (%s) restocked to %d", bay, item_id, count)

    # --- status -----------------------------------------------------------------------------------------

    def get_status(self) -> dict[str, Any]:
        """Goods stock per bay, the session, when the content's bundle was made, and warnings."""
        try:
            recorded = ledger.stock(self.store.store.db)
        except StoreError:
            recorded = {}
        goods: dict[str, dict[str, Any]] = {}
        warnings: list[str] = []
        offered = {item.id for item in self.catalogue}
        for bay, item_id in sorted(self.goods_bays.items()):
            count = recorded.get(bay, (item_id, 0))[1]
            goods[str(bay)] = {"item_id": item_id, "count": count}
            if count == 0:
                warnings.append(f"goods bay {bay} ({item_id}) is empty")
            if self.bundle_at is not None and item_id not in offered:
                warnings.append(f"goods bay {bay} holds {item_id!r}, which the city's catalogue does not offer")
        now = self.clock.monotonic()
        session = self.session
        return {
            "goods": goods,
            "session": None if session.state.value == "idle" else session.as_dict(now, self.policy.rider_session_s),
            "bundle_at": self.bundle_at.isoformat() if self.bundle_at else None,
            "warnings": warnings,
        }


def _current(announcement: Announcement, now: datetime) -> bool:
    if announcement.starts is not None and now < announcement.starts:
        return False
    return announcement.ends is None or now < announcement.ends
