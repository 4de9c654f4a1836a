"""`on_commit_batched` calls its handler once per committed transaction, with every item."""

from typing import Any

import pytest
from django.db import transaction

from madoguchi.core.commit_batches import on_commit_batched


@pytest.fixture
def calls() -> list[list[Any]]:
    return []


def _add(calls: list[list[Any]], item: Any) -> None:
    on_commit_batched("test", item, calls.append)


@pytest.mark.django_db(transaction=True)
def test_one_call_per_transaction_with_every_item_in_order(calls: list[list[Any]]) -> None:
    with transaction.atomic():
        _add(calls, 3)
        _add(calls, 1)
        _add(calls, 3)
        with transaction.atomic():
            _add(calls, 2)
        assert calls == []
    assert calls == [[3, 1, 2]]
    with transaction.atomic():
        _add(calls, 4)
    assert calls == [[3, 1, 2], [4]]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_handler_runs_at_once(calls: list[list[Any]]) -> None:
    _add(calls, 1)
    _add(calls, 2)
    assert calls == [[1], [2]]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_calls_nothing_and_leaves_nothing_behind(
    calls: list[list[Any]],
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        _add(calls, 1)
        raise RuntimeError
    with transaction.atomic():
        _add(calls, 2)
    assert calls == [[2]]


@pytest.mark.django_db(transaction=True)
def test_a_batch_registered_in_a_rolled_back_savepoint_is_replaced(
    calls: list[list[Any]],
) -> None:
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            _add(calls, 1)
            raise RuntimeError
        _add(calls, 2)
    assert calls == [[2]]


@pytest.mark.django_db(transaction=True)
def test_keys_are_separate_batches(calls: list[list[Any]]) -> None:
    other: list[list[Any]] = []
    with transaction.atomic():
        _add(calls, 1)
        on_commit_batched("other", "a", other.append)
        _add(calls, 2)
    assert calls == [[1, 2]]
    assert other == [["a"]]
