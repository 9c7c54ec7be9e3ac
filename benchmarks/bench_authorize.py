"""POST /api/authorize answered from the token cache (an RFID swipe of a whitelist ALWAYS token) through the
full stack (edge middleware, API key guard, body validation, Rust TokenCache, the stored
authorization_reference) versus a bare Litestar POST handler returning the same bytes.

Both run under Granian with one worker and are driven by wrk in the same run, on the SQLite store and on
Redis. Before the gateway starts, a partner owning 20 eMSP parties and 100,000 tokens (quick: 1,000) is
imported through the store, so the worker's warm start loads them into its cache. Every answer also stores
its ``authorization_reference`` with an expiry (``store.put_expiring``), which is part of what is measured.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec

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

if TYPE_CHECKING:
    from benchmarks._result import Result

__all__ = ("run",)

GROUP = "POST /api/authorize (cache hit)"
API_KEY = "benchmark-api-key"
PARTNER_TOKEN = "benchmark-emsp-token"


def _always_token(n: int) -> dict[str, object]:
    """The first valid RFID token with whitelist ALWAYS among the first ``n``: answered from the cache."""
    for i in range(n):
        token = tokens_token(i)
        if token["whitelist"] == "ALWAYS" and token["valid"] and token["type"] == "RFID":
            return token
    raise RuntimeError(f"no valid ALWAYS RFID token among the first {n}")


def _script(body: bytes, *, api_key: str | None) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body.decode())}",
             'wrk.headers["Content-Type"] = "application/json"']
    if api_key is not None:
        lines.append(f'wrk.headers["Authorization"] = {lua_string("Bearer " + api_key)}')
    return "\n".join(lines) + "\n"


def _check(url: str, body: bytes, token: dict[str, object]) -> tuple[bool, str]:
    """One request by hand: ALLOWED from the cache, and its reference can be read back. Returns (ok, text)."""
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    reply = httpx.post(f"{url}/api/authorize", content=body, headers=headers, timeout=5)
    if reply.status_code != 200:
        return False, reply.text
    answer = reply.json()
    ok = (answer.get("allowed") == "ALLOWED" and answer.get("source") == "cache"
          and answer.get("auth_method") == "WHITELIST" and answer.get("token", {}).get("uid") == token["uid"])
    stored = httpx.get(f"{url}/api/authorizations/{answer.get('authorization_reference')}", headers=headers, timeout=5)
    ok = ok and stored.status_code == 200 and stored.json().get("allowed") == "ALLOWED"
    return ok, reply.text


def _measure(store_url: str, n: int, seconds: float, connections: int, rounds: int) -> list[Result]:
    asyncio.run(seed_tokens(store_url, "bench-emsp", PARTNER_TOKEN, n))
    token = _always_token(n)
    body = msgspec.json.encode({"uid": token["uid"], "type": token["type"]})
    env = {"OCPI_STORE": store_url, "OCPI_LOG_LEVEL": "WARNING", "OCPI_API_KEY": API_KEY,
           "OCPI_PUBLIC_URL": "http://127.0.0.1:8000"}
    backend = store_url.split(":", 1)[0]
    ours: list[LoadResult] = []
    floor: list[LoadResult] = []
    with granian_server("gateway.app:create_app_from_env", env, health_path="/api/health") as gateway_url:
        correct, answer = _check(gateway_url, body, token)
        with (granian_server("benchmarks.bare_app:create_app", {"BARE_BODY": answer}) as bare_url,
              lua_script(_script(body, api_key=API_KEY)) as gateway_lua,
              lua_script(_script(body, api_key=None)) as bare_lua):
            for _ in range(rounds):
                floor.append(wrk(f"{bare_url}/api/authorize", seconds=seconds, connections=connections,
                                 script=bare_lua))
                ours.append(wrk(f"{gateway_url}/api/authorize", seconds=seconds, connections=connections,
                                script=gateway_lua))
        correct = correct and _check(gateway_url, body, token)[0]
    note = f"{n:,} tokens cached, wrk -t1 -c{connections}, {seconds}s x {rounds}, best round"
    return versus_floor(GROUP, f"gateway on {backend}", ours, floor, baseline="bare Litestar POST handler",
                        correct=correct, note=note)


def run(quick: bool) -> list[Result]:
    """Measure the gateway on SQLite and on Redis, each against the bare floor measured beside it."""
    n, seconds, connections, rounds = (1_000, 1, 8, 1) if quick else (100_000, 8, 32, 2)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        results += _measure(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", n, seconds, connections, rounds)
    with redis_server() as redis_url:
        results += _measure(redis_url, n, seconds, connections, rounds)
    return results
