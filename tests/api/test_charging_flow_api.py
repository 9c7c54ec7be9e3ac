"""The back-office charging flow over HTTP on both stores: /api/authorize → start → progress → stop → one
priced CDR whose totals are what gateway.pricing gives for it; refusals store nothing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from gateway.modules.tokens.models import ci_key
from gateway.pricing import price_cdr, price_session
from gateway.settings import OwnRole, Settings
from gateway.store import create_store
from gateway.store.base import ObjectKey, StoredObject
from tests.api.conftest import REGISTERED_TOKEN, run, token_header

if TYPE_CHECKING:
    from litestar.testing import TestClient

API = {"Authorization": "Bearer back-office-key"}
SESSIONS = "/api/sessions"
TZ = "Europe/Brussels"


def _examples() -> Path:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "ocpi" / "examples"
        if candidate.is_dir():
            return candidate
    pytest.fail("shared/ocpi/examples not found above the checkout")


def example(name: str) -> dict[str, Any]:
    """A spec example as a dict."""
    return json.loads((_examples() / name).read_bytes())  # type: ignore[no-any-return]


def our_location() -> dict[str, Any]:
    """The spec's location example, as ours (NL/GWY), its connectors on our tariff 18."""
    location = example("locations/location_example.json")
    location.update(country_code="NL", party_id="GWY")
    for evse in location["evses"]:
        for connector in evse["connectors"]:
            connector["tariff_ids"] = ["18"]
    return location


def our_tariff() -> dict[str, Any]:
    """The spec's tariff example 10 (start fee, €0.25/kWh, €2/h parking), as ours."""
    tariff = example("tariffs/tariff_10_025kwh_parking_start.json")
    tariff.update(country_code="NL", party_id="GWY")
    return tariff


async def _put_tariff(store_url: str, tariff: dict[str, Any]) -> None:
    """No back-office tariff API in this tree yet: our tariffs are stored under kind ``tariffs``."""
    store = create_store(store_url)
    await store.open()
    try:
        key = ObjectKey(ci_key(tariff["country_code"]), ci_key(tariff["party_id"]), ci_key(tariff["id"]))
        data = msgspec.json.encode(tariff)
        updated = datetime.fromisoformat(tariff["last_updated"])
        await store.put_object("tariffs", StoredObject(key=key, last_updated=updated, data=data))
    finally:
        await store.close()


def token(uid: str = "012345678", **changes: Any) -> dict[str, Any]:
    """A token of the seeded partner's party DE/EMS."""
    value = {
        "country_code": "DE",
        "party_id": "EMS",
        "uid": uid,
        "type": "RFID",
        "contract_id": "DE8ACC12E46L89",
        "issuer": "TheNewMotion",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2015-06-29T22:39:09Z",
    }
    value.update(changes)
    return value


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """A CPO platform NL/GWY on each store."""
    store = (
        f"sqlite:///{tmp_path}/gateway.sqlite3" if request.param == "sqlite" else request.getfixturevalue("clean_redis")
    )
    return Settings(
        store=store,
        roles=(OwnRole(country_code="NL", party_id="GWY", role="CPO"),),
        public_url="http://gateway.test",
        api_key="back-office-key",
        max_page_limit=20,
    )


@pytest.fixture
def network(client: TestClient[Any], seeded: Settings) -> TestClient[Any]:
    """Our Location published, our tariff stored, two tokens of DE/EMS imported (one blocked)."""
    assert client.put("/api/locations/LOC1", json=our_location(), headers=API).status_code == 201
    run(_put_tariff(seeded.store, our_tariff()))
    body = "\n".join(json.dumps(t) for t in (token(), token("BLOCKED1", valid=False)))
    imported = client.post("/api/tokens/import?partner=registered", content=body.encode(), headers=API)
    assert imported.status_code == 200, imported.text
    return client


def _authorize(client: TestClient[Any], uid: str = "012345678") -> dict[str, Any]:
    answer = client.post(
        "/api/authorize", json={"uid": uid, "country_code": "DE", "party_id": "EMS", "location_id": "LOC1"}, headers=API
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _start(client: TestClient[Any], reference: str, **changes: Any) -> Any:
    body = {
        "id": "S1",
        "authorization_reference": reference,
        "location_id": "LOC1",
        "evse_uid": "3256",
        "connector_id": "1",
        "start_date_time": "2024-01-15T10:00:00Z",
    }
    body.update(changes)
    return client.post(SESSIONS, json=body, headers=API)


def _reading(timestamp: str, kwh: float, **more: Any) -> dict[str, Any]:
    return {"timestamp": timestamp, "kwh": kwh, **more}


def test_start_progress_stop_gives_one_priced_cdr(network: TestClient[Any]) -> None:
    client = network
    auth = _authorize(client)
    assert auth["allowed"] == "ALLOWED"
    started = _start(client, auth["authorization_reference"])
    assert started.status_code == 201, started.text
    session = started.json()
    assert (session["country_code"], session["party_id"], session["status"], session["currency"]) == (
        "NL",
        "GWY",
        "ACTIVE",
        "EUR",
    )
    assert session["cdr_token"] == {
        "country_code": "DE",
        "party_id": "EMS",
        "uid": "012345678",
        "type": "RFID",
        "contract_id": "DE8ACC12E46L89",
    }
    assert (session["auth_method"], session["authorization_reference"]) == (
        auth["auth_method"],
        auth["authorization_reference"],
    )
    assert session["total_cost"] == _totals(
        price_session(json.dumps(our_tariff()).encode(), json.dumps(session).encode(), TZ)
    )

    first = client.post(
        f"{SESSIONS}/S1/progress", json=_reading("2024-01-15T11:00:00Z", 10.0, power_kw=11.0), headers=API
    )
    assert first.status_code == 200, first.text
    running = first.json()
    assert running["kwh"] == 10.0
    assert running["charging_periods"][0]["dimensions"][:2] == [
        {"type": "ENERGY", "volume": 10.0},
        {"type": "TIME", "volume": 1.0},
    ]
    assert running["total_cost"]["excl_vat"] == pytest.approx(0.5 + 2.5)
    assert running["total_cost"] == _totals(
        price_session(json.dumps(our_tariff()).encode(), json.dumps(running).encode(), TZ)
    )

    second = client.post(f"{SESSIONS}/S1/progress", json=_reading("2024-01-15T11:30:00Z", 10.0), headers=API)
    assert second.status_code == 200
    parked = second.json()
    assert parked["charging_periods"][1]["dimensions"] == [
        {"type": "ENERGY", "volume": 0.0},
        {"type": "PARKING_TIME", "volume": 0.5},
    ]
    assert parked["total_cost"]["excl_vat"] == pytest.approx(0.5 + 2.5 + 1.0)

    stopped = client.post(f"{SESSIONS}/S1/stop", json=_reading("2024-01-15T11:45:00Z", 10.0), headers=API)
    assert stopped.status_code == 201, stopped.text
    cdr = stopped.json()
    assert (cdr["id"], cdr["session_id"], cdr["currency"]) == ("S1", "S1", "EUR")
    assert cdr["cdr_location"]["evse_id"] == "BE*BEC*E041503001"
    assert (cdr["cdr_location"]["connector_standard"], cdr["cdr_location"]["country"]) == ("IEC_62196_T2", "BEL")
    assert [t["id"] for t in cdr["tariffs"]] == ["18"]
    assert all(d["type"] != "POWER" for p in cdr["charging_periods"] for d in p["dimensions"])
    priced = price_cdr(None, json.dumps(cdr).encode(), TZ)  # the embedded tariff
    assert cdr["total_cost"] == _totals(priced)
    assert cdr["total_energy"] == float(priced.total_energy) == 10.0
    assert cdr["total_time"] == float(priced.total_time) == 1.75
    assert cdr["total_parking_time"] == float(priced.total_parking_time) == 0.75
    assert cdr["total_energy_cost"]["excl_vat"] == float(priced.total_energy_cost.excl_vat) == 2.5
    assert cdr["total_parking_cost"]["excl_vat"] == float(priced.total_parking_cost.excl_vat) == 1.5
    assert cdr["total_fixed_cost"]["excl_vat"] == 0.5
    assert cdr["total_cost"]["excl_vat"] == pytest.approx(4.5)

    # A repeated stop answers the stored CDR; nothing more is stored.
    again = client.post(f"{SESSIONS}/S1/stop", json=_reading("2024-01-15T12:00:00Z", 12.0), headers=API)
    assert (again.status_code, again.json()) == (200, cdr)
    late = client.post(f"{SESSIONS}/S1/progress", json=_reading("2024-01-15T12:00:00Z", 12.0), headers=API)
    assert (late.status_code, late.json()["status_code"]) == (409, 2001)

    # The eMSP sees one completed session and one CDR in our Sender lists.
    cdrs = client.get("/ocpi/2.2.1/cpo/cdrs", headers=token_header(REGISTERED_TOKEN))
    assert [c["id"] for c in cdrs.json()["data"]] == ["S1"]
    sessions = client.get("/ocpi/2.2.1/cpo/sessions", headers=token_header(REGISTERED_TOKEN))
    assert [(s["id"], s["status"]) for s in sessions.json()["data"]] == [("S1", "COMPLETED")]


def _totals(result: Any) -> dict[str, float]:
    return {"excl_vat": float(result.total_cost.excl_vat), "incl_vat": float(result.total_cost.incl_vat)}


def test_start_refusals_store_nothing(network: TestClient[Any]) -> None:
    client = network
    unknown = _start(client, "no-such-reference")
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2001)
    assert "authorization_reference" in unknown.json()["status_message"]
    blocked = _authorize(client, "BLOCKED1")
    assert blocked["allowed"] != "ALLOWED"
    refused = _start(client, blocked["authorization_reference"])
    assert (refused.status_code, refused.json()["status_code"]) == (403, 2001)
    reference = _authorize(client)["authorization_reference"]
    no_location = _start(client, reference, location_id="NOPE")
    assert (no_location.status_code, no_location.json()["status_code"]) == (404, 2003)
    no_connector = _start(client, reference, connector_id="9")
    assert no_connector.status_code == 404
    no_tariff = _start(client, reference, tariff_id="99")
    assert no_tariff.status_code == 404
    bad = client.post(SESSIONS, json={"location_id": "LOC1"}, headers=API)
    assert (bad.status_code, bad.json()["status_code"]) == (400, 2001)
    neither = _start(client, None)
    assert (neither.status_code, neither.json()["status_code"]) == (400, 2001)
    assert (
        client.post(f"{SESSIONS}/S1/progress", json=_reading("2024-01-15T11:00:00Z", 1.0), headers=API).status_code
        == 404
    )
    assert client.post(SESSIONS, json={}, headers={}).status_code == 401
    # Now it starts, once.
    assert _start(client, reference).status_code == 201
    assert _start(client, reference).status_code == 409


def test_reading_refusals_and_direct_token(network: TestClient[Any]) -> None:
    client = network
    started = client.post(
        SESSIONS,
        json={
            "id": "S2",
            "token": token(),
            "location_id": "LOC1",
            "evse_uid": "3257",
            "connector_id": "1",
            "start_date_time": "2024-01-15T10:00:00Z",
        },
        headers=API,
    )
    assert started.status_code == 201, started.text
    assert (started.json()["auth_method"], started.json().get("authorization_reference")) == ("WHITELIST", None)
    ok = client.post(f"{SESSIONS}/S2/progress", json=_reading("2024-01-15T10:30:00Z", 5.0), headers=API)
    assert ok.status_code == 200
    before = client.post(f"{SESSIONS}/S2/progress", json=_reading("2024-01-15T10:10:00Z", 6.0), headers=API)
    assert (before.status_code, before.json()["status_code"]) == (400, 2001)
    backwards = client.post(f"{SESSIONS}/S2/progress", json=_reading("2024-01-15T10:40:00Z", 4.0), headers=API)
    assert (backwards.status_code, backwards.json()["status_code"]) == (400, 2001)
    bad = client.post(f"{SESSIONS}/S2/stop", json={"kwh": 5}, headers=API)
    assert (bad.status_code, bad.json()["status_code"]) == (400, 2001)
    # The refused readings changed nothing: the stop prices 30 min charging and 10 min parking.
    cdr = client.post(f"{SESSIONS}/S2/stop", json=_reading("2024-01-15T10:40:00Z", 5.0), headers=API).json()
    assert len(cdr["charging_periods"]) == 2
    assert (cdr["total_energy"], cdr["total_time"]) == (5.0, 0.6667)  # the engine gives 4 decimals
    assert cdr["total_cost"] == _totals(price_cdr(None, json.dumps(cdr).encode(), TZ))


async def _forget_cdr(store_url: str, cdr_id: str) -> None:
    store = create_store(store_url)
    await store.open()
    try:
        assert await store.delete_object("cdrs", ObjectKey("NL", "GWY", cdr_id))
    finally:
        await store.close()


def test_stop_at_once_and_a_stop_that_died_before_its_cdr(network: TestClient[Any], seeded: Settings) -> None:
    client = network
    reference = _authorize(client)["authorization_reference"]
    assert _start(client, reference, id="S3").status_code == 201
    first = client.post(f"{SESSIONS}/S3/stop", json=_reading("2024-01-15T10:00:00Z", 0.0), headers=API)
    assert first.status_code == 201, first.text
    cdr = first.json()
    assert len(cdr["charging_periods"]) == 1
    assert (cdr["total_energy"], cdr["total_time"]) == (0.0, 0.0)
    assert cdr["total_cost"] == _totals(price_cdr(None, json.dumps(cdr).encode(), TZ))
    # The session is COMPLETED but its CDR is gone (as if the stop died between its two writes): a new
    # stop stores the CDR from the completed session.
    run(_forget_cdr(seeded.store, "S3"))
    again = client.post(f"{SESSIONS}/S3/stop", json=_reading("2024-01-15T10:05:00Z", 1.0), headers=API)
    assert again.status_code == 201
    assert {k: v for k, v in again.json().items() if k != "last_updated"} == {
        k: v for k, v in cdr.items() if k != "last_updated"
    }
