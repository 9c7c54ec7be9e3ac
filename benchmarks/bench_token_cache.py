"""The token cache: Rust ``TokenCache`` against a plain Python dict of msgspec ``Token`` Structs, same tokens.

Measured over 1,000,000 generated tokens of 20 eMSPs (2,000 in quick mode):

- authorisations per second, one Python call each: the key's CiStrings normalised, the lookup, the
  whitelist decision and the token's JSON (what ``authorize`` returns). The dict side upper-cases the
  key, looks up, decides with the pure-Python reference and encodes the Struct with msgspec. A second
  baseline skips the encoding (returns the Struct), the cheapest a Python cache can be. Each answer is
  dropped as soon as it is made, as a caller that sends it on does; a last row keeps all 300,000
  answers in a list instead, which adds the same allocation, page faults and cache pollution (about
  270 ns a call) to both sides and so shows a lower ratio;
- the same through ``authorize_many`` (one call per 10,000 keys, GIL released; keys encoded in the loop);
- bytes per token: Rust as the process's resident memory grows over a load (after ``malloc_trim``),
  the dict as tracemalloc counts it (no allocator overhead: in the dict's favour);
- time to load all tokens from NDJSON: ``TokenCache.load`` against msgspec's ``decode_lines`` into the dict.

``correct`` checks that Rust and the dict give the same decision and the same token for every key.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

import msgspec

from benchmarks._result import Result
from benchmarks.data import tokens_keys, tokens_ndjson
from gateway.core import TokenCache
from gateway.modules.tokens.models import Token
from tests.reference import whitelist as reference

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("run",)

_GROUP_LOOKUP = "authorize one token (lookup + decision + token JSON)"
_KEY = tuple[str, str, str, str]
_ENCODE = msgspec.json.Encoder()


def _rss() -> int:
    """Resident memory of this process in bytes, after returning freed heap to the system (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _dict_of(data: bytes) -> dict[_KEY, Token]:
    tokens = msgspec.json.Decoder(Token).decode_lines(data)
    return {(t.country_code.upper(), t.party_id.upper(), t.uid.upper(), t.type.value): t for t in tokens}


def _dict_authorize(table: dict[_KEY, Token], key: _KEY, encode: bool) -> tuple[str, str | None, Any]:
    cc, pid, uid, kind = key
    token = table.get((cc.upper(), pid.upper(), uid.upper(), kind))
    if token is None:
        return ("UNKNOWN", None, None)
    action, allowed = reference.decide(token.whitelist, token.valid, True, "LOCAL")
    return (action, allowed, _ENCODE.encode(token) if encode else token)


def _best_rate(count: int, body: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - started)
    return count / best if best > 0 else 0.0


def _same(rust: tuple[str, str | None, bytes | None], py: tuple[str, str | None, Any]) -> bool:
    if rust[:2] != py[:2] or (rust[2] is None) != (py[2] is None):
        return False
    return rust[2] is None or msgspec.json.decode(rust[2], type=Token) == py[2]


def _load(data: bytes, n: int) -> tuple[TokenCache, list[Result], float]:
    """Load into Rust and into the dict; time both, and measure Rust's memory per token."""
    gc.collect()
    before = _rss()
    cache = TokenCache()
    started = time.perf_counter()
    added, _ = cache.load(data)
    rust_load = time.perf_counter() - started
    rust_bytes = (_rss() - before) / n
    if rust_bytes <= 0:
        # The allocator reused memory the process had already freed (small loads after other work): RSS
        # growth says nothing then, so count what the cache itself reports holding.
        rust_bytes = cache.memory_bytes() / n
    started = time.perf_counter()
    table = _dict_of(data)
    dict_load = time.perf_counter() - started
    ok = added == n == len(table) == len(cache)
    del table
    results = [
        Result(group=f"load {n:,} tokens from NDJSON", name="rust TokenCache.load", value=rust_load, unit="s",
               baseline_name="msgspec decode_lines into a dict", baseline_value=dict_load, higher_is_better=False,
               correct=ok),
    ]  # fmt: skip
    return cache, results, rust_bytes


def run(quick: bool) -> list[Result]:
    """Measure authorisations per second, memory per token and bulk load time, Rust against a Python dict."""
    n = 2000 if quick else 1_000_000
    data = tokens_ndjson(n)
    cache, results, rust_bytes = _load(data, n)

    gc.collect()
    tracemalloc.start()
    table = _dict_of(data)
    gc.collect()
    dict_bytes = tracemalloc.get_traced_memory()[0] / n
    tracemalloc.stop()
    results.append(
        Result(group="memory per token", name="rust TokenCache (RSS growth)", value=rust_bytes, unit="bytes/token",
               baseline_name="dict of msgspec Structs (tracemalloc)", baseline_value=dict_bytes,
               higher_is_better=False, correct=rust_bytes > 0,
               note=f"TokenCache.memory_bytes: {cache.memory_bytes() / n:.0f} bytes/token"),
    )  # fmt: skip

    keys = tokens_keys(n, 2000 if quick else 300_000)
    rust_answers = [cache.authorize(*k) for k in keys]
    dict_answers = [_dict_authorize(table, k, encode=False) for k in keys]
    correct = all(_same(r, p) for r, p in zip(rust_answers, dict_answers, strict=True))
    repeat = 1 if quick else 3
    authorize = cache.authorize

    def rust_dropped() -> None:
        for key in keys:
            authorize(*key)

    def dict_dropped(encode: bool) -> None:
        for key in keys:
            _dict_authorize(table, key, encode)

    rust_rate = _best_rate(len(keys), rust_dropped, repeat)
    dict_rate = _best_rate(len(keys), lambda: dict_dropped(True), repeat)
    bare_rate = _best_rate(len(keys), lambda: dict_dropped(False), repeat)
    rust_kept = _best_rate(len(keys), lambda: [authorize(*k) for k in keys], repeat)
    dict_kept = _best_rate(len(keys), lambda: [_dict_authorize(table, k, True) for k in keys], repeat)

    chunk = 10_000
    chunks = [keys[i : i + chunk] for i in range(0, len(keys), chunk)]
    batch = [cache.authorize_many(_ENCODE.encode(c)) for c in chunks]
    correct = correct and [a for b in batch for a in msgspec.json.decode(b)] == [
        {"action": r[0], "allowed": r[1], "token": msgspec.json.decode(r[2]) if r[2] else None} for r in rust_answers
    ]
    batch_rate = _best_rate(len(keys), lambda: [cache.authorize_many(_ENCODE.encode(c)) for c in chunks], repeat)

    results += [
        Result(group=_GROUP_LOOKUP, name="rust TokenCache.authorize", value=rust_rate, unit="lookups/s",
               baseline_name="dict + Python decision + msgspec encode", baseline_value=dict_rate, correct=correct),
        Result(group=_GROUP_LOOKUP, name="rust TokenCache.authorize", value=rust_rate, unit="lookups/s",
               baseline_name="dict + Python decision, Struct not encoded", baseline_value=bare_rate, correct=correct),
        Result(group=_GROUP_LOOKUP, name="rust TokenCache.authorize_many (10k per call)", value=batch_rate,
               unit="lookups/s", baseline_name="dict + Python decision + msgspec encode", baseline_value=dict_rate,
               correct=correct),
        Result(group=_GROUP_LOOKUP, name="rust TokenCache.authorize, answers kept in a list", value=rust_kept,
               unit="lookups/s", baseline_name="dict + Python decision + msgspec encode, answers kept",
               baseline_value=dict_kept, correct=correct),
    ]  # fmt: skip
    return results
