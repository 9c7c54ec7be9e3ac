"""CDR pricing: the Rust engine (single calls and batch) against the pure-Python reference, same CDRs.

The reference and the three Rust rows are timed in interleaved rounds over the same CDRs, and each row keeps
its best round: on a shared machine a burst from other work then slows one round of one side rather than the
whole of one side, so the ratios move much less from run to run. A round of a Rust row repeats its call until
a quarter of a second has passed (one batch call takes a few milliseconds); the reference prices the CDRs
once per round. The batch is measured twice: with the per-period breakdown (the same bytes as ``price_cdr``)
and totals only (``breakdown=False``, what ``ocpi-gateway price --batch`` runs). Also prices 1,000,000
realistic CDRs (a mix of the spec's tariffs) in totals-only batches, replaying a pool of generated CDRs so that
generating them does not dominate the run. ``correct`` compares every Rust total with the reference on the
compared sample, the batch results with the single-call results, and the totals-only results with the full
ones minus the breakdown.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from benchmarks._result import Result
from benchmarks.data import pricing_cases
from gateway.core import CompiledTariff, price_cdr, price_cdr_batch
from tests.reference import pricing as reference

if TYPE_CHECKING:
    from collections.abc import Callable

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


def _round(price: Callable[[], Any], n: int, min_seconds: float) -> tuple[float, Any]:
    """One round: ``price`` (which prices the ``n`` CDRs) called until ``min_seconds`` have passed; CDRs/s and
    the last result."""
    calls = 0
    started = time.perf_counter()
    while True:
        result = price()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return _rate(n * calls, elapsed), result


def _interleaved(
    rows: dict[str, Callable[[], Any]], n: int, rounds: int, min_seconds: float
) -> tuple[dict[str, float], dict[str, Any]]:
    """Every row timed once per round, in turn: each row's best rate, and its result of the last round."""
    best = dict.fromkeys(rows, 0.0)
    results: dict[str, Any] = {}
    for _ in range(rounds):
        for name, price in rows.items():
            rate, results[name] = _round(price, n, min_seconds)
            best[name] = max(best[name], rate)
    return best, results


def run(quick: bool) -> list[Result]:
    """Measure CDRs priced per second and the time to price 1,000,000 CDRs."""
    n = 200 if quick else 3000
    cases = pricing_cases(n, seed=7)
    tariffs, batch = _compile(cases)

    rounds = 1 if quick else 7
    rates, results = _interleaved(
        {
            "reference": lambda: [reference.price(t, c, tz) for t, c, tz in cases],
            "single": lambda: [price_cdr(tariffs[i] if i is not None else None, c, tz) for i, c, tz in batch],
            "batch": lambda: price_cdr_batch(tariffs, batch),
            "totals": lambda: price_cdr_batch(tariffs, batch, breakdown=False),
        },
        n,
        rounds,
        min_seconds=0.0 if quick else 0.25,
    )
    ref_rate, single_rate, batch_rate, totals_rate = (rates[k] for k in ("reference", "single", "batch", "totals"))
    refs, singles, batched, totals = (results[k] for k in ("reference", "single", "batch", "totals"))

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
            note=f"{n} CDRs over {len(tariffs)} spec tariffs (+ embedded), best of {rounds} interleaved rounds",
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
