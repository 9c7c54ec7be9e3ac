"""``python -m benchmarks run [--quick] [--only NAME] [--json PATH]``: run the benchmarks, print a table."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from benchmarks._result import Result

__all__ = ("discover", "main", "render")


def discover() -> list[str]:
    """The benchmark modules, ``bench_*`` in this package, sorted by name."""
    here = Path(__file__).parent
    return sorted(info.name for info in pkgutil.iter_modules([str(here)]) if info.name.startswith("bench_"))


def render(results: list[Result]) -> str:
    """A markdown table of the results."""
    lines = [
        "| group | measured | value | baseline | baseline value | ratio | correct |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for r in results:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        base = f"{r.baseline_value:,.4g} {r.unit}" if r.baseline_value is not None else ""
        lines.append(
            f"| {r.group} | {r.name} | {r.value:,.4g} {r.unit} | {r.baseline_name or ''} | {base} | {ratio} | "
            f"{'yes' if r.correct else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and print their table; exit 1 if any gave a wrong answer."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run benchmarks and print a table of ratios")
    run.add_argument("--quick", action="store_true", help="tiny sizes: proves each benchmark runs, judges nothing")
    run.add_argument("--only", action="append", default=[], help="run only bench_NAME (repeatable)")
    run.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    sub.add_parser("list", help="list the benchmark modules")
    args = parser.parse_args(argv)
    names = discover()
    if args.command == "list":
        print("\n".join(names))
        return 0
    if args.only:
        names = [n for n in names if n.removeprefix("bench_") in args.only or n in args.only]
    results: list[Result] = []
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.extend(module.run(quick=args.quick))
    header = (
        f"Benchmarks on {platform.node()} ({platform.machine()}, {platform.processor() or 'cpu'}), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}, "
        f"{'quick' if args.quick else 'full'} mode, {time.perf_counter() - started:.0f} s"
    )
    print(header)
    print()
    print(render(results))
    if args.json:
        args.json.write_bytes(msgspec.json.encode({"header": header, "results": results}))
    return 0 if all(r.correct for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
