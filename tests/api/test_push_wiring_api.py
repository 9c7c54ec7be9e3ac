"""What the back-office API puts in the outbox (no worker runs, so the messages stay to be read in lane order):
Location writes for every eMSP with a locations RECEIVER; a session's messages and its CDR only for the eMSP
owning the token, in one lane, CDR last; our own tokens for every CPO with a tokens RECEIVER."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from gateway.settings import OwnRole, Settings
from gateway.store import create_store
from gateway.store.base import OutboxMessage, Partner, PartnerEndpoint, PartnerRole
from tests.api.conftest import run
from tests.api.test_charging_flow_api import _put_tariff, our_location, our_tariff, token

if TYPE_CHECKING:
    from pathlib import Path

    from litestar.testing import TestClient

API = {"Authorization": "Bearer back-office-key"}


def _partner(partner_id: str, cc: str, pid: str, role: str, modules: tuple[str, ...]) -> Partner:
    now = datetime.now(UTC)
    endpoints = tuple(
        PartnerEndpoint(identifier=m, role="RECEIVER", url=f"http://{partner_id}.test/ocpi/{m}") for m in modules
    )
    return Partner(id=partner_id, roles=(PartnerRole(country_code=cc, party_id=pid, role=role),), state="REGISTERED",
                   token_in=f"{partner_id}-token", token_out=f"{partner_id}-out", version="2.2.1",
                   endpoints=endpoints, created=now, last_updated=now)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A CPO (NL/GWY) that is also an eMSP (NL/EMP), without an outbox worker."""
    return Settings(
        store=f"sqlite:///{tmp_path}/gateway.sqlite3",
        roles=(OwnRole(country_code="NL", party_id="GWY", role="CPO"), OwnRole(country_code="NL", party_id="EMP",
                                                                                 role="EMSP")),
        public_url="http://gateway.test",
        api_key="back-office-key",
        max_page_limit=20,
        outbox_worker=False,
    )


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    async def seed() -> None:
        store = create_store(settings.store)
        await store.open()
        try:
            await store.add_partner(_partner("ems", "DE", "EMS", "EMSP", ("locations", "sessions", "cdrs")))
            await store.add_partner(_partner("oth", "DE", "OTH", "EMSP", ("locations", "sessions", "cdrs")))
            await store.add_partner(_partner("cpo", "BE", "CPO", "CPO", ("tokens",)))
        finally:
            await store.close()

    run(seed())
    run(_put_tariff(settings.store, our_tariff()))
    return settings


def _drain(store_url: str) -> list[OutboxMessage]:
    """Every pending message, each lane in its order (claimed and acknowledged one lane head at a time)."""

    async def drain() -> list[OutboxMessage]:
        store = create_store(store_url)
        await store.open()
        try:
            seen: list[OutboxMessage] = []
            while claims := await store.outbox_claim(now=datetime.now(UTC), lease_seconds=60, limit=1000):
                for claim in claims:
                    seen.append(claim.message)
                    await store.outbox_ack(claim)
            return seen
        finally:
            await store.close()

    return run(drain())  # type: ignore[no-any-return]


def _body(message: OutboxMessage) -> Any:
    assert message.body is not None
    return msgspec.json.decode(message.body)


def test_location_writes_go_to_every_emsp(client: TestClient[Any], seeded: Settings) -> None:
    location = our_location()
    evse = location["evses"][0]
    assert client.put("/api/locations/LOC1", json=location, headers=API).status_code == 201
    assert client.put(f"/api/locations/LOC1/evses/{evse['uid']}", json=evse, headers=API).status_code == 200
    status = client.post(f"/api/locations/LOC1/evses/{evse['uid']}/status", json={"status": "CHARGING"}, headers=API)
    assert status.status_code == 200
    messages = _drain(seeded.store)
    for partner in ("ems", "oth"):
        lane = [m for m in messages if m.partner_id == partner]
        assert [(m.module, m.method, m.path) for m in lane] == [
            ("locations", "PUT", "/NL/GWY/LOC1"),
            ("locations", "PUT", f"/NL/GWY/LOC1/{evse['uid']}"),
            ("locations", "PATCH", f"/NL/GWY/LOC1/{evse['uid']}"),
        ]
        assert {m.key for m in lane} == {"locations:NL:GWY:LOC1"}
        assert _body(lane[2])["status"] == "CHARGING"
        assert lane[0].headers["OCPI-from-party-id"] == "GWY"
    assert not [m for m in messages if m.partner_id == "cpo"]


def test_a_session_and_its_cdr_go_to_the_token_owner_only_in_one_lane(client: TestClient[Any],
                                                                      seeded: Settings) -> None:
    assert client.put("/api/locations/LOC1", json=our_location(), headers=API).status_code == 201
    _drain(seeded.store)
    start = {"id": "S1", "token": {k: token()[k] for k in ("country_code", "party_id", "uid", "type", "contract_id")},
             "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1", "start_date_time": "2024-01-15T10:00:00Z"}
    assert client.post("/api/sessions", json=start, headers=API).status_code == 201
    for reading in ({"timestamp": "2024-01-15T11:00:00Z", "kwh": 10.0}, {"timestamp": "2024-01-15T11:30:00Z",
                                                                       "kwh": 12.0}):
        assert client.post("/api/sessions/S1/progress", json=reading, headers=API).status_code == 200
    stopped = client.post("/api/sessions/S1/stop", json={"timestamp": "2024-01-15T11:45:00Z", "kwh": 12.5},
                          headers=API)
    assert stopped.status_code == 201
    again = client.post("/api/sessions/S1/stop", json={"timestamp": "2024-01-15T11:45:00Z", "kwh": 12.5},
                        headers=API)
    assert again.status_code == 200  # a repeated stop pushes nothing more
    messages = _drain(seeded.store)
    assert {m.partner_id for m in messages} == {"ems"}
    assert [(m.module, m.method, m.path) for m in messages] == [
        ("sessions", "PUT", "/NL/GWY/S1"),
        ("sessions", "PATCH", "/NL/GWY/S1"),
        ("sessions", "PATCH", "/NL/GWY/S1"),
        ("sessions", "PUT", "/NL/GWY/S1"),
        ("cdrs", "POST", ""),
    ]
    assert {m.key for m in messages} == {"sessions:NL:GWY:S1"}
    first, second = _body(messages[1]), _body(messages[2])
    assert [len(p["charging_periods"]) for p in (first, second)] == [1, 1]  # only the new period: PATCH appends
    assert second["kwh"] == 12.0
    assert set(second) == {"kwh", "total_cost", "last_updated", "charging_periods"}
    completed = _body(messages[3])
    assert (completed["status"], len(completed["charging_periods"])) == ("COMPLETED", 3)
    assert _body(messages[4]) == json.loads(stopped.text)
    assert messages[4].policy == "until_accepted"


def test_own_tokens_imported_go_to_every_cpo(client: TestClient[Any], seeded: Settings) -> None:
    own = {**token("AB CD"), "country_code": "NL", "party_id": "EMP"}
    answer = client.post("/api/tokens/import?own=true", content=msgspec.json.encode(own), headers=API)
    assert answer.status_code == 200, answer.text
    partner_import = client.post("/api/tokens/import?partner=ems", content=msgspec.json.encode(token()), headers=API)
    assert partner_import.status_code == 200, partner_import.text  # a partner's tokens are not pushed
    [message] = _drain(seeded.store)
    assert (message.partner_id, message.module, message.method, message.path) == (
        "cpo", "tokens", "PUT", "/NL/EMP/AB%20CD?type=RFID"
    )
    assert message.headers["OCPI-from-party-id"] == "EMP"
    assert _body(message)["uid"] == "AB CD"
