"""Session-wide fixtures: hypothesis profiles, a real redis-server on a free port, and both stores.

Narrower fixtures belong in the conftest.py next to the tests that use them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING

import pytest
import redis
from hypothesis import settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from gateway.store.base import Store

__all__ = ()

# No deadlines: a shared CI machine must not turn a slow example into a failure (no timing asserts).
settings.register_profile("fast", max_examples=25, deadline=None)
settings.register_profile("slow", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

REDIS_START_TIMEOUT = 10.0
REDIS_STOP_TIMEOUT = 5.0


def _free_port() -> int:
    """A loopback port that was free a moment ago (the server start retries if another process took it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    """Whether a Redis server on ``port`` answers PING right now."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started: terminate, then kill after a bounded wait."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=REDIS_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=REDIS_STOP_TIMEOUT)


def _start_redis(executable: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server on a free loopback port and wait (bounded) until it answers PING."""
    port = _free_port()
    log = (workdir / f"redis-{port}.log").open("wb")
    args = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--daemonize", "no", "--dir", str(workdir)]
    with log:
        process = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if _answers_ping(port):
            return process, port
        time.sleep(0.05)
    _stop(process)
    output = (workdir / f"redis-{port}.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"redis-server did not answer PING on port {port} (exit code {process.returncode}):\n{output}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port for the whole session; yields ``redis://127.0.0.1:N/0``."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not on PATH: run `make tools` to install it", pytrace=False)
    workdir = tmp_path_factory.mktemp("redis")
    for attempt in range(3):
        try:
            process, port = _start_redis(executable, workdir)
            break
        except RuntimeError:
            if attempt == 2:  # the free port may have been taken in between: try a new one
                raise
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


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
