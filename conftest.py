"""Suite-wide pytest configuration.

- Tests marked for one database engine are selected when the suite runs on that engine
  (`make test` runs on SQLite; with DATABASE_URL=postgres://... the PostgreSQL ones run).
- Under CI (CI=true) a skipped test fails the run: CI must run everything.
"""

import os

import pytest

pytest_plugins = [
    "madoguchi.core.testing.fixtures",
    "madoguchi.core.testing.live_server",
    "madoguchi.core.testing.mailservers",
    "madoguchi.core.testing.clamav",
]


def _engine() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine = _engine()
    other = "sqlite" if engine == "postgresql" else "postgresql"
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker(other) else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and call.when in ("setup", "call"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"Skipped under CI, where every test must run: {reason}"
