"""The credentials handshake between two real gateway processes over HTTP: a CPO on Redis, an eMSP on SQLite.

Register (the eMSP starts with the CPO's token A), rotate with PUT, unregister with DELETE, and the
failures: a spent token A, a wrong token A, an unreachable partner.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.e2e.conftest import Gateway

pytestmark = pytest.mark.e2e

CPO = ["--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--business-name", "Test CPO"]
EMSP = ["--country-code", "DE", "--party-id", "EMS", "--role", "EMSP", "--business-name", "Test eMSP"]


def _partners(gateway: Gateway) -> list[dict[str, Any]]:
    return json.loads(gateway.cli("partners", "list", "--json").stdout)


def _get(gateway: Gateway, path: str, token: str) -> httpx.Response:
    header = "Token " + base64.b64encode(token.encode()).decode()
    return httpx.get(gateway.url + path, headers={"Authorization": header}, timeout=10)


@pytest.fixture
def pair(start_gateway: Callable[..., Gateway], clean_redis: str, tmp_path: Path) -> tuple[Gateway, Gateway]:
    cpo = start_gateway(clean_redis, CPO)
    emsp = start_gateway(f"sqlite:///{tmp_path}/emsp.sqlite3", EMSP)
    return cpo, emsp


def test_register_rotate_unregister_between_two_gateways(pair: tuple[Gateway, Gateway]) -> None:
    cpo, emsp = pair
    token_a = cpo.cli("partners", "add", "--country-code", "DE", "--party-id", "EMS", "--role", "EMSP").stdout.strip()
    assert len(token_a) >= 32
    assert _get(cpo, "/ocpi/versions", token_a).json()["status_code"] == 1000

    partner_id = emsp.cli("partners", "register", "--versions-url", cpo.versions_url, "--token-a", token_a)
    partner_id = partner_id.stdout.strip()

    [on_emsp] = _partners(emsp)
    assert on_emsp["id"] == partner_id
    assert on_emsp["state"] == "REGISTERED"
    assert on_emsp["version"] == "2.2.1"
    assert on_emsp["roles"] == [{"country_code": "NL", "party_id": "CPO", "role": "CPO", "business_name": "Test CPO"}]
    [on_cpo] = _partners(cpo)
    assert on_cpo["state"] == "REGISTERED"
    assert on_cpo["roles"][0]["business_name"] == "Test eMSP"
    # Token A is spent: it no longer opens anything, not even versions.
    assert _get(cpo, "/ocpi/versions", token_a).status_code == 401
    # Each side can now read the other's credentials with the token it was given.
    emsp_token_on_cpo = _token_used_by(emsp, cpo)
    creds = _get(cpo, "/ocpi/2.2.1/credentials", emsp_token_on_cpo).json()
    assert creds["data"]["roles"][0]["party_id"] == "CPO"
    assert emsp_token_on_cpo not in json.dumps(_partners(emsp) + _partners(cpo))

    emsp.cli("partners", "rotate", partner_id)
    assert _get(cpo, "/ocpi/2.2.1/credentials", emsp_token_on_cpo).status_code == 401
    rotated = _token_used_by(emsp, cpo)
    assert rotated != emsp_token_on_cpo
    assert _get(cpo, "/ocpi/2.2.1/credentials", rotated).json()["status_code"] == 1000

    emsp.cli("partners", "unregister", partner_id)
    assert _get(cpo, "/ocpi/2.2.1/credentials", rotated).status_code == 401
    assert _partners(cpo)[0]["state"] == "UNREGISTERED"
    assert _partners(emsp)[0]["state"] == "UNREGISTERED"
    # Unregistered: rotating again is refused locally, nothing is sent.
    assert emsp.cli("partners", "rotate", partner_id, check=False).returncode == 1


def _token_used_by(client_side: Gateway, server_side: Gateway) -> str:
    """The token ``client_side`` presents to ``server_side``, read the way an operator would: via the store."""
    import asyncio

    from gateway.store import create_store

    async def read() -> str:
        store = create_store(client_side.store)
        await store.open()
        try:
            [partner] = [p for p in await store.list_partners() if p.versions_url == server_side.versions_url]
            assert partner.token_out is not None
            return partner.token_out
        finally:
            await store.close()

    return asyncio.run(read())


def test_wrong_token_a_and_unreachable_partner_fail_cleanly(pair: tuple[Gateway, Gateway]) -> None:
    cpo, emsp = pair
    wrong = emsp.cli("partners", "register", "--versions-url", cpo.versions_url, "--token-a", "not-the-token",
                     check=False)
    assert wrong.returncode == 1
    assert "OCPI 3001" in wrong.stderr
    assert _partners(emsp) == []

    down = emsp.cli("partners", "register", "--versions-url", "http://127.0.0.1:9/ocpi/versions", "--token-a", "x",
                    check=False)
    assert down.returncode == 1
    assert _partners(emsp) == []


def test_token_a_cannot_register_twice(pair: tuple[Gateway, Gateway], start_gateway: Callable[..., Gateway],
                                       tmp_path: Path) -> None:
    cpo, emsp = pair
    token_a = cpo.cli("partners", "add", "--country-code", "DE", "--party-id", "EMS", "--role", "EMSP").stdout.strip()
    emsp.cli("partners", "register", "--versions-url", cpo.versions_url, "--token-a", token_a)
    other = start_gateway(f"sqlite:///{tmp_path}/other.sqlite3", ["--country-code", "FR", "--party-id", "OTH",
                                                                    "--role", "EMSP"])
    again = other.cli("partners", "register", "--versions-url", cpo.versions_url, "--token-a", token_a, check=False)
    assert again.returncode == 1
    assert [p["state"] for p in _partners(cpo)] == ["REGISTERED"]
