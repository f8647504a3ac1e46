"""POST /v1/codes: the rider app gets codes that stations verify with the bundle's keys."""

from __future__ import annotations

import pytest
import requests

from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.ridercode import Scope, parse_code, public_key_from_b64, signature_valid


@pytest.fixture
def api_key(storage: Storage) -> str:
    """An API key of the rider app."""
    return storage.add_api_key("rider-app")


def issue(hub: HubServer, key: str, **body: object) -> requests.Response:
    return requests.post(
        f"{hub.url}/v1/codes", json={"rider_id": "r-42", **body}, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


def test_an_issued_code_verifies_with_the_key_stations_get(hub: HubServer, api_key: str, storage: Storage) -> None:
    answer = issue(hub, api_key, scope="swap", ttl_s=120)
    assert answer.status_code == 200
    signed = parse_code(answer.json()["code"])
    key = next(k for k in storage.valid_keys() if k.kid == signed.code.kid)
    assert signature_valid(signed, public_key_from_b64(key.entry().public_key))
    assert signed.code.rider_id == "r-42"
    assert signed.code.scopes == Scope.SWAP
    assert (signed.code.expires_at - signed.code.issued_at).total_seconds() == 120


def test_codes_need_an_api_key(hub: HubServer, api_key: str) -> None:
    assert issue(hub, "not-a-key").status_code == 401


def test_a_station_token_is_not_an_api_key(hub: HubServer, api_key: str, storage: Storage) -> None:
    token = storage.add_station("st-a", name="甲", name_en="A")
    assert issue(hub, token).status_code == 401


def test_no_code_is_issued_for_a_revoked_rider(hub: HubServer, api_key: str, storage: Storage) -> None:
    storage.revoke_rider("r-42")
    answer = issue(hub, api_key)
    assert answer.status_code == 409
    assert "revoked" in answer.json()["error"]


def test_a_bad_code_request_is_422(hub: HubServer, api_key: str) -> None:
    assert issue(hub, api_key, ttl_s=10**9).status_code == 422
