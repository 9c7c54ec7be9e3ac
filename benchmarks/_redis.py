"""A throwaway redis-server on a free loopback port, for benchmarks and for the tests' session fixture.

No persistence (no RDB, no AOF), the log in the working directory, stopped by its pid at the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("free_port", "redis_server")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
START_ATTEMPTS = 3
"""A free port may be taken by another process before the server binds it: start again on a new one."""


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill after a bounded wait."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _start(executable: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server on a free port and wait (bounded) until it answers PING."""
    port = free_port()
    log_path = workdir / f"redis-{port}.log"
    args = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", str(workdir)]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if _answers_ping(port):
            return process, port
        time.sleep(0.05)
    _stop(process)
    output = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"redis-server did not answer PING on port {port} (exit code {process.returncode}):\n{output}")


@contextmanager
def redis_server(workdir: Path | None = None) -> Iterator[str]:
    """Run a redis-server while the block runs; yields ``redis://127.0.0.1:PORT/0``.

    Args:
        workdir: Where its log goes; a temporary directory (removed afterwards) when omitted.

    Raises:
        RuntimeError: redis-server is missing (``make tools``) or did not answer PING in time.
    """
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed: run `make tools` (Debian package redis-server)")
    with tempfile.TemporaryDirectory(prefix="redis-") as scratch:
        directory = workdir or Path(scratch)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                process, port = _start(executable, directory)
                break
            except RuntimeError:
                if attempt == START_ATTEMPTS:
                    raise
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(process)
