"""Tokens between real gateways: an eMSP gateway (SQLite) owning tokens of every whitelist type, and CPO
gateways (sharing one Redis) that sync them, answer swipes from their caches, ask the eMSP in real time,
and fall back when the eMSP is down or hangs. Every row of the whitelist table (tokens.md section 4)."""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.e2e.conftest import Gateway

pytestmark = pytest.mark.e2e

CPO = ["--country-code", "NL", "--party-id", "CPO", "--role", "CPO"]
EMSP = ["--country-code", "DE", "--party-id", "EMS", "--role", "EMSP"]
API = {"Authorization": "Bearer e2e-key"}

# uid -> (whitelist, valid)
TOKENS = {
    "ALWAYS-OK": ("ALWAYS", True), "ALWAYS-BAD": ("ALWAYS", False),
    "ALLOWED-OK": ("ALLOWED", True), "ALLOWED-BAD": ("ALLOWED", False),
    "OFFLINE-OK": ("ALLOWED_OFFLINE", True), "OFFLINE-BAD": ("ALLOWED_OFFLINE", False),
    "NEVER-OK": ("NEVER", True), "NEVER-BAD": ("NEVER", False),
}


def _token(uid: str, whitelist: str, valid: bool) -> dict[str, Any]:
    return {"country_code": "DE", "party_id": "EMS", "uid": uid, "type": "RFID", "contract_id": f"DE-EMS-{uid}",
            "issuer": "Test eMSP", "valid": valid, "whitelist": whitelist, "last_updated": "2026-01-01T00:00:00Z"}


def _authorize(cpo: Gateway, uid: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    response = httpx.post(f"{cpo.url}/api/authorize", json={"uid": uid, **extra}, headers=API, timeout=15)
    return response.status_code, response.json()


def _decision(cpo: Gateway, uid: str) -> tuple[str, str]:
    status, body = _authorize(cpo, uid)
    assert status == 200, body
    return body["allowed"], body["source"]


@pytest.fixture
def network(start_gateway: Callable[..., Gateway], clean_redis: str, tmp_path: Path) -> dict[str, Any]:
    """An eMSP with its tokens, a CPO registered with it and synced, the partner id on the CPO side."""
    # No outbox worker on the eMSP: these tests are about sync and real-time questions, not token pushes
    # (test_flow_e2e covers those), and a pushed token would race the "realtime" and 404 answers below.
    emsp = start_gateway(f"sqlite:///{tmp_path}/emsp.sqlite3", EMSP,
                         env={"OCPI_MAX_PAGE_LIMIT": "3", "OCPI_OUTBOX_WORKER": "false"})
    own = tmp_path / "own.ndjson"
    own.write_bytes(b"\n".join(msgspec.json.encode(_token(u, w, v)) for u, (w, v) in TOKENS.items()))
    emsp.cli("tokens", "import", str(own), "--own")
    cpo = start_gateway(clean_redis, CPO, env={"OCPI_REALTIME_TIMEOUT": "1.0"})
    token_a = emsp.cli("partners", "add", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO").stdout.strip()
    cpo.cli("partners", "register", "--versions-url", emsp.versions_url, "--token-a", token_a)
    [partner] = json.loads(cpo.cli("partners", "list", "--json").stdout)
    synced = json.loads(cpo.cli("tokens", "sync", "--partner", partner["id"]).stdout)
    assert (synced["added"], synced["pages"], synced["rejected"]) == (8, 3, 0)
    return {"emsp": emsp, "cpo": cpo, "partner": partner["id"], "redis": clean_redis}


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_whitelist_rows_with_a_reachable_emsp(network: dict[str, Any]) -> None:
    cpo = network["cpo"]
    # The running CPO hears of the synced tokens through the change log.
    assert _eventually(lambda: _authorize(cpo, "ALWAYS-OK")[0] == 200)
    assert _decision(cpo, "ALWAYS-OK") == ("ALLOWED", "cache")
    assert _decision(cpo, "ALWAYS-BAD") == ("BLOCKED", "cache")
    assert _decision(cpo, "ALLOWED-OK") == ("ALLOWED", "cache")  # allowed_policy LOCAL
    assert _decision(cpo, "ALLOWED-BAD") == ("BLOCKED", "cache")
    assert _decision(cpo, "OFFLINE-OK") == ("ALLOWED", "realtime")
    assert _decision(cpo, "OFFLINE-BAD") == ("BLOCKED", "realtime")
    assert _decision(cpo, "NEVER-OK") == ("ALLOWED", "realtime")
    assert _decision(cpo, "NEVER-BAD") == ("BLOCKED", "realtime")  # valid=false still asks
    status, body = _authorize(cpo, "NEVER-OK", location_id="LOC1", evse_uids=["EVSE1"])
    assert body["auth_method"] == "AUTH_REQUEST"
    assert body["location"] == {"location_id": "LOC1", "evse_uids": ["EVSE1"]}
    status, unknown = _authorize(cpo, "NOBODY-KNOWS")
    assert (status, unknown["status_code"]) == (404, 2004)


def test_whitelist_rows_with_the_emsp_down_or_hanging(network: dict[str, Any]) -> None:
    cpo, emsp = network["cpo"], network["emsp"]
    assert _eventually(lambda: _authorize(cpo, "NEVER-OK")[0] == 200)
    assert emsp.process is not None
    os.killpg(emsp.process.pid, signal.SIGSTOP)  # accepts connections, answers nothing: a real timeout
    try:
        assert _decision(cpo, "OFFLINE-OK") == ("ALLOWED", "fallback")
        assert _decision(cpo, "NEVER-OK") == ("NOT_ALLOWED", "fallback")
    finally:
        os.killpg(emsp.process.pid, signal.SIGCONT)
    emsp.stop()  # down: connection refused
    assert _decision(cpo, "OFFLINE-OK") == ("ALLOWED", "fallback")
    assert _decision(cpo, "OFFLINE-BAD") == ("BLOCKED", "fallback")
    assert _decision(cpo, "NEVER-OK") == ("NOT_ALLOWED", "fallback")
    assert _decision(cpo, "ALWAYS-OK") == ("ALLOWED", "cache")


def test_changes_reach_every_worker_and_unknown_tokens_ask_the_default_emsp(
    network: dict[str, Any], start_gateway: Callable[..., Gateway]
) -> None:
    cpo, emsp = network["cpo"], network["emsp"]
    second = start_gateway(network["redis"], CPO, env={"OCPI_DEFAULT_EMSP": network["partner"]})
    assert _decision(second, "ALWAYS-OK") == ("ALLOWED", "cache")  # warm start from the shared store
    # The eMSP pushes a change to the first CPO process; the second one's cache hears of it.
    token = _credentials_token(network)
    header = {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}
    pushed = httpx.put(f"{cpo.url}/ocpi/2.2.1/cpo/tokens/DE/EMS/ALWAYS-OK", headers=header, timeout=10,
                       json=_token("ALWAYS-OK", "ALWAYS", False))
    assert pushed.status_code == 200
    assert _eventually(lambda: _decision(second, "ALWAYS-OK") == ("BLOCKED", "cache"))
    # A token only the eMSP knows: the second CPO asks its default eMSP in real time.
    fresh = emsp.workdir / "fresh.ndjson"
    fresh.write_bytes(msgspec.json.encode(_token("FRESH-1", "ALWAYS", True)))
    emsp.cli("tokens", "import", str(fresh), "--own")
    assert _decision(second, "FRESH-1") == ("ALLOWED", "realtime")
    status, _ = _authorize(cpo, "FRESH-1")  # the first CPO has no default eMSP
    assert status == 404


def _credentials_token(network: dict[str, Any]) -> str:
    """The credentials token the eMSP uses to call the CPO, as the CPO's store holds it."""
    import asyncio

    from gateway.store import create_store

    async def read() -> str:
        store = create_store(network["redis"])
        await store.open()
        try:
            [partner] = await store.list_partners()
            return partner.token_in
        finally:
            await store.close()

    return asyncio.run(read())
