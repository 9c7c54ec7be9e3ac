"""Token PUT (``PUT /ocpi/2.2.1/cpo/tokens/{cc}/{pid}/{uid}``, an eMSP pushing a new card) through the full
stack (partner auth, owner check, Token validation, the durable store write with its change-log entry, the
worker's cache) versus a bare Litestar PUT handler returning the same bytes.

Both run under Granian with one worker and are driven by wrk in the same run, on the SQLite store and on
Redis. wrk's Lua script gives every request a new uid (in the URL and, matching it, in the body), so each
PUT creates a token; a round-specific prefix keeps the rounds from replacing each other's tokens.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec
from litestar import Litestar, MediaType, Response, put

from benchmarks import bare_app
from benchmarks._load import (
    LoadResult,
    granian_server,
    lua_script,
    lua_string,
    seed_tokens,
    versus_floor,
    wrk,
)
from benchmarks._redis import redis_server
from benchmarks.data import tokens_token
from gateway.modules.tokens.service import TOKENS
from gateway.store import create_store

if TYPE_CHECKING:
    from benchmarks._result import Result

__all__ = ("create_bare_app", "run")

GROUP = "PUT token"
API_KEY = "benchmark-api-key"
PARTNER_TOKEN = "benchmark-emsp-token"
_UID = "UIDPLACEHOLDER"


@put("/{path:path}", media_type=MediaType.JSON, status_code=200)
async def fixed_put() -> Response[bytes]:
    """Answer every PUT with the same bytes."""
    return Response(content=bare_app.BODY, media_type=MediaType.JSON)


def create_bare_app() -> Litestar:
    """The bare floor of benchmarks/bare_app.py, answering PUT too (Granian factory)."""
    return Litestar(route_handlers=[bare_app.fixed_get, bare_app.fixed_post, fixed_put], openapi_config=None)


def _template() -> dict[str, object]:
    """A valid RFID token with whitelist ALWAYS whose uid is a placeholder."""
    return tokens_token(0, uid=_UID, type="RFID", whitelist="ALWAYS", valid=True)


def _script(template: dict[str, object], prefix: str, header: str | None) -> str:
    """A wrk script PUTting the template with uid ``{prefix}{n:012d}`` for the n-th request."""
    head, tail = msgspec.json.encode(template).decode().split(_UID)
    path = f"/ocpi/2.2.1/cpo/tokens/{template['country_code']}/{template['party_id']}/"
    lines = ['wrk.method = "PUT"', 'wrk.headers["Content-Type"] = "application/json"']
    if header is not None:
        lines.append(f'wrk.headers["Authorization"] = {lua_string(header)}')
    lines += [
        f"local head, tail, path, prefix = {lua_string(head)}, {lua_string(tail)}, {lua_string(path)}, "
        f"{lua_string(prefix)}",
        "local n = 0",
        "request = function()",
        "  n = n + 1",
        '  local uid = prefix .. string.format("%012d", n)',
        "  return wrk.format(nil, path .. uid, nil, head .. uid .. tail)",
        "end",
    ]
    return "\n".join(lines) + "\n"


def _check(url: str, template: dict[str, object], header: str) -> tuple[bool, str]:
    """One PUT by hand: 201 Created, the token reads back, and the worker's cache authorizes it."""
    uid = "CHECK000000000001"
    token = {**template, "uid": uid}
    target = f"{url}/ocpi/2.2.1/cpo/tokens/{template['country_code']}/{template['party_id']}/{uid}"
    reply = httpx.put(target, content=msgspec.json.encode(token),
                      headers={"Authorization": header, "Content-Type": "application/json"}, timeout=5)
    ok = reply.status_code == 201 and reply.json().get("status_code") == 1000
    read = httpx.get(target, headers={"Authorization": header}, timeout=5)
    ok = ok and read.status_code == 200 and read.json()["data"]["uid"] == uid
    asked = httpx.post(f"{url}/api/authorize", content=msgspec.json.encode({"uid": uid}),
                       headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5)
    ok = ok and asked.status_code == 200 and asked.json().get("allowed") == "ALLOWED"
    return ok, reply.text


async def _count(store_url: str) -> int:
    store = create_store(store_url)
    await store.open()
    try:
        return await store.count_objects(TOKENS)
    finally:
        await store.close()


def _measure(store_url: str, seeded: int, seconds: float, connections: int, rounds: int) -> list[Result]:
    asyncio.run(seed_tokens(store_url, "bench-emsp", PARTNER_TOKEN, seeded))
    header = "Token " + base64.b64encode(PARTNER_TOKEN.encode()).decode()
    template = _template()
    env = {"OCPI_STORE": store_url, "OCPI_LOG_LEVEL": "WARNING", "OCPI_API_KEY": API_KEY,
           "OCPI_PUBLIC_URL": "http://127.0.0.1:8000"}
    backend = store_url.split(":", 1)[0]
    ours: list[LoadResult] = []
    floor: list[LoadResult] = []
    with granian_server("gateway.app:create_app_from_env", env, health_path="/api/health") as gateway_url:
        correct, answer = _check(gateway_url, template, header)
        with granian_server("benchmarks.bench_token_put:create_bare_app", {"BARE_BODY": answer}) as bare_url:
            for round_ in range(rounds):
                with lua_script(_script(template, f"B{round_}", None)) as bare_lua:
                    floor.append(wrk(f"{bare_url}/", seconds=seconds, connections=connections, script=bare_lua))
                with lua_script(_script(template, f"R{round_}", header)) as gateway_lua:
                    ours.append(wrk(f"{gateway_url}/", seconds=seconds, connections=connections,
                                    script=gateway_lua))
    # Every answered PUT created a token (requests cut off at the end may have been written too).
    stored = asyncio.run(_count(store_url))
    correct = correct and stored >= seeded + 1 + sum(r.requests for r in ours)
    note = f"a new uid per request, wrk -t1 -c{connections}, {seconds}s x {rounds}, best round"
    return versus_floor(GROUP, f"gateway on {backend}", ours, floor, baseline="bare Litestar PUT handler",
                        correct=correct, note=note)


def run(quick: bool) -> list[Result]:
    """Measure the gateway on SQLite and on Redis, each against the bare floor measured beside it."""
    seeded, seconds, connections, rounds = (100, 1, 8, 1) if quick else (10_000, 8, 32, 2)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        results += _measure(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", seeded, seconds, connections, rounds)
    with redis_server() as redis_url:
        results += _measure(redis_url, seeded, seconds, connections, rounds)
    return results
