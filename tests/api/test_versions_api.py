"""Versions module over HTTP: version list, 2.2.1 details generated from the enabled modules."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.conftest import PENDING_TOKEN, REGISTERED_TOKEN, token_header

if TYPE_CHECKING:
    from litestar.testing import TestClient

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_versions_list_in_envelope(client: TestClient[Any]) -> None:
    response = client.get("/ocpi/versions", headers=token_header(REGISTERED_TOKEN))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"data", "status_code", "timestamp"}
    assert body["status_code"] == 1000
    assert TIMESTAMP.match(body["timestamp"])
    assert body["data"] == [{"version": "2.2.1", "url": "http://gateway.test/ocpi/2.2.1"}]


def test_version_details_lists_enabled_modules(client: TestClient[Any]) -> None:
    body = client.get("/ocpi/2.2.1", headers=token_header(REGISTERED_TOKEN)).json()
    assert body["status_code"] == 1000
    assert body["data"]["version"] == "2.2.1"
    endpoints = {(e["identifier"], e["role"]): e["url"] for e in body["data"]["endpoints"]}
    assert endpoints[("credentials", "SENDER")] == "http://gateway.test/ocpi/2.2.1/credentials"


def test_version_details_open_to_token_a(client: TestClient[Any]) -> None:
    assert client.get("/ocpi/versions", headers=token_header(PENDING_TOKEN)).json()["status_code"] == 1000
    assert client.get("/ocpi/2.2.1", headers=token_header(PENDING_TOKEN)).json()["status_code"] == 1000


def test_unknown_version_is_404(client: TestClient[Any]) -> None:
    response = client.get("/ocpi/2.0", headers=token_header(REGISTERED_TOKEN))
    assert response.status_code == 404
    assert response.json()["status_code"] == 2001


@pytest.mark.parametrize("path", ["/ocpi/2.2.1/", "/ocpi//2.2.1", "/ocpi/versions/"])
def test_trailing_and_doubled_slashes_route_without_redirect(client: TestClient[Any], path: str) -> None:
    response = client.get(path, headers=token_header(REGISTERED_TOKEN), follow_redirects=False)
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
