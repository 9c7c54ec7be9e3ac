"""Bulk token import into Redis: ``ocpi-gateway tokens import FILE --partner ID --store redis://...`` of
1,000,000 tokens (quick: 5,000) of 20 eMSP parties, as a subprocess: its wall time and its own peak RSS.

Baseline, in the same run and on the same throwaway redis-server: a plain redis-py pipeline (no
transaction) writing the same lines as ``SET`` commands, also as a subprocess that streams the file, so
both the seconds and the peak RSS have a raw floor. The import does more by design (validation, the
owner and global indexes, the change-log entry per batch, a resumable checkpoint); targets on the
reference machine (2 cores): under 30 s and under 1 GiB.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import msgspec
import redis

from benchmarks._load import ChildRun, run_measured, seed_tokens
from benchmarks._redis import redis_server
from benchmarks._result import Result
from benchmarks.data import tokens_ndjson

__all__ = ("run",)

GROUP = "tokens import into Redis"
PARTNER = "bench-emsp"
_RAW_DB = 1
_RAW_BATCH = 5_000
_GENERATE_CHUNK = 100_000


def _write_file(path: Path, n: int) -> None:
    with path.open("wb") as out:
        for start in range(0, n, _GENERATE_CHUNK):
            if start:
                out.write(b"\n")
            out.write(tokens_ndjson(min(_GENERATE_CHUNK, n - start), start=start))


def raw_set(path: Path, url: str) -> int:
    """The floor: every line of ``path`` as ``SET raw:N line`` through a non-transactional pipeline."""
    client = redis.Redis.from_url(url)
    written = 0
    try:
        pipe = client.pipeline(transaction=False)
        with path.open("rb") as lines:
            for line in lines:
                pipe.set(f"raw:{written}", line.rstrip(b"\n"))
                written += 1
                if written % _RAW_BATCH == 0:
                    pipe.execute()
        pipe.execute()
    finally:
        client.close()
    return written


def _redis_at(url: str, db: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{db}"


def _tokens_stored(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.zcard("ocpi:{all:tokens}:idx"))
    finally:
        client.close()


def _dbsize(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.dbsize())
    finally:
        client.close()


def run(quick: bool) -> list[Result]:
    """Import ``n`` tokens with the CLI and write them with the raw pipeline; compare seconds and peak RSS."""
    n = 5_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp, redis_server() as url:
        path = Path(tmp) / "tokens.ndjson"
        _write_file(path, n)
        megabytes = path.stat().st_size / 1e6
        raw_url = _redis_at(url, _RAW_DB)
        floor = run_measured([sys.executable, "-m", "benchmarks.bench_token_bulk", "raw-set", str(path), raw_url])
        raw_correct = floor.returncode == 0 and _dbsize(raw_url) == n
        redis.Redis.from_url(raw_url).flushdb()

        asyncio.run(seed_tokens(url, PARTNER, "benchmark-emsp-token", 0))
        cli = Path(sys.executable).with_name("ocpi-gateway")
        ours: ChildRun = run_measured([str(cli), "tokens", "import", str(path), "--partner", PARTNER,
                                       "--store", url], {"OCPI_LOG_LEVEL": "WARNING"})
        try:
            summary = msgspec.json.decode(ours.stdout.strip().splitlines()[-1]) if ours.stdout.strip() else {}
        except msgspec.DecodeError:
            summary = {}
        correct = (ours.returncode == 0 and summary.get("read") == n and summary.get("added") == n
                   and summary.get("rejected") == 0 and _tokens_stored(url) == n)
        if not correct:
            print(f"tokens import failed ({ours.returncode}): {ours.stdout[-500:]!r} {ours.stderr[-1500:]!r}",
                  file=sys.stderr)
    note = f"{n:,} tokens, {megabytes:.0f} MB NDJSON; target < 30 s, < 1 GiB"
    return [
        Result(group=GROUP, name=f"ocpi-gateway tokens import ({n:,})", value=ours.seconds, unit="s",
               higher_is_better=False, baseline_name="redis-py pipeline of SETs", baseline_value=floor.seconds,
               correct=correct and raw_correct, note=note),
        Result(group=GROUP, name=f"import peak RSS ({n:,})", value=ours.peak_rss_bytes / 2**20, unit="MiB",
               higher_is_better=False, baseline_name="redis-py pipeline peak RSS",
               baseline_value=floor.peak_rss_bytes / 2**20, correct=correct and raw_correct, note=note),
    ]


if __name__ == "__main__":
    # python -m benchmarks.bench_token_bulk raw-set FILE URL: the baseline, run as its own process.
    if len(sys.argv) != 4 or sys.argv[1] != "raw-set":
        sys.exit("usage: python -m benchmarks.bench_token_bulk raw-set FILE REDIS_URL")
    print(raw_set(Path(sys.argv[2]), sys.argv[3]))
