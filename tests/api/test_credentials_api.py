"""The credentials endpoint as server: register, rotate, unregister, wrong states, failures, bad bodies.

The partner side is a real HTTP server (tests/partner_stub.py) the gateway calls back during POST/PUT.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.api.conftest import PENDING_TOKEN, REGISTERED_TOKEN, read_partner, run, token_header
from tests.partner_stub import PartnerStub, partner_stub

URL = "/ocpi/2.2.1/credentials"


def _body(stub: PartnerStub, token: str = "token-b-from-partner", **changes: Any) -> dict[str, Any]:
    body = {
        "token": token,
        "url": stub.versions_url,
        "roles": [
            {"role": "EMSP", "party_id": "PEN", "country_code": "DE", "business_details": {"name": "Pending eMSP"}}
        ],
    }
    body.update(changes)
    return body


@pytest.fixture
def stub() -> Any:
    with partner_stub() as running:
        yield running


def test_get_credentials_shows_our_side(client: TestClient[Any]) -> None:
    body = client.get(URL, headers=token_header(REGISTERED_TOKEN)).json()
    assert body["status_code"] == 1000
    assert body["data"]["token"] == REGISTERED_TOKEN
    assert body["data"]["url"] == "http://gateway.test/ocpi/versions"
    assert body["data"]["roles"] == [
        {"role": "CPO", "business_details": {"name": "OCPI Gateway"}, "party_id": "GWY", "country_code": "NL"}
    ]


def test_register_rotate_unregister(seeded: Settings, client: TestClient[Any], stub: PartnerStub) -> None:
    response = client.post(URL, json=_body(stub), headers=token_header(PENDING_TOKEN))
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 1000
    token_c = body["data"]["token"]
    assert token_c not in (PENDING_TOKEN, "token-b-from-partner")
    # The gateway fetched the partner with the partner's token B, base64-encoded.
    expected = "Token " + base64.b64encode(b"token-b-from-partner").decode()
    assert stub.authorizations == [expected, expected]
    partner = run(read_partner(seeded.store, "pending"))
    assert partner.state == "REGISTERED"
    assert partner.token_out == "token-b-from-partner"
    assert partner.version == "2.2.1"
    assert partner.endpoint("tokens", "SENDER") == f"{stub.base}/ocpi/emsp/2.2.1/tokens"
    assert partner.roles[0].business_name == "Pending eMSP"
    # Token A is spent; token C works; registering again is 405.
    assert client.get(URL, headers=token_header(PENDING_TOKEN)).status_code == 401
    assert client.post(URL, json=_body(stub), headers=token_header(token_c)).status_code == 405

    rotated = client.put(URL, json=_body(stub, token="token-b2"), headers=token_header(token_c)).json()
    token_c2 = rotated["data"]["token"]
    assert token_c2 != token_c
    assert client.get(URL, headers=token_header(token_c)).status_code == 401
    assert run(read_partner(seeded.store, "pending")).token_out == "token-b2"

    deleted = client.delete(URL, headers=token_header(token_c2))
    assert deleted.status_code == 200
    assert deleted.json()["status_code"] == 1000
    assert "data" not in deleted.json()
    assert client.get(URL, headers=token_header(token_c2)).status_code == 401
    assert run(read_partner(seeded.store, "pending")).state == "UNREGISTERED"


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_before_registration_are_405(client: TestClient[Any], stub: PartnerStub, method: str) -> None:
    kwargs = {"json": _body(stub)} if method == "put" else {}
    response = getattr(client, method)(URL, headers=token_header(PENDING_TOKEN), **kwargs)
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000


def test_patch_is_405(client: TestClient[Any]) -> None:
    assert client.patch(URL, json={}, headers=token_header(REGISTERED_TOKEN)).status_code == 405


def _assert_still_pending(settings: Settings, client: TestClient[Any]) -> None:
    partner = run(read_partner(settings.store, "pending"))
    assert partner.state == "PENDING"
    assert partner.token_in == PENDING_TOKEN
    assert partner.token_out is None
    assert client.get(URL, headers=token_header(PENDING_TOKEN)).status_code == 200


def test_unreachable_partner_is_3001(seeded: Settings, client: TestClient[Any], stub: PartnerStub) -> None:
    body = _body(stub, url="http://127.0.0.1:9/ocpi/versions")
    response = client.post(URL, json=body, headers=token_header(PENDING_TOKEN))
    assert response.status_code == 200
    assert response.json()["status_code"] == 3001
    _assert_still_pending(seeded, client)


def test_no_mutual_version_is_3002(seeded: Settings, client: TestClient[Any], stub: PartnerStub) -> None:
    stub.versions = [{"version": "2.1.1", "url": f"{stub.base}/ocpi/2.1.1"}]
    response = client.post(URL, json=_body(stub), headers=token_header(PENDING_TOKEN))
    assert response.json()["status_code"] == 3002
    _assert_still_pending(seeded, client)


def test_missing_credentials_endpoint_is_3003(seeded: Settings, client: TestClient[Any], stub: PartnerStub) -> None:
    stub.details = {"version": "2.2.1", "endpoints": [{"identifier": "tokens", "role": "SENDER", "url": stub.base}]}
    response = client.post(URL, json=_body(stub), headers=token_header(PENDING_TOKEN))
    assert response.json()["status_code"] == 3003
    _assert_still_pending(seeded, client)


def test_partner_details_not_ocpi_is_3001(seeded: Settings, client: TestClient[Any], stub: PartnerStub) -> None:
    stub.details = {"something": "else"}
    response = client.post(URL, json=_body(stub), headers=token_header(PENDING_TOKEN))
    assert response.json()["status_code"] == 3001
    _assert_still_pending(seeded, client)


BAD_BODIES = [
    pytest.param({"token": 5}, id="wrong-type"),
    pytest.param({"token": "x" * 65}, id="over-long-token"),
    pytest.param({"token": "has space"}, id="token-with-space"),
    pytest.param({"roles": []}, id="no-roles"),
    pytest.param({"roles": [{"role": "DRIVER", "party_id": "PEN", "country_code": "DE",
                             "business_details": {"name": "x"}}]}, id="unknown-enum"),
    pytest.param({"roles": [{"role": "EMSP", "party_id": "PENX", "country_code": "DE",
                             "business_details": {"name": "x"}}]}, id="over-long-party-id"),
    pytest.param({"url": None}, id="missing-url"),
]


@pytest.mark.parametrize("changes", BAD_BODIES)
def test_bad_bodies_are_2001_and_store_nothing(
    seeded: Settings, client: TestClient[Any], stub: PartnerStub, changes: dict[str, Any]
) -> None:
    response = client.post(URL, json=_body(stub, **changes), headers=token_header(PENDING_TOKEN))
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 2001
    assert body["status_message"].startswith("Invalid request body")
    assert stub.authorizations == []
    _assert_still_pending(seeded, client)


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2"])
def test_invalid_json_is_400(seeded: Settings, client: TestClient[Any], raw: bytes) -> None:
    headers = {**token_header(PENDING_TOKEN), "Content-Type": "application/json"}
    response = client.post(URL, content=raw, headers=headers)
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
    _assert_still_pending(seeded, client)


def test_validation_status_can_be_400(seeded: Settings, stub: PartnerStub) -> None:
    strict = Settings(**{**{f: getattr(seeded, f) for f in seeded.__struct_fields__}, "validation_http_status": 400})
    with TestClient(create_app(strict), base_url="http://gateway.test") as strict_client:
        response = strict_client.post(URL, json=_body(stub, token=5), headers=token_header(PENDING_TOKEN))
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
