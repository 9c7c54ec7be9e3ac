"""X-Request-ID / X-Correlation-ID and routing headers on every answer."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from litestar import Request, Response, get

from gateway.ocpi.envelope import ocpi_response
from tests.api.conftest import REGISTERED_TOKEN, token_header

if TYPE_CHECKING:
    from litestar.testing import TestClient


@get("/ocpi/2.2.1/cpo/routing")
async def routing_probe(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Echo what the edge parsed, so the test can see the routing headers are kept on the request."""
    routing = request.scope["state"]["routing"]
    return ocpi_response({"to": [routing.to_country_code, routing.to_party_id],
                          "from": [routing.from_country_code, routing.from_party_id]})


@pytest.fixture
def extra_routes() -> list[Any]:
    return [routing_probe]


def test_request_and_correlation_ids_are_echoed(client: TestClient[Any]) -> None:
    headers = {**token_header(REGISTERED_TOKEN), "X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
    response = client.get("/ocpi/versions", headers=headers)
    assert response.headers["x-request-id"] == "req-1"
    assert response.headers["x-correlation-id"] == "corr-1"


def test_ids_are_generated_when_missing(client: TestClient[Any]) -> None:
    response = client.get("/ocpi/versions", headers=token_header(REGISTERED_TOKEN))
    assert uuid.UUID(response.headers["x-request-id"])
    assert uuid.UUID(response.headers["x-correlation-id"])
    other = client.get("/ocpi/versions", headers=token_header(REGISTERED_TOKEN))
    assert other.headers["x-request-id"] != response.headers["x-request-id"]


def test_ids_on_errors_too(client: TestClient[Any]) -> None:
    response = client.get("/ocpi/versions", headers={"X-Request-ID": "req-err"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "req-err"


def test_routing_headers_parsed_and_swapped_in_answer(client: TestClient[Any]) -> None:
    headers = {
        **token_header(REGISTERED_TOKEN),
        "OCPI-to-country-code": "nl",
        "OCPI-to-party-id": "gwy",
        "OCPI-from-country-code": "DE",
        "OCPI-from-party-id": "EMS",
    }
    response = client.get("/ocpi/2.2.1/cpo/routing", headers=headers)
    assert response.json()["data"] == {"to": ["NL", "GWY"], "from": ["DE", "EMS"]}
    assert response.headers["ocpi-to-country-code"] == "DE"
    assert response.headers["ocpi-to-party-id"] == "EMS"
    assert response.headers["ocpi-from-country-code"] == "NL"
    assert response.headers["ocpi-from-party-id"] == "GWY"


def test_configuration_modules_answer_without_routing_headers(client: TestClient[Any]) -> None:
    headers = {**token_header(REGISTERED_TOKEN), "OCPI-to-country-code": "NL", "OCPI-from-country-code": "DE"}
    response = client.get("/ocpi/versions", headers=headers)
    assert "ocpi-to-country-code" not in response.headers
