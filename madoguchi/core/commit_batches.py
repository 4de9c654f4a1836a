"""One after-commit handler per transaction for work that is cheaper done many at a time.

`on_commit_batched(key, item, handler)` adds `item` to the batch of `key` of the current
transaction and registers `handler` once: after the commit it is called with every item added
during the transaction, in the order they were first added. Search indexing uses it, so a
transaction that touched a hundred tickets re-indexes them in one pass instead of a hundred.

The batch lives exactly as long as its `on_commit` registration: when a savepoint rollback (or
the transaction's rollback) discards the registration, the batch goes with it and the next item
starts a new one. Items added after the batch was registered in a savepoint that later rolls
back stay in it; handlers must therefore tolerate items whose change did not happen (search
re-reads the rows, which is correct either way). Outside a transaction the handler runs at once
with the single item, as `transaction.on_commit` does.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

_ATTRIBUTE = "_madoguchi_commit_batches"


class _Batch:
    def __init__(self, handler: Callable[[list[Any]], None]) -> None:
        self.handler = handler
        self.items: dict[Hashable, None] = {}
        self.has_run = False

    def __call__(self) -> None:
        self.has_run = True
        items = list(self.items)
        self.items.clear()
        if items:
            self.handler(items)


def _is_registered(connection: Any, batch: _Batch) -> bool:
    # `run_on_commit` holds (savepoint ids, callback, robust) for the open transaction; a
    # rolled-back savepoint removes its entries from it. A batch that already ran (tests run
    # the callbacks without committing) takes no more items.
    return not batch.has_run and any(entry[1] is batch for entry in connection.run_on_commit)


def on_commit_batched(
    key: str,
    item: Hashable,
    handler: Callable[[list[Any]], None],
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Call `handler(items)` once after the current transaction commits, `item` among them."""
    connection = transaction.get_connection(using)
    batches: dict[str, _Batch] = connection.__dict__.setdefault(_ATTRIBUTE, {})
    batch = batches.get(key)
    if batch is not None and connection.in_atomic_block and _is_registered(connection, batch):
        batch.items[item] = None
        return
    batch = _Batch(handler)
    batch.items[item] = None
    batches[key] = batch
    transaction.on_commit(batch, using=using)
