"""Real gateway processes under Granian, on free loopback ports, stopped by pid at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from benchmarks._redis import free_port

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class Gateway:
    """One ``ocpi-gateway serve`` process and the CLI pointed at the same store."""

    def __init__(self, workdir: Path, store: str, identity: list[str], *, workers: int = 1,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = store
        self.identity = identity
        self.workdir = workdir
        self.workers = workers
        self.env = env or {}
        self.log_path = workdir / f"gateway-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def versions_url(self) -> str:
        """Our versions endpoint."""
        return f"{self.url}/ocpi/versions"

    def start(self) -> None:
        """Start serving and wait (bounded) until the health endpoint answers."""
        args = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port), "--store", self.store,
                "--workers", str(self.workers), "--public-url", self.url, "--api-key", "e2e-key", *self.identity]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(args, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                            env={**_clean_env(), **self.env}, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gateway did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server and its workers (the whole process group) by pid."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``ocpi-gateway`` with this gateway's store (and identity where the command takes it)."""
        command = [sys.executable, "-m", "gateway.cli", *args, "--store", self.store]
        if args[:2] in (("partners", "register"), ("partners", "rotate"), ("tokens", "import")):
            command += ["--public-url", self.url, *self.identity]
        result = subprocess.run(command, cwd=self.workdir, capture_output=True, text=True, timeout=60,
                                env=_clean_env(), check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OCPI_")}


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Start gateways for a test; every one is stopped afterwards."""
    started: list[Gateway] = []

    def start(store: str, identity: list[str], *, workers: int = 1, env: dict[str, str] | None = None) -> Gateway:
        gateway = Gateway(tmp_path, store, identity, workers=workers, env=env)
        started.append(gateway)
        gateway.start()
        return gateway

    try:
        yield start
    finally:
        for gateway in started:
            gateway.stop()
