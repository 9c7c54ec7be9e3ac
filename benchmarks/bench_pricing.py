"""CDR pricing: the Rust engine (single calls and batch) against the pure-Python reference, same CDRs.

The batch is measured twice: with the per-period breakdown (the same bytes as ``price_cdr``) and totals only
(``breakdown=False``, what ``ocpi-gateway price --batch`` runs). Also prices 1,000,000 realistic CDRs (a mix of
the spec's tariffs) in totals-only batches, replaying a pool of generated CDRs so that generating them does not
dominate the run. ``correct`` compares every Rust total with the reference on the compared sample, the batch
results with the single-call results, and the totals-only results with the full ones minus the breakdown.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from benchmarks._result import Result
from benchmarks.data import pricing_cases
from gateway.core import CompiledTariff, price_cdr, price_cdr_batch
from tests.reference import pricing as reference

__all__ = ("run",)

_TOTALS = ("total_cost", "total_energy_cost", "total_time_cost", "total_parking_cost", "total_fixed_cost",
           "total_reservation_cost", "total_energy", "billed_energy", "billed_time", "billed_parking_time")  # fmt: skip


def _compile(
    cases: list[tuple[bytes | None, bytes, str]],
) -> tuple[list[CompiledTariff], list[tuple[int | None, bytes, str]]]:
    index: dict[bytes, int] = {}
    tariffs: list[CompiledTariff] = []
    batch: list[tuple[int | None, bytes, str]] = []
    for tariff, cdr, tz in cases:
        slot = None
        if tariff is not None:
            if tariff not in index:
                index[tariff] = len(tariffs)
                tariffs.append(CompiledTariff(tariff))
            slot = index[tariff]
        batch.append((slot, cdr, tz))
    return tariffs, batch


def _same(rust: bytes | str, ref: dict[str, Any]) -> bool:
    if not isinstance(rust, bytes):
        return False
    got = msgspec.json.decode(rust)
    return all(got[k] == v for k, v in ref.items() if k in _TOTALS)


def _without_periods(result: bytes | str) -> Any:
    if not isinstance(result, bytes):
        return result
    decoded = msgspec.json.decode(result)
    decoded["periods"] = []
    return decoded


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def run(quick: bool) -> list[Result]:
    """Measure CDRs priced per second and the time to price 1,000,000 CDRs."""
    n = 200 if quick else 3000
    cases = pricing_cases(n, seed=7)
    tariffs, batch = _compile(cases)

    started = time.perf_counter()
    refs = [reference.price(t, c, tz) for t, c, tz in cases]
    ref_rate = _rate(n, time.perf_counter() - started)

    started = time.perf_counter()
    singles = [price_cdr(tariffs[i] if i is not None else None, c, tz) for i, c, tz in batch]
    single_rate = _rate(n, time.perf_counter() - started)

    rounds = 3 if quick else 20
    started = time.perf_counter()
    for _ in range(rounds):
        batched = price_cdr_batch(tariffs, batch)
    batch_rate = _rate(n * rounds, time.perf_counter() - started)

    started = time.perf_counter()
    for _ in range(rounds):
        totals = price_cdr_batch(tariffs, batch, breakdown=False)
    totals_rate = _rate(n * rounds, time.perf_counter() - started)

    correct = all(_same(r, ref) for r, ref in zip(singles, refs, strict=True)) and batched == singles
    correct = correct and [msgspec.json.decode(t) for t in totals] == [_without_periods(s) for s in singles]

    total = 2000 if quick else 1_000_000
    pool = pricing_cases(200 if quick else 20_000, seed=11)
    pool_tariffs, pool_batch = _compile(pool)
    chunk = len(pool_batch)
    priced = 0
    started = time.perf_counter()
    while priced < total:
        take = min(chunk, total - priced)
        out = price_cdr_batch(pool_tariffs, pool_batch[:take], breakdown=False)
        correct = correct and all(isinstance(item, bytes) for item in out)
        priced += take
    million_s = time.perf_counter() - started

    group = "price CDRs"
    return [
        Result(
            group=group,
            name="python reference",
            value=ref_rate,
            unit="CDRs/s",
            correct=correct,
            note=f"{n} CDRs over {len(tariffs)} spec tariffs (+ embedded)",
        ),
        Result(
            group=group,
            name="rust price_cdr (one call per CDR)",
            value=single_rate,
            unit="CDRs/s",
            baseline_name="python reference",
            baseline_value=ref_rate,
            correct=correct,
        ),
        Result(
            group=group,
            name="rust price_cdr_batch",
            value=batch_rate,
            unit="CDRs/s",
            baseline_name="python reference",
            baseline_value=ref_rate,
            correct=correct,
            note="GIL released; cores shared from 256 cases",
        ),
        Result(
            group=group,
            name="rust price_cdr_batch, totals only",
            value=totals_rate,
            unit="CDRs/s",
            baseline_name="python reference",
            baseline_value=ref_rate,
            correct=correct,
            note="breakdown=False, as `ocpi-gateway price --batch`",
        ),
        Result(
            group=f"price {total:,} CDRs in batch",
            name="rust price_cdr_batch",
            value=million_s,
            unit="s",
            baseline_name="python reference (extrapolated)",
            baseline_value=total / ref_rate if ref_rate else None,
            higher_is_better=False,
            correct=correct,
            note=f"totals only; pool of {len(pool)} generated CDRs replayed in batches of {chunk}",
        ),
    ]
