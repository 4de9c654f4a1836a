"""Discover `benchmarks/bench_*.py`, run each at the chosen scale, print JSON Lines.

Usage: `python -m benchmarks [--scale quick|full] [--only NAME]...`; the scale also comes from
the `BENCH_SCALE` variable (quick by default). Each line is one result: benchmark, engine, scale,
row counts, p50_ms, p95_ms, n, target_ms, meets_target (or an `error`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from pathlib import Path

from benchmarks.harness import SCALES, error_result, log


def discover() -> list[str]:
    """Return the benchmark names (`bench_inbox.py` -> `inbox`), sorted."""
    here = Path(__file__).resolve().parent
    return sorted(path.stem.removeprefix("bench_") for path in here.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default=os.environ.get("BENCH_SCALE") or "quick",
        help="quick = 100,000 tickets, full = 1,000,000 (default: $BENCH_SCALE or quick)",
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)"
    )
    arguments = parser.parse_args(argv)
    if arguments.scale not in SCALES:
        parser.error(f"unknown scale {arguments.scale!r}")
    names = discover()
    if arguments.only:
        unknown = sorted(set(arguments.only) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        names = [name for name in names if name in arguments.only]
    failed = False
    for name in names:
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            results = module.run(arguments.scale)
        except Exception as error:  # one broken benchmark must not hide the others
            traceback.print_exc()
            results = [error_result(name, "", arguments.scale, repr(error))]
        for result in results:
            failed = failed or "error" in result
            print(json.dumps(result, ensure_ascii=False), flush=True)
    log("done" if not failed else "done, with errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
