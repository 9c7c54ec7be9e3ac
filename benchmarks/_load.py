"""HTTP load measurement: a server under Granian and wrk driving it, both on loopback, both stopped by pid.

Every load benchmark compares our endpoint with a baseline served the same way in the same run, so the
ratio holds on a noisy shared machine even when the absolute numbers move.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec

from benchmarks._redis import free_port
from benchmarks._result import Result

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = (
    "ChildRun", "LoadResult", "granian_server", "lua_script", "lua_string", "run_measured",
    "seed_tokens", "wrk",
)

START_TIMEOUT = 30.0


class LoadResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one wrk run measured."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int


@contextmanager
def granian_server(target: str, env: Mapping[str, str] | None = None, *, health_path: str = "/") -> Iterator[str]:
    """Serve ``module:factory`` under Granian with one worker on a free port; yield its base URL."""
    port = free_port()
    args = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--workers", "1",
            "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning", target]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's log outlives this block; closed with the server
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


@contextmanager
def lua_script(text: str) -> Iterator[Path]:
    """Write a wrk Lua script (POST/PUT bodies, headers, per-request paths) to a temporary file; yield its path."""
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        path = Path(tmp) / "script.lua"
        path.write_text(text)
        yield path


def lua_string(value: str) -> str:
    """``value`` as a Lua string literal (long brackets cannot be used: bodies may contain ``]]``)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class ChildRun(msgspec.Struct, frozen=True, kw_only=True):
    """A command run to its end: wall time, the peak RSS of that one process, its exit code and output."""

    seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: bytes
    stderr: bytes


def _high_water_rss(pid: int) -> int:
    """The process's own peak RSS so far (``VmHWM``, per address space, reset by exec), or 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_measured(args: list[str], env: Mapping[str, str] | None = None, *, timeout: float = 600.0) -> ChildRun:
    """Run ``args`` and measure its own peak RSS.

    The peak is the child's ``VmHWM``, read every 10 ms while it runs (its growth in its last 10 ms can be
    missed). ``wait4``'s ``ru_maxrss`` cannot serve: Linux counts in it the address space the child started
    from, a copy of this (large) benchmark process before exec, so every child would seem as big as the
    runner. It is used only when ``/proc`` gave nothing.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, env={**os.environ, **(env or {})}, stdout=out, stderr=err,
                                   cwd=Path(__file__).parent.parent)
        deadline = started + timeout
        peak = 0
        while True:
            peak = max(peak, _high_water_rss(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(seconds=seconds, peak_rss_bytes=peak or usage.ru_maxrss * 1024,
                        returncode=process.returncode, stdout=out.read(), stderr=err.read())


async def seed_tokens(store_url: str, partner_id: str, partner_token: str, n: int, *, chunk: int = 50_000) -> None:
    """Store a REGISTERED eMSP partner owning the 20 parties of :func:`benchmarks.data.tokens_parties`,
    and tokens 0 to ``n - 1`` in its namespace, through the gateway's own bulk ingest."""
    from datetime import UTC, datetime

    from benchmarks.data import tokens_ndjson, tokens_parties
    from gateway.modules.tokens.ingest import import_bytes
    from gateway.modules.tokens.service import TOKENS, TokenService, owners_of
    from gateway.store import Partner, PartnerRole, create_store

    store = create_store(store_url)
    await store.open()
    try:
        now = datetime.now(UTC)
        roles = tuple(PartnerRole(country_code=cc, party_id=pid, role="EMSP") for cc, pid in tokens_parties())
        await store.add_partner(Partner(id=partner_id, roles=roles, state="REGISTERED", token_in=partner_token,
                                        created=now, last_updated=now))
        service = TokenService(store, None)
        for start in range(0, n, chunk):
            summary = await import_bytes(service, tokens_ndjson(min(chunk, n - start), start=start), TOKENS,
                                         owners_of(roles))
            if summary.rejected:
                raise RuntimeError(f"seeding tokens failed: {summary.errors[:3]}")
    finally:
        await store.close()


def versus_floor(
    group: str, name: str, ours: list[LoadResult], floor: list[LoadResult], *, baseline: str, unit: str = "req/s",
    correct: bool = True, note: str = "",
) -> list[Result]:
    """Two rows from interleaved rounds: best throughput and its p99, each against the floor's best round.

    Every round of both sides must have answered requests and only 2xx, or the rows are marked incorrect.
    """
    best = max(ours, key=lambda r: r.requests_per_second)
    bare = max(floor, key=lambda r: r.requests_per_second)
    correct = correct and all(r.non_2xx == 0 and r.requests > 0 for r in ours + floor)
    return [
        Result(group=group, name=name, value=best.requests_per_second, unit=unit, baseline_name=baseline,
               baseline_value=bare.requests_per_second, correct=correct, note=note),
        Result(group=group, name=f"{name} p99 latency", value=best.p99_ms, unit="ms", higher_is_better=False,
               baseline_name=f"{baseline} p99", baseline_value=bare.p99_ms, correct=correct, note=note),
    ]

