"""Fixtures of the HTTP tests: the real app on a SQLite file, partners seeded in its store."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.settings import OwnRole, Settings
from gateway.store import Partner, PartnerRole, create_store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from litestar.types import ControllerRouterHandler

REGISTERED_TOKEN = "registered-token-123"
PENDING_TOKEN = "token-a-456"
REVOKED_TOKEN = "revoked-token-789"


def token_header(token: str) -> dict[str, str]:
    """``Authorization: Token <base64>`` as 2.2.1 partners send it."""
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def run(coro: Any) -> Any:
    """Run a coroutine to completion from a sync test."""
    return asyncio.run(coro)


async def _seed(store_url: str, partners: list[Partner]) -> None:
    store = create_store(store_url)
    await store.open()
    try:
        for partner in partners:
            await store.add_partner(partner)
    finally:
        await store.close()


def make_partner(partner_id: str, token: str, state: str, *, party_id: str = "EMS") -> Partner:
    """A partner record as the CLI would store it."""
    now = datetime.now(UTC)
    return Partner(
        id=partner_id,
        roles=(PartnerRole(country_code="DE", party_id=party_id, role="EMSP"),),
        state=state,  # type: ignore[arg-type]
        token_in=token,
        created=now,
        last_updated=now,
    )


async def read_partner(store_url: str, partner_id: str) -> Partner | None:
    """Read one partner from the store the app uses."""
    store = create_store(store_url)
    await store.open()
    try:
        return await store.get_partner(partner_id)
    finally:
        await store.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A CPO gateway on a SQLite file, with a small page cap so pagination shows."""
    return Settings(
        store=f"sqlite:///{tmp_path}/gateway.sqlite3",
        roles=(OwnRole(country_code="NL", party_id="GWY", role="CPO"),),
        public_url="http://gateway.test",
        api_key="back-office-key",
        max_page_limit=20,
    )


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    """The settings, with one registered, one pending (token A) and one unregistered partner in the store."""
    run(
        _seed(
            settings.store,
            [
                make_partner("registered", REGISTERED_TOKEN, "REGISTERED"),
                make_partner("pending", PENDING_TOKEN, "PENDING", party_id="PEN"),
                make_partner("revoked", REVOKED_TOKEN, "UNREGISTERED", party_id="REV"),
            ],
        )
    )
    return settings


@pytest.fixture
def extra_routes() -> list[ControllerRouterHandler]:
    """Routes a test module adds to the app (override in the module)."""
    return []


@pytest.fixture
def client(seeded: Settings, extra_routes: list[ControllerRouterHandler]) -> Iterator[TestClient[Any]]:
    """The real app (lifespan run, store open) behind Litestar's test client."""
    with TestClient(create_app(seeded, extra_routes), base_url="http://gateway.test") as test_client:
        yield test_client


def dual_role_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A platform playing both CPO and eMSP (NL/GWY) on the store ``request.param`` names (sqlite or redis)."""
    store = (
        f"sqlite:///{tmp_path}/gateway.sqlite3" if request.param == "sqlite" else request.getfixturevalue("clean_redis")
    )
    return Settings(
        store=store,
        roles=(
            OwnRole(country_code="NL", party_id="GWY", role="CPO"),
            OwnRole(country_code="NL", party_id="GWY", role="EMSP"),
        ),
        public_url="http://gateway.test",
        api_key="back-office-key",
        max_page_limit=20,
    )

