"""Benchmarks run by `make bench` (`python -m benchmarks`).

Each `benchmarks/bench_<name>.py` exposes `run(scale: str) -> list[dict]`; the runner prints one
JSON object per result. Seeded databases live in `.bench/` (git-ignored) and are reused.
"""
