"""Generated requests against every endpoint: whatever comes in, the hub never answers 5xx.

schemathesis is not installed in this project's test environment, so this is the equivalent with
hypothesis: bodies that are arbitrary JSON, valid bodies with one field replaced by arbitrary JSON,
arbitrary path ids, tokens, encodings and ETags. Bounded: a few dozen examples per endpoint.
"""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.server import HubServer
from hub.storage import Storage
from tests.hub.support import batch_body, heartbeat, records

FUZZ = settings(
    max_examples=int(os.environ.get("HUB_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
header_text = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60)
"""What an HTTP client can put in a header at all (requests itself refuses control characters)."""
station_ids = st.sampled_from(["st-a", "st-b", "nope", "A", "-x", "st-a%2F..", "x" * 80]) | st.text(
    alphabet="abz0-_.%", min_size=1, max_size=12
)


@pytest.fixture
def token(storage: Storage) -> str:
    """The token of st-a (st-b exists too)."""
    storage.add_station("st-b", name="乙", name_en="B")
    return storage.add_station("st-a", name="甲", name_en="A")


@pytest.fixture
def api_key(storage: Storage) -> str:
    """A rider-app API key."""
    return storage.add_api_key("fuzz")


def mutate(base: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    return {**base, field: value}


def valid_batch() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(batch_body("st-a", records("st-a", [1, 2])))
    return body


@FUZZ
@given(
    station=station_ids,
    use_token=st.booleans(),
    body=json_values
    | st.builds(mutate, st.just(valid_batch()), st.sampled_from(["events", "station_id", "protocol"]), json_values),
    event_field=st.sampled_from(["id", "seq", "type", "payload", "boot_id", "mono", "wall", "wall_synced", "extra"]),
    event_value=json_values,
    compress=st.booleans(),
)
def test_posting_events_never_fails_with_5xx(
    hub: HubServer,
    token: str,
    station: str,
    use_token: bool,
    body: Any,
    event_field: str,
    event_value: Any,
    compress: bool,
) -> None:
    if (
        isinstance(body, dict)
        and isinstance(body.get("events"), list)
        and body["events"]
        and isinstance(body["events"][0], dict)
    ):
        body["events"][0] = {**body["events"][0], event_field: event_value}
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if use_token:
        headers["Authorization"] = f"Bearer {token}"
    if compress:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    answer = requests.post(f"{hub.url}/v1/stations/{station}/events", data=data, headers=headers, timeout=30)
    assert answer.status_code < 500, answer.text


@FUZZ
@given(field=st.sampled_from(sorted(heartbeat("st-a"))), value=json_values, station=station_ids)
def test_heartbeats_never_fail_with_5xx(hub: HubServer, token: str, field: str, value: Any, station: str) -> None:
    body = {**heartbeat("st-a"), field: value}
    answer = requests.post(
        f"{hub.url}/v1/stations/{station}/heartbeat",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code < 500, answer.text


@FUZZ
@given(etag=header_text, station=station_ids, auth=header_text)
def test_bundles_never_fail_with_5xx(hub: HubServer, token: str, etag: str, station: str, auth: str) -> None:
    headers = {"If-None-Match": etag, "Authorization": f"Bearer {token}"}
    assert requests.get(f"{hub.url}/v1/stations/{station}/bundle", headers=headers, timeout=30).status_code < 500
    headers["Authorization"] = auth
    assert requests.get(f"{hub.url}/v1/stations/{station}/bundle", headers=headers, timeout=30).status_code < 500


@FUZZ
@given(body=json_values | st.fixed_dictionaries({"rider_id": json_values, "scope": json_values, "ttl_s": json_values}))
def test_code_requests_never_fail_with_5xx(hub: HubServer, api_key: str, body: Any) -> None:
    key = api_key
    answer = requests.post(f"{hub.url}/v1/codes", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code < 500, answer.text


def test_the_openapi_document_lists_every_endpoint(hub: HubServer) -> None:
    paths = requests.get(f"{hub.url}/openapi.json", timeout=10).json()["paths"]
    assert {
        "/v1/stations/{station_id}/events",
        "/v1/stations/{station_id}/bundle",
        "/v1/stations/{station_id}/heartbeat",
        "/v1/codes",
        "/v1/health",
    } <= set(paths)
    schema = paths["/v1/stations/{station_id}/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/EventBatch")


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e308"])
def test_non_finite_monotonic_times_are_refused_and_huge_ones_stored(hub: HubServer, token: str, literal: str) -> None:
    events = records("st-a", [1, 2], synced=False) + records("st-a", [3])
    text = batch_body("st-a", events).decode().replace('"mono": 101.0', f'"mono": {literal}')
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events",
        data=text.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == (200 if literal == "1e308" else 422), answer.text


def test_nul_characters_in_event_text_are_422(hub: HubServer, token: str) -> None:
    body = valid_batch()
    body["events"][0]["boot_id"] = "boot\x00"
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.status_code == 422


def test_a_nul_in_an_operator_name_is_refused_quietly(hub: HubServer, storage: Storage) -> None:
    from tests.hub.admin_support import sign_in

    # the text guard refuses the NUL before any password is checked (422), never a database error (500)
    assert sign_in(hub.url, "o\x00ps", "x\x00")[1].status_code == 422


def test_a_seq_beyond_64_bits_is_422(hub: HubServer, token: str) -> None:
    body = valid_batch()
    body["events"][0]["seq"] = 2**64
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.status_code == 422
