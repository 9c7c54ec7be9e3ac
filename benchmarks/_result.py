"""What every benchmark returns: a figure, the baseline it is compared with, and their ratio.

A benchmark module is ``benchmarks/bench_<name>.py`` exposing ``run(quick: bool) -> list[Result]``.
``quick=True`` runs tiny sizes so that CI proves the benchmark still works; it judges no speed.
"""

from __future__ import annotations

import msgspec

__all__ = ("Result",)


class Result(msgspec.Struct, frozen=True, kw_only=True):
    """One measured figure."""

    group: str
    """The operation measured, e.g. ``"GET version details"``."""
    name: str
    """What this row is, e.g. ``"gateway"`` or ``"rust TokenCache"``."""
    value: float
    """The figure, in ``unit``."""
    unit: str
    """e.g. ``"req/s"``, ``"lookups/s"``, ``"s"``, ``"bytes/token"``."""
    baseline_name: str | None = None
    """What the figure is compared with, measured in the same run."""
    baseline_value: float | None = None
    higher_is_better: bool = True
    correct: bool = True
    """The benchmarked code gave the right answer (a fast wrong answer must show)."""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (>1 is better), whatever the unit's direction."""
        if self.baseline_value is None or self.baseline_value == 0 or self.value == 0:
            return None
        if self.higher_is_better:
            return self.value / self.baseline_value
        return self.baseline_value / self.value
