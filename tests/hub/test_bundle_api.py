"""GET /v1/stations/{id}/bundle and POST heartbeat: keys, revocations, content, nearby, ETag."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from hub.content import read_content_file
from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.clock import FakeClock
from tests.hub.support import heartbeat


@pytest.fixture
def token(storage: Storage) -> str:
    """Station st-a in the city centre; st-b 1.1 km east of it, st-far 40 km away, st-nowhere unplaced."""
    storage.add_station("st-b", name="乙", name_en="B", latitude=31.23, longitude=121.4815)
    storage.add_station("st-far", name="远", name_en="Far", latitude=31.59, longitude=121.47)
    storage.add_station("st-nowhere", name="无", name_en="Nowhere")
    return storage.add_station("st-a", name="甲", name_en="A", latitude=31.23, longitude=121.47)


def get_bundle(hub: HubServer, token: str, etag: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    return requests.get(f"{hub.url}/v1/stations/st-a/bundle", headers=headers, timeout=10)


def beat(hub: HubServer, storage: Storage, station: str, **kw: object) -> requests.Response:
    token = storage.new_station_token(station)
    return requests.post(
        f"{hub.url}/v1/stations/{station}/heartbeat",
        json=heartbeat(station, **kw),  # type: ignore[arg-type]
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_the_bundle_carries_the_valid_signing_keys(hub: HubServer, token: str, storage: Storage) -> None:
    key = storage.signing_key()
    keys = get_bundle(hub, token).json()["keys"]
    assert [(k["kid"], k["public_key"]) for k in keys] == [(key.kid, key.entry().public_key)]


def test_an_unchanged_bundle_is_304_with_its_etag(hub: HubServer, token: str) -> None:
    first = get_bundle(hub, token)
    again = get_bundle(hub, token, first.headers["ETag"])
    assert again.status_code == 304
    assert again.headers["ETag"] == first.headers["ETag"]


def test_a_revocation_changes_the_etag_and_is_in_the_bundle(hub: HubServer, token: str, storage: Storage) -> None:
    first = get_bundle(hub, token)
    storage.revoke_rider("rider-7", "lost phone")
    after = get_bundle(hub, token, first.headers["ETag"])
    assert after.status_code == 200
    assert after.json()["revoked_riders"] == ["rider-7"]


def test_after_a_rotation_both_keys_are_trusted_until_the_overlap_ends(
    hub: HubServer, token: str, storage: Storage, hub_clock: FakeClock
) -> None:
    old = storage.signing_key()
    new = storage.rotate_key(timedelta(days=2))
    assert [k["kid"] for k in get_bundle(hub, token).json()["keys"]] == [old.kid, new.kid]
    hub_clock.advance(timedelta(days=2, seconds=1).total_seconds())
    assert [k["kid"] for k in get_bundle(hub, token).json()["keys"]] == [new.kid]


def test_new_codes_are_signed_with_the_newest_key(storage: Storage) -> None:
    storage.signing_key()
    newest = storage.rotate_key(timedelta(days=1))
    assert storage.signing_key().kid == newest.kid


def test_loaded_content_is_in_the_bundle(hub: HubServer, token: str, storage: Storage, tmp_path: Path) -> None:
    path = tmp_path / "content.json"
    path.write_text(
        json.dumps(
            {
                "services": [{"id": "law", "category": "legal_aid", "title_zh": "法律援助", "title_en": "Legal aid"}],
                "announcements": [{"id": "a1", "text_zh": "修路", "text_en": "Road works"}],
                "config_overrides": {"policy.max_swaps_per_day": 4},
                "station_overrides": {"st-a": {"policy.max_swaps_per_day": 6}},
            }
        )
    )
    storage.load_content(read_content_file(path))
    bundle = get_bundle(hub, token).json()
    assert [s["id"] for s in bundle["services"]] == ["law"]
    assert [a["id"] for a in bundle["announcements"]] == ["a1"]
    assert bundle["config_overrides"] == {"policy.max_swaps_per_day": 6}


def test_a_heartbeat_is_kept_as_the_latest_status(hub: HubServer, token: str, storage: Storage) -> None:
    assert beat(hub, storage, "st-b", charged=2).status_code == 200
    assert beat(hub, storage, "st-b", charged=5, backlog=12).status_code == 200
    latest = storage.heartbeats()["st-b"].heartbeat
    assert (latest.charged_batteries, latest.backlog) == (5, 12)


def test_a_summary_heartbeat_keeps_the_last_full_status(storage: Storage, token: str) -> None:
    from kiosk.sync.protocol import Heartbeat

    full = Heartbeat.model_validate({**heartbeat("st-a"), "status": {"cabinet": {"kind": "kerong"}}})
    storage.record_heartbeat(full)
    storage.record_heartbeat(Heartbeat.model_validate({**heartbeat("st-a", backlog=4), "status": {}}))
    latest = storage.heartbeats()["st-a"].heartbeat
    assert latest.backlog == 4
    assert latest.status == {"cabinet": {"kind": "kerong"}}


def test_acknowledgements_are_gzipped_when_asked(hub: HubServer, storage: Storage, token: str) -> None:
    answer = requests.get(f"{hub.url}/openapi.json", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert answer.headers.get("Content-Encoding") == "gzip"


def test_a_heartbeat_naming_another_station_is_422(hub: HubServer, token: str) -> None:
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/heartbeat",
        json=heartbeat("st-b"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 422


def test_nearby_stations_are_listed_nearest_first_with_their_charged_batteries(
    hub: HubServer, token: str, storage: Storage
) -> None:
    beat(hub, storage, "st-far", charged=9)
    beat(hub, storage, "st-b", charged=4)
    beat(hub, storage, "st-nowhere", charged=1)
    nearby = get_bundle(hub, token).json()["nearby"]
    assert [(n["station_id"], n["charged_batteries"]) for n in nearby] == [("st-b", 4), ("st-far", 9)]
    assert 1000 < nearby[0]["distance_m"] < 1200


def test_the_bundle_needs_the_station_token(hub: HubServer, token: str) -> None:
    assert requests.get(f"{hub.url}/v1/stations/st-a/bundle", timeout=10).status_code == 401
