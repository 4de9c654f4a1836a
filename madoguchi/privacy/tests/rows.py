"""Rows of every app for one customer: what the privacy tests export, erase and look for."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.files.base import ContentFile
from django.db import models
from django.utils import timezone

from madoguchi.conversations.models import Attachment, Channel, Message, Ticket
from madoguchi.core.testing import factories
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.tenancy.models import Shop


@dataclass
class CustomerRows:
    customer: Customer
    tickets: list[Ticket]
    words: list[str]
    attachment_paths: list[str] = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)


NAME = "桜井 みどり"
KANA = "サクライ ミドリ"
EMAIL = "midori.sakurai@example.jp"
PHONE = "09055558888"
PHONE_SHOWN = "090-5555-8888"
LINE_ID = "U4af4980629fd9d7b1d2c6b6c0e7a8e21"
ADDRESS = "世田谷区桜丘9-8-7"
BODY = "桜井です、注文品の色違いを希望します"


def customer_everywhere(shop: Shop, *, at: dt.datetime | None = None) -> CustomerRows:
    """A customer of the shop with a ticket on every channel, orders, raw data and events."""
    from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_create
    from madoguchi.connectors.chat.models import ChatConversation, ChatWidget
    from madoguchi.connectors.line.models import LineChannel, LineEvent, LineInbound, LineWebhook
    from madoguchi.connectors.mail.models import AutoReplyLog, OutboundMail, RawMail
    from madoguchi.connectors.phone.models import CallLog
    from madoguchi.connectors.webform.models import Submission, WebForm
    from madoguchi.csat.models import CsatSurvey

    at = at or timezone.now()
    customer = factories.CustomerFactory(shop=shop, name=NAME, name_kana=KANA, note="ギフト希望")
    for kind, value, shown in (
        (ContactIdentity.Kind.EMAIL, EMAIL, EMAIL),
        (ContactIdentity.Kind.PHONE, PHONE, PHONE_SHOWN),
        (ContactIdentity.Kind.LINE, LINE_ID, LINE_ID),
    ):
        factories.ContactIdentityFactory(
            customer=customer, kind=kind, value=value, display_value=shown, display_name=NAME
        )
    tickets = []
    for channel in (Channel.EMAIL, Channel.CHAT, Channel.LINE, Channel.PHONE, Channel.WEB_FORM):
        ticket = factories.TicketFactory(
            shop=shop,
            customer=customer,
            channel=channel,
            subject=f"{NAME}様 {channel}",
            created_at=at,
            status=Ticket.Status.CLOSED,
        )
        event_append(
            shop=shop,
            ticket=ticket,
            type="ticket.created",
            actor_kind=ActorKind.CUSTOMER,
            actor_customer=customer,
            payload={"channel": channel, "subject": ticket.subject, "via": channel},
            occurred_at=at,
        )
        message = factories.MessageFactory(
            ticket=ticket, author_customer=customer, body_text=BODY, created_at=at
        )
        factories.MessageFactory(
            ticket=ticket,
            direction=Message.Direction.OUTBOUND,
            body_text=f"{NAME}様、承知いたしました。",
            created_at=at,
        )
        tickets.append(ticket)
        if channel == Channel.EMAIL:
            data = b"%PDF-1.4 order sheet of Midori"
            attachment = Attachment.objects.create(
                shop=shop,
                message=message,
                filename="注文書.pdf",
                content_type="application/pdf",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                file=ContentFile(data, name="x"),
            )
            RawMail.objects.create(
                shop=shop,
                source=RawMail.Source.SMTP,
                raw=f"From: {EMAIL}\r\nSubject: order\r\n\r\n{BODY}".encode(),
                sha256="0" * 64,
                idempotency_key=f"<{ticket.id}@example.jp>",
                from_address=EMAIL,
                status=RawMail.Status.PROCESSED,
                ticket=ticket,
                message=message,
                received_at=at,
            )
            OutboundMail.objects.create(
                shop=shop,
                ticket=ticket,
                kind=OutboundMail.Kind.ACKNOWLEDGEMENT,
                internet_message_id=f"<ack-{ticket.id}@madoguchi.localhost>",
                from_address="support@tea.example",
                to_address=EMAIL,
                subject="受付",
                raw=b"ack",
                created_at=at,
            )
            AutoReplyLog.objects.create(shop=shop, address=EMAIL, ticket=ticket, created_at=at)
            event_append(
                shop=shop,
                ticket=ticket,
                type="mail.acknowledged",
                actor_kind=ActorKind.SYSTEM,
                payload={"outbound_mail_id": 1, "to": EMAIL},
                occurred_at=at,
            )
        elif channel == Channel.CHAT:
            widget, _ = ChatWidget.objects.get_or_create(shop=shop)
            ChatConversation.objects.create(
                shop=shop,
                widget=widget,
                token_hash=hashlib.sha256(f"token-{ticket.id}".encode()).hexdigest(),
                public_id=f"chat{ticket.id}",
                customer=customer,
                ticket=ticket,
                name=NAME,
                email=EMAIL,
                created_at=at,
            )
        elif channel == Channel.LINE:
            line_channel = LineChannel.objects.create(
                shop=shop, name="公式", channel_id="1", channel_secret="s", access_token="t"
            )
            webhook = LineWebhook.objects.create(
                shop=shop,
                channel=line_channel,
                body=f'{{"events":[{{"source":{{"userId":"{LINE_ID}"}}}}]}}'.encode(),
                status=LineWebhook.Status.PROCESSED,
                received_at=at,
            )
            LineEvent.objects.create(
                shop=shop,
                channel=line_channel,
                webhook=webhook,
                webhook_event_id=f"event-{ticket.id}",
                type="message",
                source_id=LINE_ID,
                outcome=LineEvent.Outcome.MESSAGE,
                message=message,
                occurred_at=at,
            )
            LineInbound.objects.create(
                shop=shop, message=message, channel=line_channel, push_to=LINE_ID, received_at=at
            )
        elif channel == Channel.PHONE:
            CallLog.objects.create(
                shop=shop,
                direction=CallLog.Direction.INBOUND,
                number=PHONE_SHOWN,
                number_normalized=PHONE,
                customer=customer,
                ticket=ticket,
                result=CallLog.Result.ANSWERED,
                notes=f"{NAME}様より電話",
                created_at=at,
            )
        elif channel == Channel.WEB_FORM:
            # The customer's survey answer names them in its comment.
            CsatSurvey.objects.create(
                shop=shop,
                ticket=ticket,
                channel=channel,
                status=CsatSurvey.Status.ANSWERED,
                created_at=at,
                sent_at=at,
                score=4,
                comment=f"{NAME}です。丁寧な対応でした",
                answered_at=at,
            )
            form, _ = WebForm.objects.get_or_create(shop=shop)
            Submission.objects.create(
                shop=shop,
                form=form,
                name=NAME,
                email=EMAIL,
                phone=PHONE_SHOWN,
                message=BODY,
                status=Submission.Status.PROCESSED,
                ticket=ticket,
                created_at=at,
            )
    rows = CustomerRows(customer=customer, tickets=tickets, words=[])
    rows.attachment_paths = [attachment.file.name]
    order = order_create(
        shop=shop,
        data=OrderInput(
            number=f"PRV-{customer.id}",
            placed_at=at,
            payment_method="card",
            lines=[LineInput(name="煎茶 100g", unit_price=1080, quantity=2, tax_rate=8)],
            customer=customer,
            email=EMAIL,
            address=AddressInput(
                postal_code="154-0001",
                prefecture="東京都",
                address1=ADDRESS,
                name=NAME,
                name_kana=KANA,
                phone=PHONE_SHOWN,
            ),
        ),
    )
    rows.order_ids = [order.id]
    rows.words = [NAME, KANA, EMAIL, PHONE, PHONE_SHOWN, LINE_ID, ADDRESS, BODY, "桜井"]
    return rows


def stored_texts() -> list[tuple[str, str, Any]]:
    """(model, column, value) of every text, JSON and binary value of every Madoguchi model."""
    found = []
    text_fields = (models.CharField, models.TextField, models.JSONField, models.BinaryField)
    for model in apps.get_models():
        if not model.__module__.startswith("madoguchi."):
            continue
        names = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, text_fields) and not f.is_relation
        ]
        if not names:
            continue
        for row in model._base_manager.values_list(*names).iterator():
            for name, value in zip(names, row, strict=True):
                if value:
                    found.append((model._meta.label, name, value))
    return found


def remaining(words: list[str]) -> list[tuple[str, str, str]]:
    """Where any of the words is still stored (model, column, word)."""
    hits = []
    for label, name, value in stored_texts():
        text = (
            bytes(value).decode("utf-8", "replace")
            if isinstance(value, bytes | memoryview)
            else str(value)
        )
        hits.extend((label, name, word) for word in words if word in text)
    return sorted(set(hits))
