"""``ocpi-gateway outbox ...`` run as a subprocess on both stores, and ``GET /api/outbox`` on a real app."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.push.outbox import get_policy
from gateway.settings import Settings
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SqliteStore
from tests.unit.store.test_store_contract import make_partner
from tests.unit.store.test_store_outbox import LEASE, make_message

if TYPE_CHECKING:
    from pathlib import Path

    from gateway.store.base import OutboxMessage, Store

CLI_TIMEOUT = 60.0


def store_url(store: Store) -> str:
    if isinstance(store, SqliteStore):
        return f"sqlite:///{store.path}"
    assert isinstance(store, RedisStore)
    return store.url


def cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gateway.cli", "outbox", *args, "--store", store_url(store)]
    return subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False)


async def run_cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, store, *args)


async def seed_dead(store: Store, partner_ids: tuple[str, ...] = ("p1", "p1", "p2")) -> list[OutboxMessage]:
    """One message per partner id, each in its own lane, all dead letters now."""
    messages = [make_message(f"k:{n}", partner, due=-1) for n, partner in enumerate(partner_ids)]
    await store.outbox_add(messages)
    for claim in await store.outbox_claim(now=datetime.now(UTC), lease_seconds=LEASE, limit=100):
        await store.outbox_release(claim, next_attempt=datetime.now(UTC), error="OCPI 2001: no", dead=True)
    return messages


async def test_outbox_cli_status_counts_and_lists_dead_letters(store: Store) -> None:
    messages = await seed_dead(store)
    await store.outbox_add([make_message("k:x", "p2", due=3600)])
    done = await run_cli(store, "status", "--json", "--dead")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["partners"] == [
        {"partner_id": "p1", "pending": 0, "in_flight": 0, "dead": 2},
        {"partner_id": "p2", "pending": 1, "in_flight": 0, "dead": 1},
    ]
    assert status["total"]["dead"] == 3
    assert [d["id"] for d in status["dead_letters"]] == [m.id for m in messages]
    assert status["dead_letters"][0]["last_error"] == "OCPI 2001: no"
    table = await run_cli(store, "status", "--dead", "--partner", "p2")
    assert table.returncode == 0, table.stderr
    assert "p2" in table.stdout
    assert messages[2].id in table.stdout
    assert messages[0].id not in table.stdout


async def test_outbox_cli_retry_by_id_and_all_dead_of_a_partner(store: Store) -> None:
    messages = await seed_dead(store)
    done = await run_cli(store, "retry", messages[0].id)
    assert (done.returncode, done.stdout.strip()) == (0, "1"), done.stderr
    retried = await store.outbox_get(messages[0].id)
    assert retried is not None
    assert (retried.state, retried.attempts) == ("pending", 0)
    done = await run_cli(store, "retry", "--all-dead", "--partner", "p2")
    assert (done.returncode, done.stdout.strip()) == (0, "1"), done.stderr
    assert [m.id for m in await store.outbox_dead()] == [messages[1].id]
    claimed = await store.outbox_claim(now=datetime.now(UTC), lease_seconds=LEASE, limit=10)
    assert sorted(c.message.id for c in claimed) == sorted([messages[0].id, messages[2].id])


async def test_outbox_cli_drop(store: Store) -> None:
    messages = await seed_dead(store)
    unknown = await run_cli(store, "drop", messages[0].id, "nope")
    assert unknown.returncode == 1  # one of the two was not there
    assert await store.outbox_get(messages[0].id) is None
    done = await run_cli(store, "drop", "--all-dead")
    assert (done.returncode, done.stdout.strip()) == (0, "2"), done.stderr
    assert await store.outbox_counts(now=datetime.now(UTC)) == []


async def test_outbox_cli_needs_ids_or_all_dead(store: Store) -> None:
    for args in (("retry",), ("drop", "--all-dead", "m1")):
        done = await run_cli(store, *args)
        assert done.returncode == 2
        assert "--all-dead" in done.stderr


async def test_outbox_cli_policy(store: Store) -> None:
    await store.add_partner(make_partner("hub01"))
    assert (await run_cli(store, "policy", "hub01")).stdout.strip() == "default"
    done = await run_cli(store, "policy", "hub01", "until_accepted")
    assert (done.returncode, done.stdout.strip()) == (0, "until_accepted"), done.stderr
    assert await get_policy(store, "hub01") == "until_accepted"
    assert (await run_cli(store, "policy", "hub01", "default")).stdout.strip() == "default"
    assert await get_policy(store, "hub01") is None
    assert (await run_cli(store, "policy", "nobody", "send_once")).returncode == 1
    assert (await run_cli(store, "policy", "hub01", "sometimes")).returncode == 2


# -- the back-office API --------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Any:
    """The app on a fresh SQLite file, with an API key and no outbox worker (so the counts stay put)."""
    settings = Settings().with_changes(
        store=f"sqlite:///{tmp_path / 'gw.sqlite3'}", api_key="secret", outbox_worker=False
    )
    with TestClient(create_app(settings), base_url="http://gateway.test") as client:
        yield client


def test_outbox_api_counts_and_dead_letters(api: Any) -> None:
    store = api.app.state.gateway.store
    with api.portal() as portal:
        messages = portal.call(seed_dead, store, ("p1", "p2"))
    headers = {"Authorization": "Bearer secret"}
    answer = api.get("/api/outbox", headers=headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["partners"] == [
        {"partner_id": "p1", "pending": 0, "in_flight": 0, "dead": 1},
        {"partner_id": "p2", "pending": 0, "in_flight": 0, "dead": 1},
    ]
    assert body["total"] == {"partner_id": "*", "pending": 0, "in_flight": 0, "dead": 2}
    assert body.get("dead_letters") is None
    dead = api.get("/api/outbox", params={"dead": "true", "partner": "p2"}, headers=headers).json()
    assert [d["id"] for d in dead["dead_letters"]] == [messages[1].id]
    assert dead["partners"] == [{"partner_id": "p2", "pending": 0, "in_flight": 0, "dead": 1}]
    assert "body" not in dead["dead_letters"][0]
    assert api.get("/api/outbox", params={"limit": "x"}, headers=headers).status_code == 400


def test_outbox_api_needs_the_key(api: Any) -> None:
    assert api.get("/api/outbox").status_code == 401
    assert api.get("/api/outbox", headers={"Authorization": "Bearer wrong"}).status_code == 401
