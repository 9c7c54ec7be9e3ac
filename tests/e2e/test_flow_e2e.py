"""Pushes between real gateways: a CPO (Redis) publishes a Location and runs a charging session from its back
office; everything reaches the eMSP (SQLite) through the CPO's durable outbox, registered by the handshake.
Waits are bounded polls of the eMSP's store; nothing asserts on timing."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest

from gateway.modules.tokens.models import ci_key
from gateway.pricing import price_cdr
from gateway.store import create_store
from gateway.store.base import ObjectKey, StoredObject
from tests.api.test_charging_flow_api import example

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.e2e.conftest import Gateway

pytestmark = pytest.mark.e2e

CPO = ["--country-code", "NL", "--party-id", "CPO", "--role", "CPO"]
EMSP = ["--country-code", "DE", "--party-id", "EMS", "--role", "EMSP"]
API = {"Authorization": "Bearer e2e-key"}
TZ = "Europe/Brussels"
LOCATION_KEY = ObjectKey("NL", "CPO", "LOC1")
SESSION_KEY = ObjectKey("NL", "CPO", "S1")
WAIT = 20.0


def _location() -> dict[str, Any]:
    """The spec's location example as the CPO's, without EVSEs (one is added through the EVSE API)."""
    location = example("locations/location_example.json")
    location.update(country_code="NL", party_id="CPO", id="LOC1")
    location.pop("evses", None)
    return location


def _evse() -> dict[str, Any]:
    evse = example("locations/location_example.json")["evses"][0]
    for connector in evse["connectors"]:
        connector["tariff_ids"] = ["18"]
    evse["status"] = "AVAILABLE"
    return evse  # type: ignore[no-any-return]


def _tariff() -> dict[str, Any]:
    tariff = example("tariffs/tariff_10_025kwh_parking_start.json")
    tariff.update(country_code="NL", party_id="CPO")
    return tariff  # type: ignore[no-any-return]


def _token() -> dict[str, Any]:
    return {"country_code": "DE", "party_id": "EMS", "uid": "DRIVER1", "type": "RFID", "contract_id": "DE-EMS-DRIVER1",
            "issuer": "Test eMSP", "valid": True, "whitelist": "ALWAYS", "last_updated": "2026-01-01T00:00:00Z"}


async def _with_store(url: str, work: Callable[[Any], Any]) -> Any:
    store = create_store(url)
    await store.open()
    try:
        return await work(store)
    finally:
        await store.close()


def _read(url: str, kind: str, key: ObjectKey) -> dict[str, Any] | None:
    async def work(store: Any) -> dict[str, Any] | None:
        found = await store.get_object(kind, key)
        return None if found is None else msgspec.json.decode(found.data)

    return asyncio.run(_with_store(url, work))  # type: ignore[no-any-return]


def _put_tariff(url: str) -> None:
    tariff = _tariff()

    async def work(store: Any) -> None:
        key = ObjectKey(ci_key("NL"), ci_key("CPO"), ci_key(tariff["id"]))
        updated = datetime.fromisoformat(tariff["last_updated"].replace("Z", "+00:00"))
        await store.put_object("tariffs", StoredObject(key=key, last_updated=updated, data=msgspec.json.encode(tariff)))

    asyncio.run(_with_store(url, work))


def _eventually(check: Callable[[], Any], seconds: float = WAIT) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _outbox_total(cpo: Gateway) -> dict[str, int]:
    status = json.loads(cpo.cli("outbox", "status", "--json").stdout)
    return status["total"]  # type: ignore[no-any-return]


def _outbox_empty(cpo: Gateway) -> bool:
    total = _outbox_total(cpo)
    return total["pending"] == 0 and total["in_flight"] == 0 and total["dead"] == 0


def _api(cpo: Gateway, method: str, path: str, body: Any) -> dict[str, Any]:
    answer = httpx.request(method, f"{cpo.url}{path}", json=body, headers=API, timeout=15)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()  # type: ignore[no-any-return]


def _evse_status(emsp: Gateway) -> str | None:
    location = _read(emsp.store, "received_locations", LOCATION_KEY)
    if location is None or not location.get("evses"):
        return None
    return location["evses"][0]["status"]  # type: ignore[no-any-return]


@pytest.fixture
def network(start_gateway: Callable[..., Gateway], clean_redis: str, tmp_path: Path) -> dict[str, Any]:
    """eMSP with its own token, CPO registered with it (handshake), the token synced, tariff 18 stored."""
    emsp_store = f"sqlite:///{tmp_path}/emsp.sqlite3"
    emsp = start_gateway(emsp_store, EMSP)
    own = tmp_path / "own.ndjson"
    own.write_bytes(msgspec.json.encode(_token()))
    emsp.cli("tokens", "import", str(own), "--own")
    cpo = start_gateway(clean_redis, CPO, env={"OCPI_OUTBOX_BACKOFF_BASE": "0.2", "OCPI_OUTBOX_BACKOFF_CAP": "1"})
    token_a = emsp.cli("partners", "add", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO").stdout.strip()
    cpo.cli("partners", "register", "--versions-url", emsp.versions_url, "--token-a", token_a)
    [partner] = json.loads(cpo.cli("partners", "list", "--json").stdout)
    synced = json.loads(cpo.cli("tokens", "sync", "--partner", partner["id"]).stdout)
    assert synced["added"] == 1
    _put_tariff(clean_redis)
    _wait_until_cpo_accepts_the_emsp(emsp, cpo)
    return {"emsp": emsp, "cpo": cpo, "partner": partner["id"]}


def _wait_until_cpo_accepts_the_emsp(emsp: Gateway, cpo: Gateway) -> None:
    """The CPO server caches token lookups for a second: the eMSP's token, seen PENDING during the handshake
    (run by the CLI, another process), opens functional modules only once that entry ran out. A push in that
    second is refused (401) and, under ``send_once``, dead; wait it out rather than race it."""

    async def work(store: Any) -> str:
        [partner] = await store.list_partners()
        return str(partner.token_out)

    token = asyncio.run(_with_store(emsp.store, work))
    header = {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}
    url = f"{cpo.url}/ocpi/2.2.1/cpo/tokens/DE/EMS/DRIVER1"
    assert _eventually(lambda: httpx.get(url, headers=header, timeout=5).status_code == 200)


def _publish(cpo: Gateway) -> None:
    _api(cpo, "PUT", "/api/locations/LOC1", _location())
    _api(cpo, "PUT", f"/api/locations/LOC1/evses/{_evse()['uid']}", _evse())


def _charge(cpo: Gateway) -> dict[str, Any]:
    """authorize -> start -> progress -> EVSE CHARGING -> progress -> stop; the CDR the CPO answered."""
    assert _eventually(lambda: httpx.post(f"{cpo.url}/api/authorize", json={"uid": "DRIVER1"}, headers=API,
                                          timeout=15).status_code == 200)
    auth = _api(cpo, "POST", "/api/authorize", {"uid": "DRIVER1", "country_code": "DE", "party_id": "EMS",
                                                 "location_id": "LOC1"})
    assert auth["allowed"] == "ALLOWED", auth
    evse_uid = _evse()["uid"]
    _api(cpo, "POST", "/api/sessions", {"id": "S1", "authorization_reference": auth["authorization_reference"],
                                        "location_id": "LOC1", "evse_uid": evse_uid, "connector_id": "1",
                                        "start_date_time": "2024-01-15T10:00:00Z"})
    _api(cpo, "POST", "/api/sessions/S1/progress", {"timestamp": "2024-01-15T11:00:00Z", "kwh": 10.0, "power_kw": 11})
    _api(cpo, "POST", f"/api/locations/LOC1/evses/{evse_uid}/status", {"status": "CHARGING"})
    _api(cpo, "POST", "/api/sessions/S1/progress", {"timestamp": "2024-01-15T11:30:00Z", "kwh": 10.0})
    return _api(cpo, "POST", "/api/sessions/S1/stop", {"timestamp": "2024-01-15T11:45:00Z", "kwh": 12.0})


def _assert_delivered(emsp: Gateway, cpo_cdr: dict[str, Any]) -> None:
    assert _eventually(lambda: _evse_status(emsp) == "CHARGING"), _evse_status(emsp)
    session = _eventually(lambda: (s := _read(emsp.store, "received_sessions", SESSION_KEY)) and
                          s["status"] == "COMPLETED" and s)
    assert session, _read(emsp.store, "received_sessions", SESSION_KEY)
    assert len(session["charging_periods"]) == 3  # two progress periods (appended by PATCH), then the final one
    assert session["kwh"] == 12.0
    assert session["cdr_token"]["uid"] == "DRIVER1"
    cdr = _eventually(lambda: _read(emsp.store, "received_cdrs", SESSION_KEY))
    assert cdr, "the CDR did not reach the eMSP"
    assert cdr["id"] == cpo_cdr["id"] == "S1"
    assert cdr["total_cost"] == cpo_cdr["total_cost"]
    priced = price_cdr(None, json.dumps(cdr).encode(), TZ)
    for field in ("total_cost", "total_energy_cost", "total_time_cost", "total_parking_cost", "total_fixed_cost"):
        assert cdr[field]["excl_vat"] == pytest.approx(float(getattr(priced, field).excl_vat)), field
        assert cdr[field]["incl_vat"] == pytest.approx(float(getattr(priced, field).incl_vat)), field
    assert cdr["total_energy"] == pytest.approx(float(priced.total_energy))
    assert cdr["total_time"] == pytest.approx(float(priced.total_time))
    assert cdr["total_parking_time"] == pytest.approx(float(priced.total_parking_time))


def test_location_session_and_cdr_reach_the_emsp(network: dict[str, Any]) -> None:
    cpo, emsp = network["cpo"], network["emsp"]
    _publish(cpo)
    assert _eventually(lambda: _evse_status(emsp) == "AVAILABLE")
    cdr = _charge(cpo)
    _assert_delivered(emsp, cdr)
    assert _eventually(lambda: _outbox_empty(cpo)), _outbox_total(cpo)


def _cdr_count(emsp: Gateway) -> int:
    async def work(store: Any) -> int:
        return int(await store.count_objects("received_cdrs"))

    return asyncio.run(_with_store(emsp.store, work))  # type: ignore[no-any-return]


def test_delivery_survives_a_stopped_emsp_and_a_killed_cpo(
    network: dict[str, Any], start_gateway: Callable[..., Gateway]
) -> None:
    cpo, emsp = network["cpo"], network["emsp"]
    _publish(cpo)
    assert _eventually(lambda: _evse_status(emsp) == "AVAILABLE")
    evse_uid = _evse()["uid"]

    # The eMSP is down: status updates wait in the CPO's outbox, then arrive in order, the last one winning.
    emsp.stop()
    for status in ("CHARGING", "BLOCKED", "OUTOFORDER", "AVAILABLE", "RESERVED"):
        _api(cpo, "POST", f"/api/locations/LOC1/evses/{evse_uid}/status", {"status": status})
    assert _outbox_total(cpo)["pending"] + _outbox_total(cpo)["in_flight"] >= 1
    emsp.start()
    assert _eventually(lambda: _outbox_empty(cpo)), _outbox_total(cpo)
    assert _evse_status(emsp) == "RESERVED"

    # The eMSP is down again while a whole session is pending; the CPO is killed, restarted on its store.
    emsp.stop()
    cdr = _charge(cpo)
    assert _outbox_total(cpo)["pending"] + _outbox_total(cpo)["in_flight"] >= 1
    cpo.stop(signal.SIGKILL)
    cpo.start()
    emsp.start()
    _assert_delivered(emsp, cdr)
    assert _eventually(lambda: _outbox_empty(cpo)), _outbox_total(cpo)
    assert _cdr_count(emsp) == 1


def _decision(cpo: Gateway, uid: str) -> tuple[str, str] | None:
    answer = httpx.post(f"{cpo.url}/api/authorize", json={"uid": uid}, headers=API, timeout=15)
    return (answer.json()["allowed"], answer.json()["source"]) if answer.status_code == 200 else None


def test_own_tokens_imported_on_the_emsp_are_pushed_to_the_cpo(network: dict[str, Any], tmp_path: Path) -> None:
    cpo, emsp = network["cpo"], network["emsp"]
    by_api = {**_token(), "uid": "PUSHED-API", "contract_id": "DE-EMS-PUSHED-API"}
    imported = httpx.post(f"{emsp.url}/api/tokens/import?own=true", content=msgspec.json.encode(by_api),
                          headers=API, timeout=15)
    assert imported.status_code == 200, imported.text
    by_cli = tmp_path / "more.ndjson"
    by_cli.write_bytes(msgspec.json.encode({**_token(), "uid": "PUSHED-CLI", "contract_id": "DE-EMS-PUSHED-CLI",
                                            "valid": False}))
    emsp.cli("tokens", "import", str(by_cli), "--own")
    # Neither was synced: the CPO knows them only from the eMSP's pushes (no default eMSP to ask).
    assert _eventually(lambda: _decision(cpo, "PUSHED-API") == ("ALLOWED", "cache")), _decision(cpo, "PUSHED-API")
    assert _eventually(lambda: _decision(cpo, "PUSHED-CLI") == ("BLOCKED", "cache")), _decision(cpo, "PUSHED-CLI")
    emsp_status = json.loads(emsp.cli("outbox", "status", "--json").stdout)["total"]
    assert _eventually(lambda: json.loads(emsp.cli("outbox", "status", "--json").stdout)["total"]["pending"] == 0), \
        emsp_status
