"""A trainee's text never reaches a customer unapproved, whatever the path.

Every way text reaches a customer, and what stops a trainee on it:

- a reply on a ticket of any channel with a sender (mail, web form, chat, LINE): it becomes a
  draft (`reply_send`); `message_reply` itself refuses a trainee without an approver;
- approving a draft (their own included): supervisors and admins only;
- the texts sent with nobody approving them (the after-hours reply, the mail acknowledgement that
  the web form's confirmation also uses, the chat and web-form settings): supervisors and admins
  only, and their pages are read-only to everyone else;
- order notices: sent through `message_reply`, so refused as well.

Reply templates send nothing by themselves: a template fills the composer of the person
replying, whose reply then takes the path above (a trainee's a draft). A channel that gains a
sender must be added to REPLY_CHANNELS, so this module covers it.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.commerce.ticket_orders import order_notice_send
from madoguchi.connectors.chat.services import widget_update
from madoguchi.connectors.line.models import LineOutbound
from madoguchi.connectors.mail.models import MailSettings, OutboundMail
from madoguchi.connectors.mail.services import mail_settings_update
from madoguchi.connectors.webform.services import web_form_update
from madoguchi.conversations.models import Channel, Message
from madoguchi.conversations.outbound import sending_channels
from madoguchi.conversations.services import message_reply
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.operations.models import AfterHoursSettings, ReplyDraft
from madoguchi.operations.replies import (
    after_hours_settings_save,
    reply_draft_approve,
    reply_draft_submit,
)
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop, unscoped

REPLY_CHANNELS = {Channel.EMAIL, Channel.WEB_FORM, Channel.CHAT, Channel.LINE}
TEXT = "研修生の文面です"


@pytest.fixture
def trainee(world):
    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role=Membership.Role.OPERATOR, is_trainee=True
        )
        factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    return membership.user


def _nothing_sent(shop_id: int) -> None:
    with in_shop(shop_id):
        assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
        assert OutboundMail.objects.count() == 0
        assert LineOutbound.objects.count() == 0


def test_every_channel_with_a_sender_is_covered():
    assert sending_channels() == REPLY_CHANNELS


@pytest.mark.parametrize("channel", sorted(REPLY_CHANNELS))
def test_a_trainee_reply_on_any_channel_waits_for_approval(client, world, trainee, channel):
    with in_shop(world.tea.id):
        ticket = factories.TicketFactory(shop=world.tea, channel=channel)
        factories.MessageFactory(ticket=ticket, channel=channel)
    client.force_login(trainee)
    url = reverse("conversations:ticket_reply", args=["tea", ticket.number])
    assert client.post(url, {"body": TEXT}).status_code == 302
    _nothing_sent(world.tea.id)
    with in_shop(world.tea.id):
        draft = ReplyDraft.objects.get(ticket=ticket)
        assert (draft.state, draft.body_text, draft.author_id) == ("pending", TEXT, trainee.id)
        # The service that stores replies refuses a trainee without an approver, too.
        with pytest.raises(PermissionDeniedError):
            message_reply(actor=actor_for_user(trainee), ticket=ticket, body_text=TEXT)
        # Approved by a supervisor, the same text goes, with the approver recorded.
        sent = reply_draft_approve(actor=actor_for_user(world.supervisor), draft=draft)
        assert (sent.body_text, sent.author_user_id, sent.channel) == (TEXT, trainee.id, channel)
        assert sent.direction == Message.Direction.OUTBOUND


def test_a_trainee_cannot_approve_a_draft_not_even_their_own(client, world, trainee):
    with in_shop(world.tea.id):
        draft = reply_draft_submit(
            actor=actor_for_user(trainee), ticket=world.tea_ticket, body_text=TEXT
        )
        with pytest.raises(PermissionDeniedError):
            reply_draft_approve(actor=actor_for_user(trainee), draft=draft)
        with pytest.raises(PermissionDeniedError):
            reply_draft_approve(actor=actor_for_user(world.operator_tea), draft=draft)
    client.force_login(trainee)
    url = reverse("operations:draft_review", args=["tea", draft.id])
    assert client.post(url, {"action": "approve", "body": TEXT}).status_code == 403
    _nothing_sent(world.tea.id)
    with in_shop(world.tea.id):
        assert ReplyDraft.objects.get(pk=draft.pk).state == "pending"


@pytest.mark.parametrize("who", ["trainee", "operator"])
def test_texts_sent_without_approval_are_written_by_leads_only(world, trainee, who):
    user = trainee if who == "trainee" else world.operator_tea
    actor = actor_for_user(user)
    with in_shop(world.tea.id):
        with pytest.raises(PermissionDeniedError):
            after_hours_settings_save(actor=actor, shop=world.tea, is_enabled=True, body=TEXT)
        with pytest.raises(ValidationError):
            mail_settings_update(
                actor=actor,
                shop=world.tea,
                is_ack_enabled=True,
                ack_subject=TEXT,
                ack_body=TEXT,
                is_subject_threading_enabled=False,
            )
        with pytest.raises(PermissionDeniedError):
            web_form_update(actor=actor, shop=world.tea, values={"intro": TEXT})
        with pytest.raises(PermissionDeniedError):
            widget_update(actor=actor, shop=world.tea, values={"is_enabled": True})
        assert not AfterHoursSettings.objects.exists()
        assert not MailSettings.objects.filter(ack_body=TEXT).exists()
        assert not AuditEntry.objects.filter(
            action__in=[actions.AFTER_HOURS_CHANGED, actions.MAIL_SETTINGS_CHANGED]
        ).exists()
        # A supervisor writes the after-hours reply.
        saved = after_hours_settings_save(
            actor=actor_for_user(world.supervisor), shop=world.tea, is_enabled=True, body=TEXT
        )
        assert (saved.is_enabled, saved.body) == (True, TEXT)


def test_a_trainee_cannot_send_an_order_notice(world, trainee):
    with in_shop(world.tea.id):
        order = make_order(world.tea, "YE-20260137", 3142, customer=world.tea_ticket.customer)
        with pytest.raises(PermissionDeniedError):
            order_notice_send(order=order, kind="payment_thanks", actor=actor_for_user(trainee))
    _nothing_sent(world.tea.id)
