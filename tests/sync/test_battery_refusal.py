"""The battery registry from the hub to a station and a refusal back: real hub on loopback, real drivers.

The operator loads the registry at the hub; the station fetches it in its bundle, refuses a retired pack a
rider returns (handed back, never charged), and its ``battery.refused`` event reaches the hub, which
lists the retired pack as seen in service. Both hub engines.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hub.batteries import Limits, PackRecord, due_for_retirement
from hub.server import HubServer
from hub.storage import Storage
from kiosk.devices.sim.batteries import RETIRED_ID
from tests.battery_support import WAIT, return_refused_pack
from tests.support import LastingSimCabinet, RunningStation, sim_config, wait_until
from tests.sync.support import STATION, sync_config


def test_a_retired_pack_is_refused_by_the_hubs_registry_and_the_hub_hears_of_it(
    tmp_path: Path, hub: HubServer, hub_storage: Storage, token_file: Path
) -> None:
    policy = {"min_minutes_between_swaps": 0, "insert_timeout_s": 60.0, "collect_timeout_s": 60.0}
    config = sim_config(tmp_path, policy=policy)
    config = config.model_copy(
        update={
            "station": config.station.model_copy(update={"id": STATION}),
            "sync": sync_config(f"http://{hub.host}:{hub.port}", token_file),
        }
    )
    sim = LastingSimCabinet("kerong", config.hardware, tmp_path / "devices", seed=1)
    running = RunningStation(config, sim, tmp_path / "codes")
    try:
        tech = running.tech
        wait_until(tech.batteries_read, WAIT, "every battery read")
        commissioned = date(2025, 1, 10)
        hub_storage.load_batteries(
            [
                PackRecord(r.battery_id, r.model, r.chemistry, commissioned, date(2026, 1, 5) if r.retired else None)
                for r in sim.registry_rows()
            ]
        )
        running.loop.run(running.station.sync_now())
        registry = lambda: tech.status()["components"]["station"]["battery_registry"]  # noqa: E731
        wait_until(lambda: registry()["received"], WAIT, "the hub's registry at the station")
        assert registry()["retired"] == 1

        done = return_refused_pack(tech, sim, "foreign_battery_retired")
        assert done.pulses == [done.bay, done.bay]
        assert done.writes_while_inside == []
        assert done.take_back["reason"] == "retired"

        running.loop.run(running.station.sync_now())

        def refused_at_hub() -> list[object]:
            with hub_storage.db.transaction(write=False) as tx:
                return tx.execute("SELECT payload FROM events WHERE type = 'battery.refused'")

        [row] = wait_until(refused_at_hub, WAIT, "battery.refused at the hub")
        assert RETIRED_ID in str(row)
        due = due_for_retirement(hub_storage.registry_records(), hub_storage.packs_seen(), Limits())
        [retired] = [d for d in due if d.battery_id == RETIRED_ID]
        assert "retired on 2026-01-05 but seen in service at st-sync" in retired.reasons[0]
    finally:
        running.close()
        sim.end()
