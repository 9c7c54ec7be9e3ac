"""Tokens over HTTP: the CPO Receiver (PUT/PATCH/GET), the cache it feeds, /api/authorize from the cache,
the eMSP Sender (list and real-time authorize), bulk import; both stores."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.modules.tokens.authorization import AUTHORIZATIONS, StoredAuthorization
from gateway.modules.tokens.models import LocationReferences
from gateway.store import create_store
from tests.api.conftest import REGISTERED_TOKEN, dual_role_settings, token_header

if TYPE_CHECKING:
    from gateway.settings import Settings
    from gateway.state import GatewayState

BASE = "/ocpi/2.2.1/cpo/tokens"
API = {"Authorization": "Bearer back-office-key"}


def make_token(uid: str = "012345678", **changes: Any) -> dict[str, Any]:
    """A token of the seeded partner's party DE/EMS."""
    token = {
        "country_code": "DE", "party_id": "EMS", "uid": uid, "type": "RFID", "contract_id": "DE8ACC12E46L89",
        "visual_number": "DF000-2001-8999-1", "issuer": "TheNewMotion", "valid": True, "whitelist": "ALWAYS",
        "last_updated": "2015-06-29T22:39:09Z",
    }
    token.update(changes)
    return token


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """A platform playing CPO and eMSP (NL/GWY), on each store."""
    return dual_role_settings(request, tmp_path)


def _put(client: TestClient[Any], token: dict[str, Any], path: str | None = None) -> Any:
    url = path or f"{BASE}/{token['country_code']}/{token['party_id']}/{token['uid']}"
    return client.put(url, json=token, headers=token_header(REGISTERED_TOKEN))


def test_put_then_get_round_trip(client: TestClient[Any]) -> None:
    first = _put(client, make_token())
    assert (first.status_code, first.json()["status_code"]) == (201, 1000)
    assert "data" not in first.json()
    again = _put(client, make_token(valid=False))
    assert again.status_code == 200
    got = client.get(f"{BASE}/de/ems/012345678", headers=token_header(REGISTERED_TOKEN)).json()
    assert got["data"] == make_token(valid=False)


def test_same_uid_other_type_is_another_token(client: TestClient[Any]) -> None:
    _put(client, make_token())
    app_user = make_token(type="APP_USER", whitelist="NEVER")
    assert _put(client, app_user, f"{BASE}/DE/EMS/012345678?type=APP_USER").status_code == 201
    rfid = client.get(f"{BASE}/DE/EMS/012345678", headers=token_header(REGISTERED_TOKEN)).json()["data"]
    app = client.get(f"{BASE}/DE/EMS/012345678?type=APP_USER", headers=token_header(REGISTERED_TOKEN)).json()["data"]
    assert (rfid["type"], app["type"]) == ("RFID", "APP_USER")


def test_patch_changes_fields_and_needs_last_updated(client: TestClient[Any]) -> None:
    _put(client, make_token())
    url = f"{BASE}/DE/EMS/012345678"
    missing = client.patch(url, json={"valid": False}, headers=token_header(REGISTERED_TOKEN))
    assert missing.json()["status_code"] == 2001
    patched = client.patch(url, json={"valid": False, "last_updated": "2019-06-19T02:11:11Z"},
                           headers=token_header(REGISTERED_TOKEN))
    assert (patched.status_code, patched.json()["status_code"]) == (200, 1000)
    got = client.get(url, headers=token_header(REGISTERED_TOKEN)).json()["data"]
    assert got == make_token(valid=False, last_updated="2019-06-19T02:11:11Z")
    unknown = client.patch(f"{BASE}/DE/EMS/nope", json={"valid": False, "last_updated": "2019-06-19T02:11:11Z"},
                           headers=token_header(REGISTERED_TOKEN))
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2001)


def test_cross_party_and_mismatched_writes_are_refused(client: TestClient[Any]) -> None:
    foreign = make_token(country_code="FR", party_id="EVB")
    assert _put(client, foreign).status_code == 404
    mismatch = _put(client, make_token(uid="AAA"), f"{BASE}/DE/EMS/BBB")
    assert mismatch.json()["status_code"] == 2001
    assert client.get(f"{BASE}/DE/EMS/AAA", headers=token_header(REGISTERED_TOKEN)).status_code == 404
    assert client.get(f"{BASE}/FR/EVB/012345678", headers=token_header(REGISTERED_TOKEN)).status_code == 404


@pytest.mark.parametrize(
    "changes",
    [{"valid": "yes"}, {"whitelist": "SOMETIMES"}, {"contract_id": "x" * 37}, {"issuer": None},
     {"last_updated": "2015-06-29T22:39:09+02:00"}, {"type": "CARD"}],
    ids=["wrong-type", "unknown-enum", "over-long", "missing-required", "offset-datetime", "unknown-type"],
)
def test_bad_token_bodies_store_nothing(client: TestClient[Any], changes: dict[str, Any]) -> None:
    response = _put(client, make_token(**changes))
    assert response.json()["status_code"] == 2001
    assert response.status_code in (200, 400)
    assert client.get(f"{BASE}/DE/EMS/012345678", headers=token_header(REGISTERED_TOKEN)).status_code == 404
    decision = client.post("/api/authorize", json={"uid": "012345678"}, headers=API)
    assert decision.status_code == 404


def test_invalid_json_is_400(client: TestClient[Any]) -> None:
    response = client.put(f"{BASE}/DE/EMS/1", content=b"{", headers={**token_header(REGISTERED_TOKEN),
                                                                     "Content-Type": "application/json"})
    assert (response.status_code, response.json()["status_code"]) == (400, 2001)


def test_authorize_from_cache(client: TestClient[Any]) -> None:
    _put(client, make_token())
    _put(client, make_token(uid="BLOCKED1", valid=False))
    answer = client.post("/api/authorize", json={"uid": "012345678", "location_id": "LOC1"}, headers=API).json()
    assert answer["allowed"] == "ALLOWED"
    assert answer["source"] == "cache"
    assert answer["auth_method"] == "WHITELIST"
    assert answer["token"] == make_token()
    assert answer["location"] == {"location_id": "LOC1"}
    stored = client.get(f"/api/authorizations/{answer['authorization_reference']}", headers=API).json()
    assert stored["allowed"] == "ALLOWED"
    blocked = client.post("/api/authorize", json={"uid": "blocked1", "country_code": "de", "party_id": "ems"},
                          headers=API).json()
    assert blocked["allowed"] == "BLOCKED"


def test_authorize_stores_the_reference_for_another_worker(client: TestClient[Any], settings: Settings) -> None:
    _put(client, make_token())
    body = {"uid": "012345678", "location_id": "LOC1", "evse_uids": ["EVSE1", "EVSE2"]}
    before = time.time()
    answer = client.post("/api/authorize", json=body, headers=API).json()
    after = time.time()
    state: GatewayState = client.app.state.gateway
    client.blocking_portal.call(state.authorizer.drain)

    async def read_back() -> StoredAuthorization | None:
        store = create_store(settings.store)  # a store of its own, like another worker's
        await store.open()
        try:
            raw = await store.get_expiring(AUTHORIZATIONS, answer["authorization_reference"])
        finally:
            await store.close()
        return None if raw is None else msgspec.json.decode(raw, type=StoredAuthorization)

    stored = client.blocking_portal.call(read_back)
    assert stored is not None
    assert (stored.authorization_reference, stored.allowed, stored.auth_method, stored.source) == (
        answer["authorization_reference"], "ALLOWED", "WHITELIST", "cache"
    )
    assert msgspec.json.decode(stored.token) == make_token()
    assert stored.location == LocationReferences(location_id="LOC1", evse_uids=("EVSE1", "EVSE2"))
    assert before <= stored.created <= after


def test_authorize_needs_the_api_key_and_a_good_body(client: TestClient[Any]) -> None:
    assert client.post("/api/authorize", json={"uid": "x"}).status_code == 401
    assert client.post("/api/authorize", json={"uid": "x"}, headers={"Authorization": "Bearer no"}).status_code == 401
    assert client.post("/api/authorize", json={"uid": ""}, headers=API).status_code == 400
    unknown = client.post("/api/authorize", json={"uid": "never-seen"}, headers=API)
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2004)


def test_bulk_import_and_warm_start(settings: Settings, client: TestClient[Any]) -> None:
    lines = b"\n".join(
        __import__("msgspec").json.encode(make_token(uid=f"BULK{i}")) for i in range(50)
    ) + b"\n" + b'{"country_code": "DE"}\n'
    summary = client.post("/api/tokens/import?partner=registered", content=lines, headers=API).json()
    assert (summary["added"], summary["rejected"]) == (50, 1)
    assert "line 51" in summary["errors"][0]
    assert client.post("/api/authorize", json={"uid": "BULK7"}, headers=API).json()["allowed"] == "ALLOWED"
    # A new worker (a new app on the same store) fills its cache from the store at start.
    with TestClient(create_app(settings), base_url="http://gateway.test") as second:
        assert second.post("/api/authorize", json={"uid": "bulk49"}, headers=API).json()["source"] == "cache"


def test_emsp_sender_lists_and_authorizes_own_tokens(client: TestClient[Any]) -> None:
    own = [make_token(uid=f"OWN{i}", country_code="NL", party_id="GWY", valid=i != 2) for i in range(3)]
    body = __import__("msgspec").json.encode(own)
    assert client.post("/api/tokens/import?own=true", content=body, headers=API).json()["added"] == 3
    listed = client.get("/ocpi/2.2.1/emsp/tokens?limit=2", headers=token_header(REGISTERED_TOKEN))
    assert [t["uid"] for t in listed.json()["data"]] == ["OWN0", "OWN1"]
    assert listed.headers["x-total-count"] == "3"
    url = "/ocpi/2.2.1/emsp/tokens/own0/authorize"
    ok = client.post(url, json={"location_id": "L1", "evse_uids": ["E1"]}, headers=token_header(REGISTERED_TOKEN))
    data = ok.json()["data"]
    assert (data["allowed"], data["token"]["uid"], data["location"]["evse_uids"]) == ("ALLOWED", "OWN0", ["E1"])
    assert data["authorization_reference"]
    blocked = client.post("/ocpi/2.2.1/emsp/tokens/OWN2/authorize", headers=token_header(REGISTERED_TOKEN))
    assert blocked.json()["data"]["allowed"] == "BLOCKED"
    unknown = client.post("/ocpi/2.2.1/emsp/tokens/NOPE/authorize", headers=token_header(REGISTERED_TOKEN))
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2004)
    assert "data" not in unknown.json()
    other_type = client.post(f"{url}?type=APP_USER", headers=token_header(REGISTERED_TOKEN))
    assert other_type.status_code == 404
