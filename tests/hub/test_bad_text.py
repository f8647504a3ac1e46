"""Text the hub cannot store (NUL, lone surrogates) is a clear 422 on both engines, never a 500."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import requests

from hub.server import HubServer
from hub.storage import Storage
from hub.text_guard import json_problem, urlencoded_problem
from tests.hub.admin_support import OPERATOR, PASSWORD, City, login
from tests.hub.support import batch_body, record


@pytest.fixture
def token(storage: Storage) -> str:
    """The token of station st-a."""
    return storage.add_station("st-a", name="甲", name_en="A")


def post_raw(hub: HubServer, token: str, body: bytes) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    return requests.post(f"{hub.url}/v1/stations/st-a/events", data=gzip.compress(body), headers=headers, timeout=30)


def batch_with(payload_text: str) -> bytes:
    """A batch whose one event's payload holds ``payload_text`` verbatim inside a JSON string."""
    body = batch_body("st-a", [record("st-a", 1, payload={"note": "PLACEHOLDER"})])
    return body.replace(b"PLACEHOLDER", payload_text.encode())


@pytest.mark.parametrize(
    ("text", "words"),
    [("a\\u0000b", "NUL"), ("a\\ud800b", "surrogate"), ("\\udc00", "surrogate"), ("\\ud800\\u0041", "surrogate")],
)
def test_an_event_field_with_bad_text_is_a_422_and_nothing_is_stored(
    hub: HubServer, token: str, storage: Storage, text: str, words: str
) -> None:
    answer = post_raw(hub, token, batch_with(text))
    assert answer.status_code == 422
    assert words in answer.json()["error"]
    assert storage.event_count("st-a") == 0


def test_lone_surrogate_bytes_in_a_body_are_a_422(hub: HubServer, token: str, storage: Storage) -> None:
    body = batch_body("st-a", [record("st-a", 1, payload={"note": "PLACEHOLDER"})])
    answer = post_raw(hub, token, body.replace(b"PLACEHOLDER", b"\xed\xa0\x80"))
    assert answer.status_code == 422
    assert "UTF-8" in answer.json()["error"]


@pytest.mark.parametrize("text", ["\\ud83d\\ude00", "\\\\u0000", "\\\\\\ud83d\\ude00", "\\u4e2d\\u6587"])
def test_good_text_written_with_escapes_is_stored(hub: HubServer, token: str, storage: Storage, text: str) -> None:
    answer = post_raw(hub, token, batch_with(text))
    assert answer.status_code == 200
    assert storage.events("st-a")[0].record.payload["note"] == json.loads(f'"{text}"')


@pytest.mark.parametrize(
    "path",
    [
        "/admin/riders?rider=R%00-1",
        "/admin/bookings?station=st-a%00",
        "/admin/riders?rider=%ED%A0%80",
        "/fleet?days=7&x=%00",
        "/v1/health?q=%ED%B0%80",
        "/admin/bookings/b%00x",
    ],
)
def test_a_query_parameter_or_address_with_bad_text_is_a_422(hub: HubServer, path: str) -> None:
    answer = requests.get(f"{hub.url}{path}", timeout=10)
    assert answer.status_code == 422
    assert "invalid request" in answer.json()["error"]


def test_a_signed_in_operators_query_with_a_nul_is_a_422_not_a_database_error(hub: HubServer, storage: Storage) -> None:
    storage.set_operator(OPERATOR, PASSWORD)
    assert City(hub.url, storage, login(hub.url)).get("/admin/riders?rider=R-1").status_code == 200
    answer = City(hub.url, storage, login(hub.url)).get("/admin/riders?rider=R%00-1")
    assert answer.status_code == 422


@pytest.mark.parametrize("field", ["reason=a%00b", "reason=%ED%A0%80", "rider=R-1%00"])
def test_a_form_field_with_bad_text_is_a_422(hub: HubServer, field: str) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = requests.post(f"{hub.url}/admin/riders/credit", data=f"points=5&{field}", headers=headers, timeout=10)
    assert answer.status_code == 422


def test_a_json_body_with_a_nul_is_a_422_on_any_endpoint(hub: HubServer, token: str) -> None:
    body: dict[str, Any] = {"station_id": "st-a", "entry_id": "spend-00001", "rider_id": "r\u0000", "item_id": "w"}
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/points/spend",
        data=json.dumps({**body, "points": 1}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 422


def test_the_json_check_tells_escaped_backslashes_from_escapes() -> None:
    assert json_problem(b'{"a": "\\\\u0000"}') is None  # the six characters \u0000, not a NUL
    assert json_problem(b'{"a": "\\\\\\u0000"}') is not None  # a backslash, then a NUL
    assert json_problem(b'{"a": "\\ud800", "b": "\\udc00"}') is not None  # two halves apart are not a pair
    assert json_problem(b'{"a": "\\uD83D\\uDE00"}') is None


def test_the_urlencoded_check_undoes_plus_and_percent() -> None:
    assert urlencoded_problem(b"a=1+2&b=%E4%B8%AD") is None
    assert urlencoded_problem(b"a=%00") is not None
