"""A safety alarm reaches the hub at once, in its own request, through a proxy that loses its first answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import requests

from hub.fleet import gather
from hub.fleet_html import render_fleet
from hub.server import HubServer
from hub.storage import Storage
from tests.support import LastingSimCabinet, RunningStation, sim_config, wait_until
from tests.sync.proxy import Fault, FaultProxy
from tests.sync.support import STATION, sync_config

WAIT = 15.0


def test_an_alarm_is_retried_until_the_hub_has_it_and_tops_the_fleet_view(
    tmp_path: Path, hub: HubServer, hub_storage: Storage, proxy: FaultProxy, token_file: Path
) -> None:
    alarm_tries: list[int] = []

    def plan(n: int, method: str, path: str) -> Fault:
        if path.endswith("/alarms"):
            alarm_tries.append(n)
            return Fault.LOST_RESPONSE if len(alarm_tries) <= 2 else Fault.PASS
        if path.endswith("/events"):
            return Fault.SERVER_ERROR  # the batches cannot get through: the alarm must not need them
        return Fault.PASS

    proxy.plan = plan
    config = sim_config(tmp_path)
    config = config.model_copy(
        update={
            "station": config.station.model_copy(update={"id": STATION}),
            "sync": sync_config(proxy.url, token_file, backoff_cap_s=5.0),
        }
    )
    sim = LastingSimCabinet("kerong", config.hardware, tmp_path / "devices", seed=1)
    running = RunningStation(config, sim, tmp_path / "codes")
    try:
        wait_until(running.tech.batteries_read, WAIT, "every battery read")
        running.tech.sim("/faults", fault="battery_hot", bay=4, on=True)

        sync = lambda: running.tech.status()["components"]["sync"]  # noqa: E731
        wait_until(lambda: sync()["alarms_sent"] == 1 and sync()["alarms_waiting"] == 0, WAIT, "acknowledged")
        assert len(alarm_tries) == 3  # two answers lost, then acknowledged
        alarms = hub_storage.recent_alarms(hub_storage.now() - timedelta(hours=1))
        [alarm] = [a for a in alarms if a.bay == 4]
        assert (alarm.station_id, alarm.level, alarm.before) == (STATION, "alarm", "normal")
        assert "alarm_temperature" in alarm.reasons
        assert alarm.temperature_c == 62.0
        with hub_storage.db.transaction(write=False) as tx:
            assert tx.one("SELECT COUNT(*) FROM alarms")[0] == 1  # type: ignore[index]  # stored once
            assert tx.one("SELECT COUNT(*) FROM events")[0] == 0  # type: ignore[index]  # no batch got through

        page = render_fleet(gather(hub_storage))
        assert page.index('id="alarms"') < page.index("<table>")
        assert f"{STATION}</td><td>bay 4</td>" in page
    finally:
        running.close()
        sim.end()


def test_an_alarm_from_another_station_or_of_another_type_is_refused(
    hub: HubServer, hub_storage: Storage, token_file: Path
) -> None:
    token = token_file.read_text().strip()
    event = {
        "id": "0193a1b2-0000-7000-8000-000000000001",
        "station_id": STATION,
        "seq": 1,
        "type": "points.earned",
        "payload": {"bay": 1, "before": "normal", "after": "fire", "reasons": []},
        "boot_id": "b",
        "mono": 1.0,
        "wall": "2026-12-02T08:00:00Z",
        "wall_synced": True,
    }
    url = f"http://{hub.host}:{hub.port}/v1/stations/{STATION}/alarms"
    headers = {"Authorization": f"Bearer {token}"}
    wrong_type = requests.post(url, json={"station_id": STATION, "event": event}, headers=headers, timeout=5)
    assert wrong_type.status_code == 422
    bad_level = {**event, "type": "safety.level_changed", "payload": {**event["payload"], "after": "meltdown"}}
    assert (
        requests.post(url, json={"station_id": STATION, "event": bad_level}, headers=headers, timeout=5).status_code
        == 422
    )
    other = {**event, "type": "safety.level_changed", "station_id": "st-other"}
    assert (
        requests.post(url, json={"station_id": STATION, "event": other}, headers=headers, timeout=5).status_code == 422
    )
    assert requests.post(url, json={"station_id": STATION, "event": event}, timeout=5).status_code == 401
    assert hub_storage.recent_alarms(hub_storage.now() - timedelta(days=1)) == []
