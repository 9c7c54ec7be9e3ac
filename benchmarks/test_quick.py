"""CI runs every benchmark once in quick mode: it proves they still work and give right answers."""

from __future__ import annotations

import importlib

import pytest

from benchmarks.__main__ import discover, render


@pytest.mark.parametrize("name", discover())
def test_benchmark_runs_quick_and_correct(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    results = module.run(quick=True)
    assert results, f"{name} measured nothing"
    assert all(r.correct for r in results), render(results)
    assert all(r.value > 0 for r in results), render(results)
