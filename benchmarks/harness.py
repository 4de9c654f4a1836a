"""Run a benchmark once per database engine and time it.

Django binds to one database per process, so `run_engines` starts one child process per engine
with `DATABASE_URL` pointing at that engine's bench database. The child sets Django up, calls the
module's `measure(engine=, scale=)` and hands its results back through a JSON file. A module
then only writes `measure`; `run(scale)` is `run_engines(__name__, scale)`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(os.environ.get("BENCH_DIR", str(ROOT / ".bench")))
ENGINES = ("sqlite", "postgresql")
# `BENCH_ENGINES=sqlite` runs one engine only (while tuning).
SELECTED_ENGINES = tuple(
    engine for engine in os.environ.get("BENCH_ENGINES", ",".join(ENGINES)).split(",") if engine
)
SCALES = {"quick": 100_000, "full": 1_000_000}
POSTGRES_SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
SETTINGS_MODULE = "madoguchi.config.settings.bench"

Result = dict[str, Any]


def log(message: str) -> None:
    """Write progress to stderr: stdout carries only the JSON results."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def ticket_count(scale: str) -> int:
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    return SCALES[scale]


def database_name(dataset: str, scale: str) -> str:
    """Return the PostgreSQL database name of a dataset (one per scale, so both stay seeded)."""
    prefix = os.environ.get("BENCH_PG_PREFIX", "madoguchi_bench")  # own databases per session
    return f"{prefix}_{dataset}_{scale}"


def database_url(engine: str, dataset: str, scale: str) -> str:
    if engine == "sqlite":
        return f"sqlite:///{BENCH_DIR / f'{dataset}-{scale}.sqlite3'}"
    if engine == "postgresql":
        return f"{POSTGRES_SERVER_URL}/{database_name(dataset, scale)}"
    raise ValueError(f"Unknown engine {engine!r}")


def ensure_postgres_database(name: str) -> None:
    """Create the database `name` on the bench PostgreSQL server if it does not exist."""
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER_URL}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER_URL}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def error_result(benchmark: str, engine: str, scale: str, error: str) -> Result:
    return {"benchmark": benchmark, "engine": engine, "scale": scale, "error": error}


def run_engines(
    module: str, scale: str, *, dataset: str, engines: Iterable[str] = SELECTED_ENGINES
) -> list[Result]:
    """Run `module.measure(engine=, scale=)` in one child process per engine; gather results."""
    benchmark = module.rsplit(".", 1)[-1].removeprefix("bench_")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    for engine in engines:
        if engine == "postgresql":
            try:
                ensure_postgres_database(database_name(dataset, scale))
            except Exception as error:  # any failure to connect is reported
                results.append(
                    error_result(benchmark, engine, scale, f"PostgreSQL unreachable: {error}")
                )
                continue
        with tempfile.NamedTemporaryFile(suffix=".json", dir=BENCH_DIR, delete=False) as out:
            output = Path(out.name)
        env = {
            **os.environ,
            "DATABASE_URL": database_url(engine, dataset, scale),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "BENCH_SCALE": scale,
        }
        command = [sys.executable, "-m", "benchmarks.harness", module, engine, scale, str(output)]
        log(f"{benchmark}: {engine}, scale {scale}")
        try:
            completed = subprocess.run(command, env=env, cwd=ROOT, check=False)  # noqa: S603
            if completed.returncode != 0:
                results.append(
                    error_result(
                        benchmark, engine, scale, f"child exited with {completed.returncode}"
                    )
                )
                continue
            results.extend(json.loads(output.read_text()))
        finally:
            output.unlink(missing_ok=True)
    return results


def _child(module_name: str, engine: str, scale: str, output: Path) -> None:
    import django

    django.setup()
    module = importlib.import_module(module_name)
    results = module.measure(engine=engine, scale=scale)
    output.write_text(json.dumps(results, ensure_ascii=False))


def percentile(samples: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `samples` (0 < fraction <= 1)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def time_calls(call: Callable[[], object], *, n: int = 200, warmup: int = 20) -> dict[str, Any]:
    """Call `call` `warmup` times, then `n` timed times; return percentiles in milliseconds.

    `p50_ms`/`p95_ms` are wall-clock; `cpu_p50_ms`/`cpu_p95_ms` count only this process's CPU
    (Django plus SQLite, not the PostgreSQL server), which stays meaningful when other work
    competes for the cores; `load_average` says how busy the machine was.
    """
    for _ in range(warmup):
        call()
    gc.collect()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {
        "p50_ms": round(statistics.median(wall), 2),
        "p95_ms": round(percentile(wall, 0.95), 2),
        "max_ms": round(max(wall), 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "cpu_p95_ms": round(percentile(cpu, 0.95), 2),
        "n": n,
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Child process of run_engines (internal).")
    parser.add_argument("module")
    parser.add_argument("engine", choices=ENGINES)
    parser.add_argument("scale", choices=sorted(SCALES))
    parser.add_argument("output", type=Path)
    arguments = parser.parse_args()
    _child(arguments.module, arguments.engine, arguments.scale, arguments.output)


if __name__ == "__main__":
    main()
