"""`madoguchi db_worker` is `madoguchi worker`: heartbeats and the scheduler (ADR 0016)."""

from madoguchi.core.management.commands.worker import Command

__all__ = ["Command"]
