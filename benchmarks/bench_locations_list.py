"""GET of a deep page of the CPO Locations list versus its first page, through the full stack under Granian
(one worker) on the Redis store and then on the SQLite store, driven by wrk in the same run.

The Redis store finds a page by rank in a sorted set (``ZRANGE start stop``: O(log N + page)); the SQLite
store finds it through counted blocks of the list order (``gateway/store/_sqlite_pages.py``: one small
read of the block counts, then a skip of at most one block). Either way the page at offset 290,000 of
300,000 Locations should cost about what the first page costs; the figure is the ratio of their request
rates per store (1.0 = equal, target >= 0.5: the deep page within 2x of the first).
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from datetime import UTC, datetime, timedelta

import httpx
import msgspec

from benchmarks._load import LoadResult, granian_server, wrk
from benchmarks._redis import redis_server
from benchmarks._result import Result
from benchmarks.data import locations_location
from gateway.modules.locations.service import OWN
from gateway.store import ObjectKey, Partner, PartnerRole, StoredObject, create_store

__all__ = ("run",)

TOKEN = "benchmark-partner-token"
GROUP = "GET locations page (Redis)"
GROUP_SQLITE = "GET locations page (SQLite)"
PAGE = 100
BATCH = 10_000
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def location_id(i: int) -> str:
    """The id of the i-th seeded Location (ids sort like the seeding order)."""
    return f"LOC{i:07}"


def _objects(start: int, stop: int) -> list[StoredObject]:
    encode = msgspec.json.encode
    objects = []
    for i in range(start, stop):
        body = locations_location(location_id(i), stamp=i, evses=1)
        objects.append(StoredObject(key=ObjectKey("NL", "GWY", location_id(i)),
                                    last_updated=_EPOCH + timedelta(seconds=i), data=encode(body)))
    return objects


async def _seed(store_url: str, count: int) -> None:
    store = create_store(store_url)
    await store.open()
    try:
        now = datetime.now(UTC)
        await store.add_partner(Partner(
            id="bench", roles=(PartnerRole(country_code="DE", party_id="EMS", role="EMSP"),), state="REGISTERED",
            token_in=TOKEN, created=now, last_updated=now,
        ))
        for start in range(0, count, BATCH):
            await store.put_objects(OWN, _objects(start, min(count, start + BATCH)))
    finally:
        await store.close()


def _page_ok(url: str, headers: dict[str, str], offset: int, total: int) -> bool:
    response = httpx.get(url, headers=headers, timeout=10)
    body = response.json()
    ids = [location["id"] for location in body.get("data") or ()]
    return (response.status_code == 200 and body["status_code"] == 1000
            and response.headers.get("X-Total-Count") == str(total)
            and ids == [location_id(i) for i in range(offset, min(total, offset + PAGE))])


def _shape(quick: bool) -> tuple[int, int, int]:
    """wrk seconds per run, connections, and rounds of (first page, deep page)."""
    return (1, 8, 1) if quick else (8, 16, 2)


def _measure(store_url: str, count: int, deep: int, *, quick: bool) -> tuple[list[LoadResult], list[LoadResult], bool]:
    """Seed the store, then measure the first and the deep page in interleaved rounds."""
    seconds, connections, rounds = _shape(quick)
    headers = {"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()}
    asyncio.run(_seed(store_url, count))
    env = {"OCPI_STORE": store_url, "OCPI_LOG_LEVEL": "WARNING", "OCPI_PUBLIC_URL": "http://127.0.0.1:8000",
           "OCPI_COUNTRY_CODE": "NL", "OCPI_PARTY_ID": "GWY", "OCPI_ROLE": "CPO"}
    with granian_server("gateway.app:create_app_from_env", env, health_path="/api/health") as url:
        first_url = f"{url}/ocpi/2.2.1/cpo/locations?offset=0&limit={PAGE}"
        deep_url = f"{url}/ocpi/2.2.1/cpo/locations?offset={deep}&limit={PAGE}"
        correct = _page_ok(first_url, headers, 0, count) and _page_ok(deep_url, headers, deep, count)
        first_runs, deep_runs = [], []
        for _ in range(rounds):
            first_runs.append(wrk(first_url, seconds=seconds, connections=connections, headers=headers))
            deep_runs.append(wrk(deep_url, seconds=seconds, connections=connections, headers=headers))
    return first_runs, deep_runs, correct and all(r.non_2xx == 0 for r in first_runs + deep_runs)


def _results(group: str, runs: tuple[list[LoadResult], list[LoadResult], bool], note: str, deep: int) -> list[Result]:
    """The two rows of one store: deep page rate against the first page's, and their p99 (best round of each)."""
    first_runs, deep_runs, correct = runs
    first = max(first_runs, key=lambda r: r.requests_per_second)
    deeper = max(deep_runs, key=lambda r: r.requests_per_second)
    return [
        Result(group=group, name=f"page at offset {deep:,}", value=deeper.requests_per_second, unit="req/s",
               baseline_name="first page", baseline_value=first.requests_per_second, correct=correct, note=note),
        Result(group=group, name=f"p99 at offset {deep:,}", value=deeper.p99_ms, unit="ms", higher_is_better=False,
               baseline_name="first page p99", baseline_value=first.p99_ms, correct=correct, note=note),
    ]


def run(quick: bool) -> list[Result]:
    """Seed each store (Redis, then SQLite), then measure its first and deep page in interleaved rounds."""
    count, deep = (2_000, 1_900) if quick else (300_000, 290_000)
    seconds, connections, rounds = _shape(quick)
    note = f"{count:,} locations, limit {PAGE}, wrk -t1 -c{connections}, {seconds}s x {rounds}"
    with redis_server() as store_url:
        on_redis = _measure(store_url, count, deep, quick=quick)
    with tempfile.TemporaryDirectory(prefix="bench-locations-") as tmp:
        on_sqlite = _measure(f"sqlite:///{tmp}/gateway.sqlite3", count, deep, quick=quick)
    return _results(GROUP, on_redis, note, deep) + _results(GROUP_SQLITE, on_sqlite, note, deep)
