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
from typing import Any

from kiosk.api.rider import RiderApi, RiderConflict, RiderNotFound
from kiosk.api.rider_models import (
    BookingAnswer,
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
from kiosk.core.clock import Clock
from kiosk.core.config import Config, PolicyConfig
from kiosk.core.errors import StoreError
from kiosk.core.events import Event
from kiosk.core.ids import new_id
from kiosk.core.rider_events import (
    BookingRequested,
    FeedbackGiven,
    PointsSpent,
    ServiceViewed,
)
from kiosk.core.ridercode import RiderCode
from kiosk.devices.base import BayState, DoorState
from kiosk.flows import rider_ledger
from kiosk.flows.cabinet import CabinetComponent
from kiosk.flows.rider_content import CityContent
from kiosk.flows.rider_goods import GoodsBays
from kiosk.station.points import (
    KnownBalance,
    SpendOutcome,
    code_balance,
    decide_spend,
    earning_due,
    newest_balance,
    offline_cap_left,
    shown_balance,
)
from kiosk.station.rider_session import RiderSession
from kiosk.store import bookings, ledger
from kiosk.store.component import StoreComponent
from kiosk.sync.protocol import Bundle, SpendAnswer, SpendRequest

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
        items = {b.number: b.goods for b in config.hardware.bays if b.goods is not None}
        self.goods = GoodsBays(items, store=store, cabinet=cabinet, clock=clock)
        self.session = RiderSession()
        self.city = CityContent()
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
        self.city = CityContent.from_bundle(bundle)
        self._take_bookings(bundle)

    def _take_bookings(self, bundle: Bundle) -> None:
        if not bundle.bookings:
            self._bookings_waiting = None
            return
        try:
            with self.store.transaction() as tx:
                changed = rider_ledger.update_bookings(tx, list(bundle.bookings), self.clock.wall())
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
        return bay in self.goods

    def goods_door(self, state: BayState) -> None:
        """A goods bay's door changed: seen open after its unlock, or shut by the rider who took the item."""
        self.goods.door_changed(state.bay, state.door)
        if state.door is DoorState.CLOSED and state.bay in self._open_goods:
            self._open_goods.discard(state.bay)
            now = self.clock.monotonic()
            self.session = self.session.touch(now)
            current = self.screen.current
            if current.name == "points.take_item" and current.params.get("bay") == state.bay:
                # Item taken, door shut: back to the rider's own screen (their balance, what else they can do).
                rider_id = self.session.rider_id
                if rider_id is None:
                    self.screen.show("idle", {}, mono=now)
                else:
                    self.screen.show("rider", {"rider_id": rider_id, "purpose": self.session.purpose}, mono=now)

    def code_accepted(self, code: RiderCode, *, can_swap: bool, identifying: bool = False) -> None:
        """The rider's code was accepted (and its nonce recorded): open a session, credit the day's check-in.

        ``code`` is the verified code as parsed at the scan (never parsed again here). ``identifying``: the
        rider scanned because the screen asked; show them their part of the screen. A swap or the entry also
        opens a session (so the rider can look at their points afterwards), but leaves the screen to that flow.
        """
        rider_id, nonce, points, issued_at, covers = (
            code.rider_id,
            code.nonce_hex,
            code.points,
            code.issued_at,
            code.covers,
        )
        now = self.clock.monotonic()
        if points is not None:  # ``covers``: which of this station's moves the snapshot holds (RK2 codes)
            self._codes[rider_id] = code_balance(points, issued_at, covers, self.store.station_id)
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
        if ledger.checked_in(self.store.store, rider_id, day):
            return
        rule = earning_due(self.city.points_rules, "checkin", 0)
        if rule is None:
            return
        with self.store.transaction() as tx:
            rider_ledger.record_check_in(tx, rider_id, rule.id, rule.points, day)
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
        return self.city.for_screen(self.goods.in_stock(), self.clock.wall())

    def service_viewed(self, service_id: str, language: str) -> None:
        """Record ``service.viewed`` (the city's service demand figure)."""
        service = self.city.service(service_id)
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
        return newest_balance(self.city.balance(rider_id), self._codes.get(rider_id))

    def _corrections(self, rider_id: str) -> list[RiderCorrection]:
        """Corrections not shown before, kept for the whole session once shown."""
        fresh = self.city.corrections(rider_id)
        known = {c.entry_id for c in self._session_corrections}
        fresh = [c for c in fresh if c.entry_id not in known]
        if fresh:
            seen = ledger.shown_corrections(self.store.store, [c.entry_id for c in fresh])
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
        kept = self.store.store
        entries = rider_ledger.ledger_entries(kept, self.store.station_id, rider_id)
        known = self._known(rider_id)
        balance, pending = shown_balance(known, entries)
        return RiderView(
            rider_id=rider_id,
            purpose=self.session.purpose,  # one of PURPOSES, checked at identify
            balance=balance,
            balance_as_of=known.as_of if known is not None else None,
            pending=pending,
            offline_cap_left=offline_cap_left(entries, self.policy.offline_spend_cap_points),
            checked_in_today=ledger.checked_in(kept, rider_id, self.today()),
            corrections=self._corrections(rider_id),
            bookings=[RiderBooking.model_validate(b) for b in bookings.of_rider(kept, rider_id)],
            expires_in_s=self.session.expires_in(self.clock.monotonic(), self.policy.rider_session_s),
        )

    def _refusal(self, reason: str, balance: int | None) -> RedeemAnswer:
        zh, en = rider_ledger.REFUSAL_MESSAGES[reason]
        return RedeemAnswer(ok=False, reason=reason, balance=balance, message_zh=zh, message_en=en)

    async def redeem(self, item_id: str) -> RedeemAnswer:
        """Spend the identified rider's points on ``item_id`` and open its bay, or say why not."""
        async with self._spending:  # one spend at a time: two must not both take the last item
            rider_id = self._rider()
            kept = self.store.store
            known = self._known(rider_id)
            balance, _ = shown_balance(known, rider_ledger.ledger_entries(kept, self.store.station_id, rider_id))
            item = self.city.item(item_id)
            if item is None:
                return self._refusal("unknown_item", balance)
            bay = self.goods.bay_for(item.id)
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
            entries = rider_ledger.ledger_entries(kept, self.store.station_id, rider_id)
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
            spent = PointsSpent(
                entry_id=entry_id, rider_id=rider_id, item_id=item.id, points=item.points, bay=bay, confirmed=confirmed
            )
            if await self.goods.hand_out(spent, self.today(), self.policy.unlock_confirm_s) is not None:
                after, _ = shown_balance(known, rider_ledger.ledger_entries(kept, self.store.station_id, rider_id))
                return self._refusal("bay_fault", after)
            self._open_goods.add(bay)
            after, _ = shown_balance(known, rider_ledger.ledger_entries(kept, self.store.station_id, rider_id))
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

    # --- bookings and feedback -------------------------------------------------------------------------

    def book(self, service_id: str, slot_id: str) -> BookingAnswer:
        """Ask for a slot of a bookable service for the identified rider (queued for the hub)."""
        rider_id = self._rider()
        service = self.city.service(service_id)
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
            bookings.add(
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
        if rider_id is not None and not ledger.earned_today(self.store.store, rider_id, "feedback", day):
            # Once a local day here, whatever the city's per_day: the hub applies that across stations.
            rule = earning_due(self.city.points_rules, "feedback", 0)
        given = FeedbackGiven(
            feedback_id=feedback_id, rating=request.rating, topic=request.topic, text=request.text, rider_id=rider_id
        )
        with self.store.transaction() as tx:
            tx.append(given)
            if rule is not None and rider_id is not None:
                rider_ledger.record_earning(tx, rider_id, rule.id, rule.points, day)
        return FeedbackAnswer(
            feedback_id=feedback_id, signed=rider_id is not None, points_earned=rule.points if rule else 0
        )

    # --- staff ------------------------------------------------------------------------------------------

    def restock(self, bay: int, count: int, audit: Event | None = None) -> None:
        """Staff filled goods bay ``bay``: it holds ``count`` items now (``audit`` in the same transaction).

        Raises ``ValueError`` for a bay that is not a goods bay, or a negative count.
        """
        self.goods.restock(bay, count, audit)

    # --- status -----------------------------------------------------------------------------------------

    def get_status(self) -> dict[str, Any]:
        """Goods stock per bay, the session, when the content's bundle was made, and warnings."""
        goods, warnings = self.goods.status({item.id for item in self.city.catalogue}, self.city.bundle_at)
        session = self.session
        now = self.clock.monotonic()
        return {
            "goods": goods,
            "session": None if session.state.value == "idle" else session.as_dict(now, self.policy.rider_session_s),
            "bundle_at": self.city.bundle_at.isoformat() if self.city.bundle_at else None,
            "warnings": warnings,
        }
