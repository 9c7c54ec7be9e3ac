"""GET version details through the full stack (auth, envelope, edge middleware) versus a bare Litestar
handler returning the same bytes; both under Granian with one worker, driven by wrk in the same run."""

from __future__ import annotations

import asyncio
import base64
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from benchmarks._load import granian_server, versus_floor, wrk
from gateway.store import Partner, PartnerRole, create_store

if TYPE_CHECKING:
    from benchmarks._result import Result

__all__ = ("run",)

TOKEN = "benchmark-partner-token"
GROUP = "GET version details"


async def _seed(store_url: str) -> None:
    store = create_store(store_url)
    await store.open()
    now = datetime.now(UTC)
    await store.add_partner(Partner(
        id="bench", roles=(PartnerRole(country_code="DE", party_id="EMS", role="EMSP"),), state="REGISTERED",
        token_in=TOKEN, created=now, last_updated=now,
    ))
    await store.close()


def run(quick: bool) -> list[Result]:
    """Measure both servers; in full mode two interleaved rounds, keeping each side's best."""
    seconds, connections, rounds = (1, 8, 1) if quick else (8, 32, 2)
    headers = {"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()}
    with tempfile.TemporaryDirectory() as tmp:
        store_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        asyncio.run(_seed(store_url))
        env = {"OCPI_STORE": store_url, "OCPI_LOG_LEVEL": "WARNING", "OCPI_PUBLIC_URL": "http://127.0.0.1:8000"}
        with granian_server("gateway.app:create_app_from_env", env, health_path="/api/health") as gateway_url:
            reference = httpx.get(f"{gateway_url}/ocpi/2.2.1", headers=headers, timeout=5)
            correct = reference.status_code == 200 and reference.json()["status_code"] == 1000
            body = reference.text
            with granian_server("benchmarks.bare_app:create_app", {"BARE_BODY": body}) as bare_url:
                gateway_runs, bare_runs = [], []
                for _ in range(rounds):
                    bare_runs.append(wrk(f"{bare_url}/ocpi/2.2.1", seconds=seconds, connections=connections))
                    gateway_runs.append(wrk(f"{gateway_url}/ocpi/2.2.1", seconds=seconds, connections=connections,
                                            headers=headers))
    note = f"wrk -t1 -c{connections}, {seconds}s x {rounds}"
    return versus_floor(GROUP, "gateway (auth + envelope)", gateway_runs, bare_runs, baseline="bare Litestar handler",
                        correct=correct, note=note)
