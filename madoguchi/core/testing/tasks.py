"""A task for the crash-recovery test (core/tests/test_worker_recovery.py): it runs in a real
worker process, so it lives in an importable module rather than in the test."""

import time
from pathlib import Path

from madoguchi.core.tasks import task
from madoguchi.core.workers import current_worker_id


@task()
def hold_first_run(journal: str, hold_seconds: float) -> int:
    """Write "start <worker>" to `journal`; the first run then holds (to be killed); return runs.

    "done <worker>" follows each run that finished. The journal is appended with O_APPEND, one
    line per write, so two processes' lines never interleave.
    """
    path = Path(journal)
    earlier = path.read_text().count("start ") if path.exists() else 0
    with path.open("a") as output:
        output.write(f"start {current_worker_id()}\n")
    if earlier == 0:
        time.sleep(hold_seconds)
    with path.open("a") as output:
        output.write(f"done {current_worker_id()}\n")
    return earlier + 1
