"""Commit now, run the after-commit work a moment later: for a caller whose answer must not wait.

A chat visitor's message is acknowledged and pushed to the operators once it is committed. The
after-commit work its services register (search indexing, the inbound hooks) ran inside the
commit, before the push: two thirds of the time a visitor's message took to reach the operator
at 5,000 sockets (issue 19). `atomic_deferring_hooks()` is the outermost `transaction.atomic()`
whose `on_commit` callbacks (`core.commit_batches` batches among them) are handed to the caller
instead of run at commit; `DeferredHooks.run()` runs them afterwards as Django would have: in
order, a robust callback's failure logged, another's raised (and the rest not run).

The callbacks must then be run in the scope they were registered in (the caller's `in_shop`);
a caller that may be cancelled runs them in a `finally`, so the work is never skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.transaction import TransactionManagementError

logger = logging.getLogger(__name__)


@dataclass
class DeferredHooks:
    """The after-commit callbacks of a committed transaction, not run yet."""

    callbacks: list[tuple[Callable[[], object], bool]] = field(default_factory=list)
    is_committed: bool = False

    def run(self) -> None:
        """Run the callbacks once, in order (nothing when the transaction did not commit)."""
        callbacks, self.callbacks = self.callbacks, []
        if not self.is_committed:
            return
        for callback, robust in callbacks:
            if not robust:
                callback()
                continue
            try:
                callback()
            except Exception:
                logger.exception("Deferred after-commit callback %s failed", callback)


@contextmanager
def atomic_deferring_hooks(using: str = DEFAULT_DB_ALIAS) -> Iterator[DeferredHooks]:
    """`transaction.atomic()` for an outermost transaction whose after-commit callbacks are
    collected into the yielded `DeferredHooks` instead of run at commit."""
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:
        raise TransactionManagementError("Only the outermost transaction can defer its hooks.")
    hooks = DeferredHooks()
    with transaction.atomic(using=using):
        yield hooks
        # The last moment before the commit: the callbacks leave Django's list for ours.
        hooks.callbacks = [
            (callback, robust) for _ids, callback, robust in connection.run_on_commit
        ]
        connection.run_on_commit = []
    hooks.is_committed = True
