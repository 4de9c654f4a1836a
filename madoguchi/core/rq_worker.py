"""The RQ task backend's worker and its crash recovery (ADR 0019).

`TASK_BACKEND=rq` keeps tasks in Redis (django-tasks-rq). `madoguchi worker` then runs
`HeartbeatRQWorker`: RQ's SimpleWorker (tasks run in the worker process itself, as with the
database backend, so our heartbeat and scheduler threads and the database connections are never
forked) whose RQ name is our worker id, with the id in `current_worker_id()` while a task runs.

RQ by itself gives a job whose worker died (kill -9) back to nobody: it stays in the queue's
StartedJobRegistry until its time limit and a minute have passed, and RQ's maintenance (every
ten minutes) then fails it as abandoned. So our heartbeat decides instead: when a scheduler tick
declares the worker dead (core.workers, at most WORKER_DEAD_SECONDS and a tick after its last
beat), `rq_jobs_recover` puts the jobs it had started back at the front of their queues. Each
is taken by an atomic ZREM of its entry in the StartedJobRegistry, so it is re-queued once even
if two processes tried, and only after the transaction that declared the worker dead (and
handed back its state rows) has committed, so the re-run finds those rows handed back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from types import FrameType, TracebackType
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import JobStatus
from rq.worker import SimpleWorker

from madoguchi.core.rq_settings import RESULT_TTL_SECONDS, RQ_BACKEND, uses_rq
from madoguchi.core.scheduler import SchedulerThread
from madoguchi.core.workers import HeartbeatThread, as_worker, heartbeat_stop

logger = logging.getLogger(__name__)


def rq_queue_names(backend_name: str = "default") -> list[str]:
    """Return the queues of RQ backend `backend_name`, "default" first."""
    names = list(settings.TASKS[backend_name].get("QUEUES") or settings.RQ_QUEUES)
    return sorted(names, key=lambda name: (name != "default", name))


def _queue(name: str) -> Any:
    import django_rq
    from django_tasks_rq import Job

    return django_rq.get_queue(name, job_class=Job)


class HeartbeatRQWorker(SimpleWorker):
    """RQ's in-process worker whose name is our worker id, with heartbeat-friendly stops.

    A second SIGINT/SIGTERM during a task (a cold stop) leaves the job STARTED under this
    worker's name and the worker's heartbeat row unstopped, as `madoguchi worker` does with the
    database backend: the silence declares the worker dead and the job is re-queued, where RQ
    would have failed it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.running_task_id: str | None = None
        self.is_cold_stop = False

    @property
    def worker_id(self) -> str:
        """Our id for this worker: its RQ name, the `claimed_by` of the rows its tasks claim."""
        return str(self.name)

    @worker_id.setter
    def worker_id(self, value: str) -> None:
        # Declared dead while alive (core.workers.HeartbeatThread): its jobs went back under the
        # old name, the ones it starts from now on are marked with the new one.
        self.name = value

    @property
    def running_task(self) -> bool:
        return self.running_task_id is not None

    def execute_job(self, job: Any, queue: Any) -> None:
        close_old_connections()
        self.running_task_id = job.id
        with as_worker(self.worker_id):
            super().execute_job(job, queue)
        self.running_task_id = None  # not reached on a cold stop: the job stays ours
        close_old_connections()

    def subscribe(self) -> None:
        """Listen for RQ's worker commands, waking every second rather than RQ's 60.

        RQ stops this listener on shutdown and waits for it to wake (redis-py's
        `PubSubWorkerThread.stop`), so with 60 s every stop or restart took up to a minute.
        """
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler
        )

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        self.is_cold_stop = True
        super().request_force_stop(signum, frame)

    def _finalize_failure(
        self,
        job: Any,
        queue: Any,
        execution: Any,
        exc_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None],
    ) -> None:
        if self.is_cold_stop and exc_info[0] is SystemExit:
            raise SystemExit  # not a failure of the task: leave it STARTED for the recovery
        super()._finalize_failure(job, queue, execution, exc_info)


def rq_worker_build(*, queue_names: Sequence[str], worker_id: str) -> HeartbeatRQWorker:
    """Return a worker for these RQ queues, named `worker_id`."""
    queues = [_queue(name) for name in queue_names]
    return HeartbeatRQWorker(
        queues,
        name=worker_id,
        connection=queues[0].connection,
        job_class=queues[0].job_class,
        queue_class=type(queues[0]),
        default_result_ttl=RESULT_TTL_SECONDS,
    )


def rq_worker_run(
    worker: HeartbeatRQWorker,
    *,
    with_scheduler: bool,
    burst: bool = False,
    max_jobs: int | None = None,
    logging_level: str = "INFO",
) -> None:
    """Run `worker` with our heartbeat and (unless told not to) the embedded scheduler.

    Must run in the main thread: RQ installs its SIGINT/SIGTERM handlers and times tasks with
    SIGALRM. The first signal stops after the running task; a second one stops at once and
    leaves the task to the dead-worker recovery.
    """
    heartbeat = HeartbeatThread(worker=worker)  # type: ignore[arg-type]
    heartbeat.beat()  # registered before the first claim
    heartbeat.start()
    scheduler = SchedulerThread(holder=worker.worker_id, worker=worker)
    if with_scheduler:
        scheduler.start()
    try:
        worker.work(burst=burst, max_jobs=max_jobs, logging_level=logging_level)
    finally:
        scheduler.stop()
        heartbeat.stop()
        if not worker.running_task:
            heartbeat_stop(worker_id=worker.worker_id)  # stopped with nothing claimed
        close_old_connections()


@dataclass(frozen=True)
class _StartedJob:
    queue_name: str
    job_id: str
    composite_key: str


def rq_jobs_recover(worker_id: str) -> int:
    """Re-queue the RQ jobs dead worker `worker_id` had started; return how many it had.

    A recovery hook (core.workers): it runs in the transaction that declared the worker dead,
    and the jobs go back to their queues once that transaction commits.
    """
    started = _started_jobs(worker_id)
    if started:
        transaction.on_commit(partial(_requeue, started, worker_id))
    return len(started)


def _started_jobs(worker_id: str) -> list[_StartedJob]:
    from django_tasks_rq import Job

    found = []
    for name in rq_queue_names():
        queue = _queue(name)
        registry = queue.started_job_registry
        # No cleanup: RQ's own would fail the abandoned jobs we are about to re-queue.
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            try:
                job = Job.fetch(job_id, connection=queue.connection)
            except NoSuchJobError:
                continue
            if job.worker_name == worker_id and job.get_status(refresh=False) == JobStatus.STARTED:
                found.append(_StartedJob(name, job_id, f"{job_id}:{execution_id}"))
    return found


def _requeue(started: list[_StartedJob], worker_id: str) -> None:
    from django_tasks_rq import Job

    requeued = 0
    for entry in started:
        queue = _queue(entry.queue_name)
        registry = queue.started_job_registry
        # The claim: whoever removes the entry re-queues the job; anyone else finds it gone.
        if not queue.connection.zrem(registry.key, entry.composite_key):
            continue
        try:
            job = Job.fetch(entry.job_id, connection=queue.connection)
        except NoSuchJobError:
            continue
        with queue.connection.pipeline() as pipeline:
            execution = Execution.from_composite_key(entry.composite_key, queue.connection)
            execution.worker_name = worker_id  # to leave the dead worker's execution index too
            execution.delete(job=job, pipeline=pipeline)
            pipeline.execute()
        # At the front: it was taken before anything still waiting.
        queue.enqueue_job(job, at_front=True)
        requeued += 1
    if requeued:
        logger.warning("Re-queued %d RQ job(s) of dead worker %s", requeued, worker_id)


def logging_level_for(verbosity: int) -> str:
    return {0: "CRITICAL", 1: "INFO"}.get(verbosity, "DEBUG")


__all__ = [
    "RQ_BACKEND",
    "HeartbeatRQWorker",
    "logging_level_for",
    "rq_jobs_recover",
    "rq_queue_names",
    "rq_worker_build",
    "rq_worker_run",
    "uses_rq",
]
