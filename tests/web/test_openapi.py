"""Core's OpenAPI schema at ``/api/openapi.json``: behind the UI token or a staff sign-in, listing the rider routes."""

from __future__ import annotations

import pytest
import requests

from tests.web.conftest import METRICS_KEY, WebStation, sign_in

RIDER_ROUTES = {
    ("get", "/api/screen"),
    ("get", "/api/content"),
    ("post", "/api/services/{service_id}/viewed"),
    ("post", "/api/rider/identify"),
    ("get", "/api/rider"),
    ("post", "/api/rider/end"),
    ("post", "/api/rider/swap"),
    ("post", "/api/rider/redeem"),
    ("post", "/api/rider/bookings"),
    ("post", "/api/feedback"),
}
"""The touchscreen's routes the README's table lists (method, path as OpenAPI spells it)."""


def operations(schema: dict[str, object]) -> set[tuple[str, str]]:
    """Every (method, path) the schema lists."""
    paths = schema["paths"]
    assert isinstance(paths, dict)
    return {(method, path) for path, ops in paths.items() for method in ops}


@pytest.mark.parametrize("header", [None, "Bearer not-the-token"])
def test_the_schema_is_refused_without_credentials(web: WebStation, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    answer = requests.get(f"{web.url}/api/openapi.json", headers=headers, timeout=5)
    assert answer.status_code == 401
    assert "paths" not in answer.text


def test_the_fleet_monitors_key_does_not_read_the_schema(web: WebStation) -> None:
    answer = requests.get(f"{web.url}/api/openapi.json", headers={"Authorization": f"Bearer {METRICS_KEY}"}, timeout=5)
    assert answer.status_code == 403


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
def test_no_public_schema_or_docs_page_is_served(web: WebStation, path: str) -> None:
    assert requests.get(f"{web.url}{path}", timeout=5).status_code in {401, 404}


def test_the_ui_token_reads_the_schema_with_the_rider_routes(web: WebStation) -> None:
    answer = web.tech.session.get(f"{web.url}/api/openapi.json", timeout=5)
    assert answer.status_code == 200
    schema = answer.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "kiosk-core local API"
    assert operations(schema) >= RIDER_ROUTES
    assert ("get", "/api/openapi.json") not in operations(schema)


def test_signed_in_staff_read_the_schema(web: WebStation) -> None:
    session, signed = sign_in(web.url)
    assert signed.status_code == 200
    answer = session.get(f"{web.url}/api/openapi.json", timeout=5)
    assert answer.status_code == 200
    assert operations(answer.json()) >= RIDER_ROUTES
