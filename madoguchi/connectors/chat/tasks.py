"""Background work of the chat: the transcript mail on close."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.connectors.chat.models import ChatConversation
from madoguchi.conversations.models import Message
from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_shop


@task()
def send_transcript_task(conversation_id: int, shop_id: int) -> bool:
    """Mail the visitor the conversation as plain text (their own address, given in the widget)."""
    with in_shop(shop_id):
        conversation = (
            ChatConversation.objects.filter(pk=conversation_id).select_related("shop").first()
        )
        if conversation is None or not conversation.email:
            return False
        ticket_ids = list(conversation.tickets.values_list("id", flat=True))
        messages = (
            Message.objects.filter(ticket_id__in=ticket_ids)
            .exclude(direction=Message.Direction.NOTE)
            .order_by("id")
        )
        with translation.override("ja"):
            lines = []
            for message in messages:
                local = timezone.localtime(message.created_at)
                who = (
                    _("You")
                    if message.direction == Message.Direction.INBOUND
                    else conversation.shop.name
                )
                lines.append(f"[{local:%Y-%m-%d %H:%M}] {who}\n{message.body_text}\n")
            subject = _("Your chat with %(shop)s") % {"shop": conversation.shop.name}
        mail = EmailMessage(
            subject=subject,
            body="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[conversation.email],
        )
        mail.send()
    return True
