"""kiosk-core itself: build the components from config, run until told to stop, shut down safely."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kiosk import __version__
from kiosk.api.context import ApiContext
from kiosk.api.screen import ScreenFeed
from kiosk.api.server import ApiServer
from kiosk.api.stream import EventBus
from kiosk.api.users import UserStore
from kiosk.app.runtime import Runtime
from kiosk.core.clock import Clock
from kiosk.core.component import Component
from kiosk.core.config import Config
from kiosk.core.errors import ConfigError, KioskError
from kiosk.core.events import StationStarted, StationStopped
from kiosk.core.ids import boot_id as read_boot_id
from kiosk.core.secrets import ensure_secret_file, read_secret_file
from kiosk.devices.build import build_devices
from kiosk.devices.sim.cabinet import SimCabinet
from kiosk.flows.battery_report import BatteryReporter
from kiosk.flows.bundle import bundle_check
from kiosk.flows.cabinet import CabinetComponent
from kiosk.flows.controller import StationController
from kiosk.flows.rider_desk import RiderDesk
from kiosk.flows.safety import SafetySupervisor
from kiosk.flows.timekeeper import TimeKeeper
from kiosk.ops import systemd
from kiosk.ops.ui_service import restart_ui
from kiosk.sim.codes import SimCodeIssuer
from kiosk.sim.simulator import SimulatorComponent
from kiosk.store.component import StoreComponent
from kiosk.sync.protocol import Bundle, Heartbeat
from kiosk.sync.relay import SyncRelay

log = logging.getLogger(__name__)


@dataclass
class StationInfo:
    """What the station printed at start: where to look."""

    url: str
    token_file: str
    database: str


class Station:
    """One kiosk-core process: its components, runtime and shared event bus."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        *,
        boot_id: str | None = None,
        sim: SimCabinet | None = None,
        sim_codes: SimCodeIssuer | None = None,
    ) -> None:
        if sim is not None:
            # The drivers open the simulator's ptys and pins, through the production code paths.
            config = config.model_copy(update={"hardware": sim.hardware_config()})
        if sim_codes is not None:
            codes = config.codes.model_copy(update={"keyset_file": sim_codes.keyset_file})
            config = config.model_copy(update={"codes": codes})
        self.config = config
        self.clock = clock
        self.boot_id = boot_id or read_boot_id()
        self.bus = EventBus()
        self.store = StoreComponent(
            config.database_path(),
            station_id=config.station.id,
            clock=clock,
            boot_id=self.boot_id,
            retention=timedelta(days=config.policy.event_retention_days),
            on_commit=self.bus.publish,
        )
        self.time = TimeKeeper(clock=clock, store=self.store, boot_id=self.boot_id)
        pin_factory = sim.pin_factory if sim is not None else None
        self.cabinet = CabinetComponent(
            config.hardware,
            clock=clock,
            build=lambda on_scan: build_devices(config.hardware, clock=clock, on_scan=on_scan, pin_factory=pin_factory),
            record=self.store.append,
        )
        self.safety = SafetySupervisor(
            config.safety,
            config.hardware.safety,
            clock=clock,
            cabinet=self.cabinet,
            battery_bays=frozenset(b.number for b in config.hardware.bays if b.slave is not None and b.goods is None),
            record=self.store.append,
            urgent=lambda event: self.sync.urgent(event),
            pin_factory=pin_factory,
            chemistry_of=self.chemistry_of,
        )
        self.batteries = BatteryReporter(
            config.batteries,
            clock=clock,
            cabinet=self.cabinet,
            battery_bays=self.safety.battery_bays,
            record=self.store.append,
        )
        self.screen = ScreenFeed()
        self.rider = RiderDesk(
            config,
            clock=clock,
            store=self.store,
            cabinet=self.cabinet,
            screen=self.screen,
            spend=lambda request, timeout_s: self.sync.spend(request, timeout_s),
        )
        self.controller = StationController(
            config,
            clock=clock,
            store=self.store,
            cabinet=self.cabinet,
            screen=self.screen,
            boot_id=self.boot_id,
            desk=self.rider,
            time=self.time.code_time,
        )
        self.rider.start_swap = self.controller.start_rider_swap
        self.controller.charger_holds = self.safety.hold_chargers
        self.sync = SyncRelay(
            config.sync,
            station_id=config.station.id,
            store=lambda: self.store.store,
            clock=clock,
            heartbeat=self.heartbeat,
            on_bundle=bundle_check(self.controller, config.policy, self.rider),
            on_hub_time=self.time.hub_time,
        )
        token = ensure_secret_file(config.api.ui_token_file)
        self.api = ApiServer(
            ApiContext(
                station_id=config.station.id,
                version=__version__,
                token=token,
                bus=self.bus,
                status=self.status,
                events_since=self.store.events_since,
                sim=sim,
                screen=self.screen,
                issue_code=sim_codes.issue if sim_codes is not None else None,
                sync_now=self.sync_now,
                request_reopen=self.controller.request_reopen,
                users=UserStore(config.api.users_file),
                metrics_key=read_secret_file(config.api.metrics_key_file) if config.api.metrics_key_file else None,
                record=self.store.append,
                unlock_bay=lambda bay: self.cabinet.open_for_staff(bay, config.policy.unlock_confirm_s),
                reset_fault=self.cabinet.reset_fault,
                reset_safety=lambda by: self.safety.reset(None, by=by),
                set_out_of_service=self.controller.set_out_of_service,
                swap_outcomes=self.controller.swap_outcomes,
                trigger_scanner=self.cabinet.trigger_scanner,
                restock=self.rider.restock,
                rider=self.rider.api(),
                restart_ui=None if sim is not None else restart_ui,
                data_dir=config.station.data_dir,
                monotonic=clock.monotonic,
                secure_cookies=config.api.tls_cert_file is not None,
            ),
            config.api.host,
            config.api.port,
            tls=(config.api.tls_cert_file, config.api.tls_key_file) if config.api.tls_cert_file else None,
        )
        self.simulator = SimulatorComponent(sim) if sim is not None else None
        parts: list[Component] = [self.store, self.time]
        if self.simulator is not None:
            parts.append(self.simulator)
        parts += [self.cabinet, self.safety, self.batteries, self.controller, self.rider, self.sync, self.api]
        self.runtime = Runtime(parts)
        self._watchdog: asyncio.Task[None] | None = None

    def info(self) -> StationInfo:
        """Where the API is and where the token and database live."""
        return StationInfo(
            url=self.api.url, token_file=str(self.config.api.ui_token_file), database=str(self.config.database_path())
        )

    def status(self) -> dict[str, Any]:
        """The full status served at ``/api/status``."""
        overall = self.runtime.get_status()
        store = overall["components"].get("store", {})
        store_figures = {k: v for k, v in store.items() if k not in ("state", "optional", "warnings")}
        return {
            "station_id": self.config.station.id,
            "station_name": self.config.station.name,
            "station_name_en": self.config.station.name_en,
            "timezone": self.config.station.timezone,
            "version": __version__,
            "uptime_s": round(self.runtime.uptime_s(), 3),
            "wall_synced": self.clock.wall_synced(),
            "boot_id": self.boot_id,
            "components": overall["components"],
            "warnings": overall["warnings"] + list(self.config.deprecations),
            "store": store_figures,
            "sync": {k: v for k, v in overall["components"].get("sync", {}).items() if k not in ("state", "optional")},
        }

    def heartbeat(self) -> Heartbeat:
        """The status snapshot the hub receives."""
        status = self.status()
        store = status["store"]
        oldest = store.get("oldest_unsynced_wall")
        return Heartbeat(
            station_id=self.config.station.id,
            version=__version__,
            boot_id=self.boot_id,
            mono=self.clock.monotonic(),
            wall=self.clock.wall(),
            wall_synced=self.clock.wall_synced(),
            uptime_s=status["uptime_s"],
            backlog=int(store.get("unsynced_count") or 0),
            oldest_unsynced=datetime.fromisoformat(oldest) if oldest else None,
            warnings=status["warnings"],
            charged_batteries=self.controller.charged_batteries(),
            status=json.loads(json.dumps(status["components"], default=str)),
        )

    def chemistry_of(self, pack: str | None) -> str | None:
        """A pack's chemistry as the hub's battery registry (in the controller, from the bundle) names it."""
        registry = self.controller.registry
        return registry.look_up(pack).chemistry if registry is not None else None

    def apply_bundle(self, bundle: Bundle) -> None:
        """Check, keep and put into effect a city bundle handed in locally, as the relay does with a fetched one.

        For the simulator's demo city and tests; the station must be started (its database open). Raises
        ``ConfigError`` saying why when the bundle is refused (the one in effect stays).
        """
        try:
            self.sync.adopt_bundle(bundle)
        except (ValueError, KioskError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"the bundle was refused: {exc}") from exc

    async def sync_now(self) -> dict[str, Any]:
        """Run a sync round at once and wait (bounded) for it; the sync status after it."""
        if self.sync.client is None:
            reason = "sync with the hub is not enabled ([sync] enabled = false or no hub_url in the config)"
            return {"ran": False, "reason": reason, **self.sync.get_status()}
        self.sync.sync_now()
        ran = await self.sync.wait_round(self.config.sync.timeout_s * 4 + 5)
        return {"ran": ran, **self.sync.get_status()}

    async def start(self) -> None:
        """Start every component, record the start, and tell systemd we are ready."""
        await self.runtime.start()
        self.store.append(StationStarted(version=__version__, warnings=self.runtime.warnings()))
        systemd.notify("READY=1")
        interval = systemd.watchdog_interval()
        if interval:
            self._watchdog = asyncio.create_task(self._ping_watchdog(interval), name="watchdog")

    async def _ping_watchdog(self, interval: float) -> None:
        # Pinged from the loop itself: if the loop is stuck, the pings stop and systemd restarts us.
        while True:
            systemd.notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    async def stop(self, reason: str) -> None:
        """Record the stop, then close every component in reverse order (outputs to safe state)."""
        systemd.notify("STOPPING=1")
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        try:
            self.store.append(StationStopped(reason=reason))
        except Exception as exc:  # still close everything
            log.error("could not record the stop: %s", exc)
        await self.runtime.close()
