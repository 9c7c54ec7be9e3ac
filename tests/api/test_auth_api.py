"""Credentials-token authentication: base64, plain, wrong, missing, revoked, and token A's scope."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest
from litestar import Request, Response, get

from gateway.ocpi.envelope import ocpi_response
from tests.api.conftest import PENDING_TOKEN, REGISTERED_TOKEN, REVOKED_TOKEN, token_header

if TYPE_CHECKING:
    from litestar.testing import TestClient

    from gateway.state import GatewayState


@get("/ocpi/2.2.1/cpo/probe")
async def functional_probe(request: Request[Any, Any, Any]) -> Response[bytes]:
    """A functional-module endpoint: registration tokens must not open it."""
    state: GatewayState = request.app.state.gateway
    partner = await state.partners.authenticate(request.headers.get("authorization"), registration_allowed=False)
    return ocpi_response({"partner": partner.id})


@pytest.fixture
def extra_routes() -> list[Any]:
    return [functional_probe]


def _status(client: TestClient[Any], headers: dict[str, str], path: str = "/ocpi/2.2.1/cpo/probe") -> tuple[int, Any]:
    response = client.get(path, headers=headers)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "header",
    [
        "Token " + base64.b64encode(REGISTERED_TOKEN.encode()).decode(),
        "Token " + base64.b64encode((REGISTERED_TOKEN + "\n").encode()).decode(),
        "Token " + REGISTERED_TOKEN,
        "token " + REGISTERED_TOKEN,
    ],
    ids=["base64", "base64-with-newline", "plain", "lower-case-scheme"],
)
def test_accepted_token_forms(client: TestClient[Any], header: str) -> None:
    status, body = _status(client, {"Authorization": header})
    assert status == 200
    assert body["status_code"] == 1000
    assert body["data"] == {"partner": "registered"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token "},
        {"Authorization": "Bearer " + REGISTERED_TOKEN},
        token_header("not-a-known-token"),
        token_header(REVOKED_TOKEN),
        token_header(REGISTERED_TOKEN.upper()),
    ],
    ids=["missing", "empty", "wrong-scheme", "unknown", "unregistered-partner", "wrong-case"],
)
def test_refused_tokens_get_401_with_envelope(client: TestClient[Any], headers: dict[str, str]) -> None:
    status, body = _status(client, headers)
    assert status == 401
    assert body["status_code"] == 2000
    assert "data" not in body
    assert REGISTERED_TOKEN not in str(body)


def test_token_a_only_opens_versions_and_credentials(client: TestClient[Any]) -> None:
    status, body = _status(client, token_header(PENDING_TOKEN))
    assert status == 401
    assert "registration token" in body["status_message"]
    assert client.get("/ocpi/versions", headers=token_header(PENDING_TOKEN)).status_code == 200
    assert client.get("/ocpi/2.2.1/credentials", headers=token_header(PENDING_TOKEN)).status_code == 200


def test_versions_need_credentials(client: TestClient[Any]) -> None:
    assert client.get("/ocpi/versions").status_code == 401
    assert client.get("/ocpi/2.2.1", headers=token_header("nope")).status_code == 401
