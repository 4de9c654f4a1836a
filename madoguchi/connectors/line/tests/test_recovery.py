"""A LINE reply a dead worker was sending goes back to the queue at once, once (ADR 0016)."""

import pytest
from django.utils import timezone

from madoguchi.connectors.line import sending
from madoguchi.connectors.line.models import LineOutbound
from madoguchi.connectors.line.recovery import line_outbound_recover
from madoguchi.connectors.line.tests.test_line import _received, _reply
from madoguchi.core.workers import as_worker
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db


def test_the_dead_workers_reply_is_requeued_and_pushed_with_its_retry_key(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket = _received(client, world, fake_line, capture)
    with as_worker("worker-dead"):
        _message, first = _reply(world, ticket, "ただいま確認します", capture)
    assert (first.status, first.claimed_by) == ("sent", "worker-dead")
    _message, second = _reply(world, ticket, "もう一通", capture)
    with in_shop(world.tea.id):
        # The state a worker killed during the HTTP call leaves behind.
        LineOutbound.objects.filter(pk=first.pk).update(
            status=LineOutbound.Status.SENDING, sending_started_at=timezone.now()
        )
        LineOutbound.objects.filter(pk=second.pk).update(
            status=LineOutbound.Status.SENDING, claimed_by="worker-alive"
        )

    assert line_outbound_recover("worker-dead") == 1
    assert line_outbound_recover("worker-dead") == 0

    with in_shop(world.tea.id):
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, first.method, first.claimed_by) == ("queued", "push", "")
        assert second.status == "sending"
        assert sending.outbound_send(outbound_id=first.pk) == "sent"
        assert sending.outbound_send(outbound_id=first.pk) == "sent"  # never twice
    pushes = [
        call
        for call in fake_line.calls("/v2/bot/message/push")
        if call.json()["messages"][0]["text"] == "ただいま確認します"
    ]
    assert [push.headers["X-Line-Retry-Key"] for push in pushes] == [str(first.retry_key)]
