"""Session-wide fixtures: hypothesis profiles, a real redis-server on a free port, and both stores.

Narrower fixtures belong in the conftest.py next to the tests that use them.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import pytest
import redis
from hypothesis import settings

from benchmarks._redis import redis_server

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from gateway.store.base import Store

__all__ = ()

# No deadlines: a shared CI machine must not turn a slow example into a failure (no timing asserts).
settings.register_profile("fast", max_examples=25, deadline=None)
settings.register_profile("slow", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port for the whole session; yields ``redis://127.0.0.1:N/0``."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not on PATH: run `make tools` to install it", pytrace=False)
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """The session's Redis URL with its database emptied before the test."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_url


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """A factory of unopened stores of one backend that all share the same data (file or Redis database)."""
    if request.param == "sqlite":
        from gateway.store.sqlite import SqliteStore

        path = tmp_path / "data" / "store.sqlite3"
        return lambda: SqliteStore(path)
    from gateway.store.redis import RedisStore

    url = request.getfixturevalue("clean_redis")
    return lambda: RedisStore.from_url(url)


@pytest.fixture
async def store(make_store: Callable[[], Store]) -> AsyncIterator[Store]:
    """An opened store of each backend (SQLite in a temporary directory, Redis emptied), closed afterwards."""
    opened = make_store()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
