"""EVSE status updates per second through ``POST /api/locations/{id}/evses/{uid}/status`` (API key check,
body decode, one read and one write of the Location, answer) under Granian with one worker, on SQLite and on
Redis, versus the bare Litestar POST handler (benchmarks/bare_app.py) serving the same answer bytes.

wrk posts through a Lua script that cycles over every EVSE of every seeded Location, alternating CHARGING
and AVAILABLE, so that writes spread over many Locations as a CSMS's would.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from benchmarks._load import granian_server, versus_floor, wrk
from benchmarks._redis import redis_server
from benchmarks.data import locations_location
from gateway.modules.locations.models import Location
from gateway.modules.locations.service import OWN, LocationService
from gateway.store import create_store

if TYPE_CHECKING:
    from benchmarks._load import LoadResult
    from benchmarks._result import Result

__all__ = ("run",)

API_KEY = "benchmark-api-key"
GROUP = "POST EVSE status"
EVSES = 4

_SCRIPT = """
local locations, evses, n = %(locations)d, %(evses)d, 0
local bodies = {'{"status":"CHARGING"}', '{"status":"AVAILABLE"}'}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
request = function()
  n = n + 1
  local loc = string.format("LOC%%07d", n %% locations)
  local evse = loc .. "-" .. (math.floor(n / locations) %% evses + 1)
  local path = "/api/locations/" .. loc .. "/evses/" .. evse .. "/status"
  return wrk.format("POST", path, nil, bodies[n %% 2 + 1])
end
"""


async def _seed(store_url: str, count: int) -> None:
    import msgspec

    store = create_store(store_url)
    await store.open()
    try:
        service = LocationService(store)
        for i in range(count):
            body = locations_location(f"LOC{i:07}", stamp=i, evses=EVSES)
            await service.put_location(OWN, msgspec.convert(body, Location, strict=False))
    finally:
        await store.close()


def _measure(store_url: str, count: int, script: Path, seconds: int, connections: int, rounds: int
             ) -> tuple[list[LoadResult], list[LoadResult], bool]:
    asyncio.run(_seed(store_url, count))
    env = {"OCPI_STORE": store_url, "OCPI_LOG_LEVEL": "WARNING", "OCPI_API_KEY": API_KEY,
           "OCPI_COUNTRY_CODE": "NL", "OCPI_PARTY_ID": "GWY", "OCPI_ROLE": "CPO"}
    auth = {"Authorization": f"Bearer {API_KEY}"}
    with granian_server("gateway.app:create_app_from_env", env, health_path="/api/health") as url:
        sample = httpx.post(f"{url}/api/locations/LOC0000001/evses/LOC0000001-1/status", json={"status": "BLOCKED"},
                            headers=auth, timeout=5)
        stored = httpx.get(f"{url}/api/locations/LOC0000001", headers=auth, timeout=5).json()
        correct = sample.status_code == 200 and stored["evses"][0]["status"] == "BLOCKED" and \
            stored["last_updated"] == sample.json()["last_updated"]
        with granian_server("benchmarks.bare_app:create_app", {"BARE_BODY": sample.text}) as bare_url:
            ours, floor = [], []
            for _ in range(rounds):
                floor.append(wrk(bare_url, seconds=seconds, connections=connections, script=script))
                ours.append(wrk(url, seconds=seconds, connections=connections, script=script))
        after = httpx.get(f"{url}/api/locations/LOC0000002", headers=auth, timeout=5).json()
        correct = correct and all(e["status"] in ("CHARGING", "AVAILABLE") for e in after["evses"])
    return ours, floor, correct and all(r.non_2xx == 0 for r in ours + floor)


def run(quick: bool) -> list[Result]:
    """Measure both stores; in full mode two interleaved rounds each, keeping each side's best."""
    count, seconds, connections, rounds = (50, 1, 8, 1) if quick else (1_000, 8, 16, 2)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "status.lua"
        script.write_text(_SCRIPT % {"locations": count, "evses": EVSES, "key": API_KEY})
        for name in ("sqlite", "redis"):
            if name == "sqlite":
                ours, floor, correct = _measure(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", count, script, seconds,
                                                connections, rounds)
            else:
                with redis_server() as url:
                    ours, floor, correct = _measure(url, count, script, seconds, connections, rounds)
            note = f"{count:,} locations x {EVSES} EVSEs, wrk -t1 -c{connections}, {seconds}s x {rounds}"
            results += versus_floor(GROUP, f"gateway on {name}", ours, floor, baseline="bare Litestar POST",
                                    unit="updates/s", correct=correct, note=note)
    return results
