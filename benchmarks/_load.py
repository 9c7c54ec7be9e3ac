"""HTTP load measurement: a server under Granian and wrk driving it, both on loopback, both stopped by pid.

Every load benchmark compares our endpoint with a baseline served the same way in the same run, so the
ratio holds on a noisy shared machine even when the absolute numbers move.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ("LoadResult", "granian_server", "wrk")

START_TIMEOUT = 30.0


class LoadResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one wrk run measured."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def granian_server(target: str, env: Mapping[str, str] | None = None, *, health_path: str = "/") -> Iterator[str]:
    """Serve ``module:factory`` under Granian with one worker on a free port; yield its base URL."""
    port = _free_port()
    args = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--workers", "1",
            "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning", target]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(args, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, cwd=Path(__file__).parent.parent)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"granian did not start {target}: {log.read()[-2000:].decode(errors='replace')}")
            try:
                httpx.get(url + health_path, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)(us|ms|s|m)$")


def _ms(text: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"unreadable wrk duration {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, *, seconds: float, connections: int = 32, headers: Mapping[str, str] | None = None,
        script: Path | None = None) -> LoadResult:
    """Drive ``url`` with wrk (one thread) and read requests/s and latency percentiles.

    Raises:
        RuntimeError: wrk is missing (``make tools`` installs it) or its output is unreadable.
    """
    executable = shutil.which("wrk")
    if executable is None:
        raise RuntimeError("wrk is not installed: run `make tools` (Debian package wrk)")
    args = [executable, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    output = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if not (rps and total and p50 and p99):
        raise RuntimeError(f"unreadable wrk output:\n{output}")
    return LoadResult(
        requests_per_second=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )
