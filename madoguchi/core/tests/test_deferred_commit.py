"""`atomic_deferring_hooks` commits and hands the after-commit callbacks to its caller."""

from typing import Any

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from madoguchi.core.commit_batches import on_commit_batched
from madoguchi.core.deferred_commit import atomic_deferring_hooks
from madoguchi.tenancy.models import Workspace


@pytest.mark.django_db(transaction=True)
def test_the_callbacks_run_when_the_caller_says_after_the_commit() -> None:
    calls: list[Any] = []
    with atomic_deferring_hooks() as hooks:
        Workspace.objects.create(name="窓口", slug="deferred")
        transaction.on_commit(lambda: calls.append("first"))
        on_commit_batched("test", 1, calls.append)
        on_commit_batched("test", 2, calls.append)
        with transaction.atomic():
            transaction.on_commit(lambda: calls.append("in a savepoint"))
    assert calls == []
    assert Workspace.objects.filter(slug="deferred").exists()  # committed meanwhile
    hooks.run()
    assert calls == ["first", [1, 2], "in a savepoint"]
    hooks.run()  # once
    assert len(calls) == 3
    # The next transaction starts its own batch and runs its hooks at commit, as usual.
    with transaction.atomic():
        on_commit_batched("test", 3, calls.append)
    assert calls[-1] == [3]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_nothing_to_run() -> None:
    calls: list[Any] = []
    with pytest.raises(ValueError, match="refused"), atomic_deferring_hooks() as hooks:
        Workspace.objects.create(name="窓口", slug="rolled-back")
        transaction.on_commit(lambda: calls.append("never"))
        raise ValueError("refused")
    hooks.run()
    assert calls == []
    assert not Workspace.objects.filter(slug="rolled-back").exists()


@pytest.mark.django_db(transaction=True)
def test_a_robust_callback_that_fails_is_logged_and_the_others_still_run(caplog) -> None:
    calls: list[str] = []

    def fails() -> None:
        raise RuntimeError("index down")

    with atomic_deferring_hooks() as hooks:
        transaction.on_commit(fails, robust=True)
        transaction.on_commit(lambda: calls.append("after"))
    hooks.run()
    assert calls == ["after"]
    assert "Deferred after-commit callback" in caplog.text

    with atomic_deferring_hooks() as hooks:
        transaction.on_commit(fails)
        transaction.on_commit(lambda: calls.append("not reached"))
    with pytest.raises(RuntimeError, match="index down"):
        hooks.run()
    assert calls == ["after"]


@pytest.mark.django_db(transaction=True)
def test_only_the_outermost_transaction_can_defer() -> None:
    with transaction.atomic(), pytest.raises(TransactionManagementError), atomic_deferring_hooks():
        pass
