from django.db import models


class Lease(models.Model):
    """A named lease taken by a conditional UPDATE, so exactly one process holds it at a time."""

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} ({self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S})"


class ScheduledJob(models.Model):
    """One periodic job: when it is next due, and how its last enqueue and run went.

    The scheduler enqueues a job by a conditional UPDATE of `next_due_at` (core.scheduler), so
    any number of schedulers enqueue it once per interval and none holds it between ticks.
    """

    class Outcome(models.TextChoices):
        OK = "ok", "ok"
        ERROR = "error", "error"

    name = models.CharField(max_length=100, primary_key=True)
    task_path = models.CharField(max_length=255, blank=True)
    interval_seconds = models.PositiveIntegerField()
    next_due_at = models.DateTimeField()
    created_at = models.DateTimeField()
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    last_enqueued_by = models.CharField(max_length=100, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """A worker process's sign of life, written every few seconds (core.workers).

    A worker whose last beat is older than MADOGUCHI_WORKER_DEAD_SECONDS is declared dead once
    (`declared_dead_at`, a conditional UPDATE), and the work it claimed goes back to the queue.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_beat_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    declared_dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["last_beat_at"], name="core_heartbeat_last_beat")]

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.host}:{self.pid})"
