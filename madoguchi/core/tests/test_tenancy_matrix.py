"""Every view of the URLconf against every kind of visitor: deny by default, 404 for strangers.

The matrix walks the resolver, so a new URL pattern fails `test_every_url_pattern_is_in_the_matrix`
until it is described here: as public, with how to call it for the tea shop, as a page of the
agency's workspace, or as a page of the signed-in user's own account.

Visitors: anonymous (redirected to sign in), the operator of the other shop and the client
(owner) of the other shop (both 404, as if the object did not exist), the admin of another
agency on the workspace pages (404, or their own workspace's page), and the right user (200 or
302). A refused POST leaves no trace: messages, events, audit entries, tickets, settings are
unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Message, Ticket
from madoguchi.customers.models import Customer
from madoguchi.events.models import Event
from madoguchi.tenancy.scoping import unscoped


def walk(patterns: list[Any], namespace: str = "", prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield (name, route) for every URL pattern; unnamed patterns are named by their route."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            yield from walk(pattern.url_patterns, inner, route)
        elif isinstance(pattern, URLPattern):
            if pattern.name:
                yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), route
            else:
                yield route, route


def resolved_names() -> set[str]:
    return {name for name, _ in walk(get_resolver().url_patterns)}


@dataclass(frozen=True)
class Route:
    """How to call one view for the tea shop, and what the right user gets."""

    method: str
    url: Callable[[Any], str]
    data: Callable[[Any], dict[str, Any]] = field(default=lambda world: {})
    expected: int = 200
    # Text of the tea shop the right user's GET shows, and a stranger's answer never does.
    marker: Callable[[Any], str] = field(default=lambda world: TEA_SECRET)
    # Rows the view needs besides the world (an order, a deposit), made before every call.
    setup: Callable[[Any], None] = field(default=lambda world: None)
    # Who the right user is (a world attribute): the tea operator unless a supervisor is needed.
    user: str = "operator_tea"
    # What the admin of another agency gets on a workspace page: 404, or 200 where the page
    # shows whatever workspace its visitor leads (then without a word of the agency's).
    stranger: int = 404
    # The right user, if they have an authenticator, has also passed its code step.
    code_step: bool = True


def _ticket_kwargs(world: Any) -> dict[str, Any]:
    return {"shop_slug": world.tea.slug, "number": world.tea_ticket.number}


def _new_ticket_url(world: Any) -> str:
    return (
        reverse("conversations:ticket_new")
        + f"?shop={world.tea.slug}&customer={world.tea_ticket.customer_id}"
    )


TEA_SECRET = "お茶が届きません"  # the tea ticket's subject: must never reach a stranger
TEA_ORDER = "T-1001"


def _tea_order(world: Any) -> None:
    import datetime as dt

    from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_create

    with unscoped("test setup"):
        order_create(
            shop=world.tea,
            data=OrderInput(
                number=TEA_ORDER,
                placed_at=dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC),
                payment_method="bank_transfer",
                lines=[LineInput(name="煎茶", unit_price=1080, tax_rate=8)],
                customer=world.tea_ticket.customer,
                address=AddressInput(
                    postal_code="150-0001", prefecture="東京都", address1="渋谷区神宮前1-1-1"
                ),
            ),
        )


def _tea_order_import(world: Any) -> None:
    from madoguchi.commerce.models import OrderImport

    with unscoped("test setup"):
        OrderImport.objects.create(
            id=9001, shop=world.tea, profile="generic", filename="orders.csv", content=b""
        )


def _tea_deposit(world: Any) -> None:
    import datetime as dt

    from madoguchi.commerce.models import Deposit

    with unscoped("test setup"):
        Deposit.objects.create(
            id=9001,
            shop=world.tea,
            dedup_key="matrix",
            received_on=dt.date(2026, 11, 2),
            amount=1080,
            remitter_name="ﾔﾏﾀﾞ ﾀﾛｳ",
        )


def _tea_raw_mail(world: Any) -> None:
    from madoguchi.connectors.mail.models import RawMail

    raw = b"Subject: matrix\r\n\r\nmatrix-raw-body\r\n"
    with unscoped("test setup"):
        RawMail.objects.create(
            id=9001,
            shop=world.tea,
            source="smtp",
            raw=raw,
            size=len(raw),
            sha256="0" * 64,
            idempotency_key="matrix",
            subject="マトリクスの失敗メール",
            status="failed",
            received_at=timezone.now(),
        )


def _tea_second_customer(world: Any) -> None:
    from madoguchi.customers.models import Customer

    with unscoped("test setup"):
        Customer.objects.get_or_create(id=9001, defaults={"shop": world.tea, "name": "LINE客"})


TEA_LINE_CHANNEL = "山田園のLINE公式アカウント"


def _tea_line_channel(world: Any) -> None:
    from madoguchi.connectors.line.models import LineChannel

    with unscoped("test setup"):
        LineChannel.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "name": TEA_LINE_CHANNEL,
                "channel_id": "1",
                "channel_secret": "s",
                "access_token": "t",
                "api_base_url": "http://127.0.0.1:9",  # closed port: the fragment shows the error
            },
        )


def _tea_phone_identity(world: Any) -> None:
    from madoguchi.customers.models import ContactIdentity

    customer = world.tea_ticket.customer
    with unscoped("test setup"):  # (the value may be stored encrypted: not looked up by it)
        if not ContactIdentity.objects.filter(customer=customer, kind="phone").exists():
            ContactIdentity.objects.create(
                shop=world.tea,
                kind="phone",
                value="0312345678",
                customer=customer,
                display_value="03-1234-5678",
            )


def _tea_callback(world: Any) -> None:
    from madoguchi.connectors.phone.models import CallLog

    with unscoped("test setup"):
        CallLog.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "direction": "inbound",
                "number": "0399990000",
                "number_normalized": "0399990000",
                "result": "missed",
                "follow_up_needed": True,
                "callback_due_at": timezone.now(),
                "created_at": timezone.now(),
            },
        )


def _tea_second_ticket(world: Any) -> None:
    """A second ticket of the tea customer with two messages (ids 9001, 9002): merge, split."""
    from madoguchi.core.testing import factories

    with unscoped("test setup"):
        if Ticket.objects.filter(id=9001).exists():
            return
        ticket = factories.TicketFactory(
            id=9001, shop=world.tea, customer=world.tea_ticket.customer, subject="matrix-second"
        )
        factories.MessageFactory(id=9001, ticket=ticket)
        factories.MessageFactory(id=9002, ticket=ticket, body_text="matrix-split")


def _second_ticket(name: str) -> Callable[[Any], str]:
    def url(world: Any) -> str:
        with unscoped("test setup"):
            number = Ticket.objects.get(id=9001).number
        return reverse(f"conversations:{name}", args=[world.tea.slug, number])

    return url


def _tea_failed_reply(world: Any) -> None:
    """A reply (id 9003) of the tea ticket whose delivery failed: retry or mark handled."""
    from madoguchi.core.testing import factories

    with unscoped("test setup"):
        if Message.objects.filter(id=9003).exists():
            return
        factories.MessageFactory(
            id=9003,
            ticket=world.tea_ticket,
            direction="outbound",
            body_text="matrix-failed-reply",
            delivery_status="failed",
            delivery_error="The mail server refused the mail.",
        )
        Ticket.objects.filter(pk=world.tea_ticket.pk).update(has_failed_delivery=True)


TEA_ATTACHMENT = b"matrix-attachment-body"


def _tea_file(world: Any, attachment_id: int, **fields: Any) -> None:
    """An attachment of the tea ticket's first message, stored under MEDIA_ROOT (tmp)."""
    from django.core.files.base import ContentFile

    from madoguchi.conversations.models import Attachment

    with unscoped("test setup"):
        if Attachment.objects.filter(id=attachment_id).exists():
            return
        attachment = Attachment(
            id=attachment_id,
            shop=world.tea,
            message=Message.objects.filter(ticket=world.tea_ticket).earliest("id"),
            size=len(TEA_ATTACHMENT),
            sha256="0" * 64,
            **fields,
        )
        attachment.file.save("matrix", ContentFile(TEA_ATTACHMENT), save=False)
        attachment.save()


def _tea_attachment(world: Any) -> None:
    _tea_file(world, 9001, filename="matrix.txt", content_type="text/plain")


def _tea_infected_attachment(world: Any) -> None:
    """A file (id 9005) in which the scanner found malware."""
    _tea_file(
        world,
        9005,
        filename="flagged.bin",
        content_type="application/octet-stream",
        scan_status="infected",
        scan_signature="Matrix.Test",
    )


def _tea_template(world: Any) -> None:
    from madoguchi.operations.models import ReplyTemplate

    with unscoped("test setup"):
        ReplyTemplate.objects.get_or_create(
            id=9001, defaults={"shop": world.tea, "name": "matrix-template", "body": "本文"}
        )


def _tea_draft(world: Any) -> None:
    from madoguchi.operations.models import ReplyDraft

    with unscoped("test setup"):
        ReplyDraft.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "ticket": world.tea_ticket,
                "author": world.operator_tea,
                "body_text": "matrix-draft",
                "created_at": timezone.now(),
            },
        )


def _tea_alert(world: Any) -> None:
    from madoguchi.events.models import ActorKind
    from madoguchi.events.services import event_append

    with unscoped("test setup"):
        event_append(
            shop=world.tea,
            ticket=world.tea_ticket,
            type="sla.warning",
            actor_kind=ActorKind.SYSTEM,
            payload={"metric": "first_response", "cycle": 0, "minutes_left": 10},
        )


def _privacy(name: str, *args: Any) -> Callable[[Any], str]:
    return lambda world: reverse(f"privacy:{name}", args=[world.tea.slug, *args])


def _privacy_customer(name: str) -> Callable[[Any], str]:
    return lambda world: reverse(
        f"privacy:{name}", args=[world.tea.slug, world.tea_ticket.customer_id]
    )


ERASURE_DIGEST = "e" * 64


def _tea_erasure(world: Any) -> None:
    from madoguchi.privacy.models import ErasureRecord

    with unscoped("test setup"):
        ErasureRecord.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "customer_id": world.tea_ticket.customer_id,
                "erased_at": timezone.now(),
                "reason": "マトリクス",
                "salt": "0" * 32,
                "digest": ERASURE_DIGEST,
            },
        )


TEA_ARTICLE = "山田園のマトリクス記事"


def _knowledge(name: str, *args: Any) -> Callable[[Any], str]:
    return lambda world: reverse(f"knowledge:{name}", args=[world.tea.slug, *args])


def _tea_article(world: Any) -> None:
    from madoguchi.knowledge.index import index_put
    from madoguchi.knowledge.models import Article

    with unscoped("test setup"):
        Article.objects.create(
            id=9001,
            shop=world.tea,
            title=TEA_ARTICLE,
            body="マトリクスの本文",
            status=Article.Status.PUBLISHED,
            revision_number=1,
        ).revisions.create(shop=world.tea, number=1, title=TEA_ARTICLE, body="マトリクスの本文")
    index_put(
        article_id=9001,
        shop_id=world.tea.id,
        language="ja",
        visibility="public",
        title=TEA_ARTICLE,
        body="マトリクスの本文",
    )


def _tea_draft_article(world: Any) -> None:
    from madoguchi.knowledge.models import Article

    _tea_article(world)
    with unscoped("test setup"):
        Article.objects.filter(id=9001).update(status=Article.Status.DRAFT)


def _tea_candidate(world: Any) -> None:
    from madoguchi.knowledge.models import FaqCandidate

    with unscoped("test setup"):
        FaqCandidate.objects.create(
            id=9001, shop=world.tea, question=TEA_ARTICLE, first_ticket_id=world.tea_ticket.pk
        ).tickets.set([world.tea_ticket])


def _tea_candidate_tickets(world: Any) -> None:
    from madoguchi.core.testing import factories

    with unscoped("test setup"):
        for subject in ("ギフト包装はできますか", "ギフト包装について", "ギフト包装をお願いしたい"):
            factories.MessageFactory(
                ticket=factories.TicketFactory(shop=world.tea, subject=subject)
            )


def _tea_improvement(world: Any) -> None:
    from madoguchi.knowledge.models import ImprovementItem

    with unscoped("test setup"):
        ImprovementItem.objects.create(id=9001, shop=world.tea, title=TEA_ARTICLE)


def _tea_sent_reply(world: Any) -> None:
    from madoguchi.core.testing import factories

    with unscoped("test setup"):
        factories.MessageFactory(
            id=9004, ticket=world.tea_ticket, direction=Message.Direction.OUTBOUND
        )


_ARTICLE_FORM = {
    "title": "マトリクスの新しい記事",
    "body": "本文",
    "language": "ja",
    "visibility": "public",
    "category": "",
    "note": "",
    "expected_revision": "1",
}


def _operations(name: str, *args: Any) -> Callable[[Any], str]:
    return lambda world: reverse(f"operations:{name}", args=[world.tea.slug, *args])


def _mail(name: str, **kwargs: Any) -> Callable[[Any], str]:
    return lambda world: reverse(f"mail:{name}", kwargs={"shop_slug": world.tea.slug, **kwargs})


def _commerce(name: str, **kwargs: Any) -> Callable[[Any], str]:
    return lambda world: reverse(f"commerce:{name}", kwargs={"shop_slug": world.tea.slug, **kwargs})


def _tea_shift(world: Any) -> None:
    """A shift (id 9001) of the tea operator, planned by the agency."""
    import datetime as dt

    from madoguchi.operations.models import Shift
    from madoguchi.tenancy.models import Membership

    with unscoped("test setup"):
        Shift.objects.get_or_create(
            id=9001,
            defaults={
                "workspace": world.agency,
                "membership": Membership.objects.get(user=world.operator_tea),
                "starts_at": dt.datetime(2026, 11, 30, 13, 0, tzinfo=dt.UTC),
                "ends_at": dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC),
            },
        )


def _tea_analytics(world: Any) -> None:
    """The tea shop's analytics facts, rebuilt from its log (its ticket is of today)."""
    from madoguchi.analytics.services import analytics_rebuild

    analytics_rebuild(shop_ids=[world.tea.id])


TEA_REPORT_ID = 9201
TEA_REPORT_POINT_ID = 9202
TEA_REPORT_ITEM_ID = 9203


def _report_pdf(text: str) -> bytes:
    from madoguchi.core.pdf import html_to_pdf

    return html_to_pdf(f"<p>{text}</p>")


def _tea_report(world: Any) -> None:
    """A version (id 9201) of the tea shop's November report, an improvement point (9202) and
    an open improvement item (9203) to accept; the stored figures name the shop."""
    import datetime as dt

    from madoguchi.knowledge.models import ImprovementItem
    from madoguchi.reports.models import ClientReport, ImprovementPoint

    with unscoped("test setup"):
        ClientReport.objects.get_or_create(
            id=TEA_REPORT_ID,
            defaults={
                "shop": world.tea,
                "month": dt.date(2026, 11, 1),
                "version": 1,
                "created_at": timezone.now(),
                "figures": {"shop": world.tea.name, "charts": {"volume": "<svg></svg>"}},
                "html": "",
                "pdf": _report_pdf("matrix-report-pdf"),
            },
        )
        ImprovementPoint.objects.get_or_create(
            id=TEA_REPORT_POINT_ID,
            defaults={
                "shop": world.tea,
                "month": dt.date(2026, 11, 1),
                "area": "product",
                "text": "x",
            },
        )
        ImprovementItem.objects.get_or_create(
            id=TEA_REPORT_ITEM_ID, defaults={"shop": world.tea, "title": "マトリクスの改善項目"}
        )


def _reports(name: str, *args: Any) -> Callable[[Any], str]:
    return lambda world: reverse(f"reports:{name}", args=[world.tea.slug, *args])


def _tea_attainment(world: Any) -> None:
    """A first-response measure of this month under the tea shop's policy "matrix-policy"."""
    from madoguchi.operations.models import SlaMeasureRecord, SlaPolicy

    now = timezone.now()
    with unscoped("test setup"):
        policy, _ = SlaPolicy.objects.get_or_create(
            id=9001, defaults={"shop": world.tea, "name": "matrix-policy"}
        )
        SlaMeasureRecord.objects.get_or_create(
            ticket=world.tea_ticket,
            metric="first_response",
            cycle=0,
            defaults={
                "shop": world.tea,
                "policy": policy,
                "started_at": now,
                "completed_at": now,
                "computed_at": now,
            },
        )


# The administration pages: the channels' set-up, the shop's settings, the workspace's people.


def _tea_sla_policy(world: Any) -> None:
    from madoguchi.operations.models import SlaPolicy

    with unscoped("test setup"):
        SlaPolicy.objects.get_or_create(
            id=9001, defaults={"shop": world.tea, "name": "matrix-policy"}
        )


def _tea_category(world: Any) -> None:
    from madoguchi.conversations.models import Category

    with unscoped("test setup"):
        Category.objects.get_or_create(
            id=9001, defaults={"shop": world.tea, "name": "マトリクスの分類"}
        )


TEA_ADDRESS = "matrix-support@yamada-en.example.jp"
TEA_MAILBOX = "山田園の受信箱"
TEA_SMTP_SERVER = "山田園の送信サーバー"
TEA_OUTBOUND = "マトリクスの送れなかった返信"


def _tea_mail_address(world: Any) -> None:
    from madoguchi.connectors.mail.models import MailAddress

    with unscoped("test setup"):
        MailAddress.objects.get_or_create(
            id=9001, defaults={"shop": world.tea, "address": TEA_ADDRESS}
        )


def _tea_mailbox(world: Any) -> None:
    """An IMAP mailbox (id 9001) on a closed port: a connection test fails at once."""
    from madoguchi.connectors.mail.models import Mailbox

    with unscoped("test setup"):
        Mailbox.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "name": TEA_MAILBOX,
                "host": "127.0.0.1",
                "port": 9,
                "security": "none",
                "username": "matrix",
                "password": "matrix-password",
            },
        )


def _tea_smtp_server(world: Any) -> None:
    """An outgoing server (id 9001) on a closed port: a test send fails at once."""
    from madoguchi.connectors.mail.models import SmtpServer

    with unscoped("test setup"):
        SmtpServer.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "name": TEA_SMTP_SERVER,
                "host": "127.0.0.1",
                "port": 9,
                "security": "none",
            },
        )


def _tea_outbound(world: Any) -> None:
    """A reply of the tea ticket (id 9001) that could not be sent: retryable."""
    from madoguchi.connectors.mail.models import OutboundMail

    raw = f"Subject: {TEA_OUTBOUND}\r\n\r\nmatrix-outbound-body\r\n".encode()
    with unscoped("test setup"):
        OutboundMail.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "ticket": world.tea_ticket,
                "internet_message_id": "<matrix-9001@madoguchi.test>",
                "from_address": TEA_ADDRESS,
                "to_address": "customer@example.jp",
                "subject": TEA_OUTBOUND,
                "raw": raw,
                "status": "failed",
                "attempts": 5,
                "last_error": "matrix: connection refused",
                "created_at": timezone.now(),
            },
        )


TEA_PHONE_LABEL = "山田園 注文専用"


def _tea_phone_number(world: Any) -> None:
    from madoguchi.connectors.phone.models import PhoneNumber

    with unscoped("test setup"):
        PhoneNumber.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "number": "03-5555-0101",
                "number_normalized": "0355550101",
                "label": TEA_PHONE_LABEL,
            },
        )


TEA_STORE = "yamada-en-matrix.example.jp"


def _tea_connection(world: Any) -> None:
    """An EC-CUBE connection (id 9001) of the tea shop that received nothing (deletable)."""
    from madoguchi.commerce.models import CommerceConnection

    with unscoped("test setup"):
        CommerceConnection.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "platform": "eccube",
                "store_domain": TEA_STORE,
                "webhook_secret": "matrix-secret-" + "0" * 32,
            },
        )


def _tea_engagement_url(name: str) -> Callable[[Any], str]:
    """The URL of the agency's engagement on the tea shop."""

    def url(world: Any) -> str:
        from madoguchi.tenancy.models import Engagement

        engagement = Engagement.objects.get(agency=world.agency, shop=world.tea)
        return reverse(f"administration:{name}", args=[world.tea.slug, engagement.id])

    return url


def _tea_engagement_invitation(world: Any) -> None:
    """An open invitation (id 9001) of the tea shop company to an agency."""
    import datetime as dt

    from madoguchi.tenancy.models import EngagementInvitation

    EngagementInvitation.objects.get_or_create(
        id=9001,
        defaults={
            "shop": world.tea,
            "mode": "outsourced",
            "created_by": world.tea_owner_admin,
            "expires_at": timezone.now() + dt.timedelta(days=7),
        },
    )


def _tea_archived(world: Any) -> None:
    from madoguchi.tenancy.models import Shop

    Shop.objects.filter(id=world.tea.id).update(archived_at=timezone.now())


def _tea_company_without_admin(world: Any) -> None:
    """The tea company as an agency creates it: no active admin, so its owner may be invited."""
    from madoguchi.tenancy.models import Membership

    Membership.objects.filter(user=world.tea_owner_admin).update(is_active=False)


def _membership_url(name: str, user: str) -> Callable[[Any], str]:
    """The URL of a people page of the agency's membership of `user` (a world attribute)."""

    def url(world: Any) -> str:
        from madoguchi.tenancy.models import Membership

        membership = Membership.objects.get(user=getattr(world, user), workspace=world.agency)
        return reverse(f"administration:{name}", args=[membership.id])

    return url


def _deactivated_operator(world: Any) -> None:
    """A deactivated membership (id 9001) of the agency: a former operator."""
    from madoguchi.core.testing import factories
    from madoguchi.tenancy.models import Membership

    if Membership.objects.filter(id=9001).exists():
        return
    user = factories.UserFactory(display_name="元オペレーター", is_active=False)
    factories.MembershipFactory(id=9001, user=user, workspace=world.agency, is_active=False)


AUDIT_MARKER = "matrix-audit-marker"


def _tea_audit_entry(world: Any) -> None:
    from madoguchi.audit import actions
    from madoguchi.audit.services import record

    record(
        actor=world.operator_tea,
        action=actions.TICKET_UPDATED,
        target=world.tea_ticket,
        changes={"note": AUDIT_MARKER},
    )


INVITEE = "matrix-invitee@example.jp"


def _agency_invitation(world: Any) -> None:
    """An open invitation (id 9001) into the agency, to work the tea shop."""
    import datetime as dt
    import hashlib

    from madoguchi.administration.models import Invitation

    now = timezone.now()
    invitation, created = Invitation.objects.get_or_create(
        id=9001,
        defaults={
            "workspace": world.agency,
            "email": INVITEE,
            "role": "operator",
            "invited_by": world.admin,
            "token_hash": hashlib.sha256(b"matrix-token").hexdigest(),
            "created_at": now,
            "expires_at": now + dt.timedelta(days=7),
        },
    )
    if created:
        invitation.shops.set([world.tea])


def _agency_invitation_revoked(world: Any) -> None:
    from madoguchi.administration.models import Invitation

    _agency_invitation(world)
    Invitation.objects.filter(id=9001).update(revoked_at=timezone.now())


def _engagement_starts_on(world: Any) -> str:
    from madoguchi.tenancy.models import Engagement

    return Engagement.objects.get(agency=world.agency, shop=world.tea).starts_on.isoformat()


def _authenticator(world: Any) -> None:
    """The tea operator's confirmed authenticator and one recovery code."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = world.operator_tea
    TOTPDevice.objects.get_or_create(
        id=9001, defaults={"user": user, "name": "authenticator", "confirmed": True}
    )
    recovery, _ = StaticDevice.objects.get_or_create(
        id=9001, defaults={"user": user, "name": "recovery codes", "confirmed": True}
    )
    StaticToken.objects.get_or_create(device=recovery, token="matrix01")


BILLING_ISSUER = "マトリクス請求元株式会社"
BILLING_CONTRACT = "山田園 マトリクス契約"


def _billing(world: Any, *, agency: Any = None, shop: Any = None, issue: bool = True) -> None:
    """An agency's issuer settings, its contract with a shop and the shop's October invoice
    (issued, or a draft); by default the world's agency and the tea shop."""
    import datetime as dt

    from madoguchi.billing import services
    from madoguchi.tenancy.access import actor_for_user
    from madoguchi.tenancy.models import Engagement
    from madoguchi.tenancy.scoping import shop_scope

    agency = agency or world.agency
    shop = shop or world.tea
    admin = world.admin if agency == world.agency else world.other_admin
    with unscoped("test setup"):
        engagement, _ = Engagement.objects.get_or_create(
            agency=agency,
            shop=shop,
            defaults={"mode": "outsourced", "starts_on": dt.date(2026, 1, 1)},
        )
    actor = actor_for_user(admin)  # again: the engagement may be new
    with shop_scope(actor.shop_ids, workspace_ids=tuple(actor.workspace_ids)):
        if services.billing_settings_of(agency.id) is None:
            services.billing_settings_save(
                actor=actor,
                workspace=agency,
                issuer_name=BILLING_ISSUER if agency == world.agency else "別の請求元",
                registration_number="T4011001098993",
                number_prefix="INV" if agency == world.agency else "OTH",
            )
        contract = services.contract_create(
            actor=actor,
            engagement=engagement,
            name=BILLING_CONTRACT if shop == world.tea else f"{shop.name} 契約",
            starts_on=dt.date(2026, 10, 1),
            terms=services.TermsInput(plan="fixed", monthly_fee=100_000),
        )
        invoice = services.invoice_draft(contract=contract, month=dt.date(2026, 10, 1))
        if issue and invoice is not None:
            services.invoice_issue(invoice=invoice, actor=actor)


def _billing_draft(world: Any) -> None:
    _billing(world, issue=False)


def _billing_contract_id() -> int:
    from madoguchi.billing.models import Contract

    with unscoped("test setup"):
        return Contract.objects.get(name=BILLING_CONTRACT).pk


def _billing_invoice_id() -> int:
    from madoguchi.billing.models import Invoice

    with unscoped("test setup"):
        return Invoice.objects.get(contract__name=BILLING_CONTRACT, kind="invoice").pk


def _billing_url(name: str) -> Callable[[Any], str]:
    return lambda world: reverse(f"billing:{name}", args=[_billing_invoice_id()])


def _other_agencys_invoice(world: Any) -> str:
    """Another agency's invoice to the ceramics shop: the agency's CSV never holds it."""
    _billing(world, agency=world.other_admin.memberships.get().workspace, shop=world.ceramics)
    return "OTH-000001"


def _ceramics_invoice(world: Any) -> str:
    """The agency's invoice to the ceramics shop: the tea shop's PDF never names that shop."""
    _billing(world, shop=world.ceramics)
    return world.ceramics.name


_BILLING_TERMS = {
    "plan": "fixed",
    "monthly_fee": "120000",
    "included_contacts": "500",
    "overage_rate": "150",
    "setup_fee": "0",
    "tax_category": "standard",
    "reopen_after_days": "7",
    "excluded_tags": "spam",
}


_SHOP_NAME = {"marker": lambda world: world.tea.name}

# Views reachable without signing in; each is checked for anonymous visitors below.
PUBLIC: dict[str, Route] = {
    "healthz": Route("GET", lambda world: reverse("healthz")),
    "healthz_jobs": Route("GET", lambda world: reverse("healthz_jobs")),
    "set_language": Route(
        "POST", lambda world: reverse("set_language"), lambda world: {"language": "en"}, 302
    ),
    "accounts:login": Route("GET", lambda world: reverse("accounts:login")),
    "accounts:logout": Route("POST", lambda world: reverse("accounts:logout"), expected=302),
    # Shops' carts call it; the token in the path is the credential, an unknown one is 404.
    "commerce:webhook": Route(
        "POST", lambda world: reverse("commerce:webhook", args=["unknown-token"]), expected=404
    ),
    # LINE calls it; the channel's public id is in the path, the signature is the credential.
    "line:webhook": Route(
        "POST", lambda world: reverse("line:webhook", args=["unknown-channel"]), expected=404
    ),
    # The CSAT survey of a solved ticket; the link's token is the key (only its digest stored).
    "csat:survey": Route(
        "GET", lambda world: reverse("csat:survey", args=["unknown-token"]), expected=404
    ),
    # The shop's contact form for its customers; the public key is in the path.
    "webform:public": Route(
        "GET", lambda world: reverse("webform:public", args=["unknown-key"]), expected=404
    ),
    # The shop's public help center: published public articles only, no sign-in.
    "knowledge:help": Route("GET", lambda world: reverse("knowledge:help", args=[world.tea.slug])),
    "knowledge:help_search": Route(
        "GET", lambda world: reverse("knowledge:help_search", args=[world.tea.slug]) + "?q=お茶"
    ),
    "knowledge:help_article": Route(
        "GET",
        lambda world: reverse("knowledge:help_article", args=[world.tea.slug, 9001]),
        setup=_tea_article,
    ),
    "knowledge:help_vote": Route(
        "POST",
        lambda world: reverse("knowledge:help_vote", args=[world.tea.slug, 9999]),
        lambda world: {"helpful": "yes"},
        expected=404,
    ),
    "knowledge:help_sitemap": Route(
        "GET", lambda world: reverse("knowledge:help_sitemap", args=[world.tea.slug])
    ),
    "knowledge:help_suggest": Route(
        "GET", lambda world: reverse("knowledge:help_suggest", args=[world.tea.slug]) + "?q=お茶"
    ),
    # The suggestion script's events (also sent from the shop's own site by the chat widget).
    "knowledge:help_suggestion_event": Route(
        "POST",
        lambda world: reverse("knowledge:help_suggestion_event", args=["unknown-shop"]),
        expected=404,
    ),
    # The chat widget's endpoints; the widget's public key is in the path (and CORS per shop).
    "chat:widget_config": Route(
        "GET", lambda world: reverse("chat:widget_config", args=["unknown-key"]), expected=404
    ),
    "chat:conversation_open": Route(
        "POST", lambda world: reverse("chat:conversation_open", args=["unknown-key"]), expected=404
    ),
    # Password reset by mail: the same answer for every address; the link's token is the key.
    "accounts:password_reset": Route("GET", lambda world: reverse("accounts:password_reset")),
    "accounts:password_reset_done": Route(
        "GET", lambda world: reverse("accounts:password_reset_done")
    ),
    "accounts:password_reset_confirm": Route(
        "GET",
        lambda world: reverse("accounts:password_reset_confirm", args=["MQ", "unknown-token"]),
    ),  # a link that does not work is a page saying so
    "accounts:password_reset_complete": Route(
        "GET", lambda world: reverse("accounts:password_reset_complete")
    ),
    # The accept page of an invitation into a workspace: the link's token is the key.
    "administration:invitation_accept": Route(
        "GET",
        lambda world: reverse("administration:invitation_accept", args=["unknown-token"]),
        expected=404,
    ),
    "administration:invitation_accept (revoked)": Route(
        "GET",
        lambda world: reverse("administration:invitation_accept", args=["matrix-token"]),
        expected=410,
        setup=_agency_invitation_revoked,
    ),
}

# Views of one shop's data, called for the tea shop.
SHOP_ROUTES: dict[str, Route] = {
    # A shop's usage and issued invoices: its client and the agency's leads (ADR 0024).
    "billing:shop": Route(
        "GET",
        lambda world: reverse("billing:shop", args=[world.tea.slug]),
        marker=lambda world: "INV-000001",
        setup=_billing,
        user="client_tea",
    ),
    "billing:shop_invoice_pdf": Route(
        "GET",
        lambda world: reverse(
            "billing:shop_invoice_pdf", args=[world.tea.slug, _billing_invoice_id()]
        ),
        marker=lambda world: BILLING_ISSUER,
        setup=_billing,
        user="client_tea",
    ),
    "conversations:inbox": Route(
        "GET", lambda world: reverse("conversations:inbox") + f"?shop={world.tea.slug}"
    ),
    "conversations:inbox_counts": Route(
        "GET",
        lambda world: reverse("conversations:inbox_counts") + f"?shop={world.tea.slug}",
        marker=lambda world: 'data-testid="count-open">1<',
    ),
    "conversations:ticket": Route(
        "GET", lambda world: reverse("conversations:ticket", kwargs=_ticket_kwargs(world))
    ),
    # A download (an audited read): the right user gets the bytes, a stranger leaves no entry.
    "conversations:ticket_attachment": Route(
        "GET",
        lambda world: reverse(
            "conversations:ticket_attachment",
            kwargs={**_ticket_kwargs(world), "attachment_id": 9001},
        ),
        marker=lambda world: TEA_ATTACHMENT.decode(),
        setup=_tea_attachment,
    ),
    # A supervisor's download of a flagged file, with the reason the audit log keeps.
    "conversations:ticket_attachment_release": Route(
        "POST",
        lambda world: reverse(
            "conversations:ticket_attachment_release",
            kwargs={**_ticket_kwargs(world), "attachment_id": 9005},
        ),
        lambda world: {"reason": "マトリクスの確認"},
        marker=lambda world: TEA_ATTACHMENT.decode(),
        setup=_tea_infected_attachment,
        user="supervisor",
    ),
    "conversations:ticket_reply": Route(
        "POST",
        lambda world: reverse("conversations:ticket_reply", kwargs=_ticket_kwargs(world)),
        lambda world: {"body": "マトリクスからの返信", "status": "solved"},
        302,
    ),
    "conversations:ticket_delivery": Route(
        "POST",
        lambda world: reverse(
            "conversations:ticket_delivery", kwargs={**_ticket_kwargs(world), "message_id": 9003}
        ),
        lambda world: {"action": "handled"},
        302,
        setup=_tea_failed_reply,
    ),
    "conversations:ticket_note": Route(
        "POST",
        lambda world: reverse("conversations:ticket_note", kwargs=_ticket_kwargs(world)),
        lambda world: {"body": "マトリクスのメモ"},
        302,
    ),
    "conversations:ticket_properties": Route(
        "POST",
        lambda world: reverse("conversations:ticket_properties", kwargs=_ticket_kwargs(world)),
        lambda world: {"status": "pending", "priority": "urgent", "tags": "matrix"},
        302,
    ),
    "conversations:ticket_merge": Route(
        "POST",
        _second_ticket("ticket_merge"),
        lambda world: {"into": str(world.tea_ticket.number)},
        302,
        setup=_tea_second_ticket,
    ),
    "conversations:ticket_split": Route(
        "POST",
        _second_ticket("ticket_split"),
        lambda world: {"message": "9002"},
        302,
        setup=_tea_second_ticket,
    ),
    "operations:templates": Route("GET", _operations("templates"), **_SHOP_NAME),
    "operations:template_edit": Route(
        "GET",
        _operations("template_edit", 9001),
        marker=lambda world: "matrix-template",
        setup=_tea_template,
    ),
    "operations:template_fill": Route(
        "GET",
        lambda world: (
            reverse("operations:template_fill", args=[world.tea.slug, world.tea_ticket.number])
            + "?template="
        ),
        marker=lambda world: 'data-testid="reply-body-field"',
    ),
    "operations:after_hours": Route("GET", _operations("after_hours"), **_SHOP_NAME),
    "operations:approvals": Route(
        "GET",
        _operations("approvals"),
        marker=lambda world: "matrix-draft",
        setup=_tea_draft,
        user="supervisor",
    ),
    "operations:draft_review": Route(
        "POST",
        _operations("draft_review", 9001),
        lambda world: {"action": "return", "comment": "matrix-comment"},
        302,
        setup=_tea_draft,
        user="supervisor",
    ),
    # The shop's alerts are its leads' (operators get 403); the alert links to the tea ticket.
    "operations:alerts": Route("GET", _operations("alerts"), setup=_tea_alert, user="supervisor"),
    "operations:alerts_reassign": Route(
        "POST",
        _operations("alerts_reassign"),
        lambda world: {"reassign_on_breach": "on"},
        302,
        user="supervisor",
    ),
    "conversations:ticket_new": Route(
        "POST",
        _new_ticket_url,
        lambda world: {
            "shop": world.tea.slug,
            "channel": "phone",
            "customer": str(world.tea_ticket.customer_id),
            "subject": "電話の記録",
            "body": "折り返し希望",
            "priority": "normal",
        },
        302,
    ),
    "customers:detail": Route(
        "GET",
        lambda world: reverse(
            "customers:detail",
            kwargs={"shop_slug": world.tea.slug, "pk": world.tea_ticket.customer_id},
        ),
    ),
    "customers:reveal": Route(
        "POST",
        lambda world: reverse(
            "customers:reveal",
            kwargs={"shop_slug": world.tea.slug, "pk": world.tea_ticket.customer_id},
        ),
        lambda world: {"reason": "再配達の住所確認"},
    ),
    "customers:note_edit": Route(
        "POST",
        lambda world: reverse(
            "customers:note_edit",
            kwargs={"shop_slug": world.tea.slug, "pk": world.tea_ticket.customer_id},
        ),
        lambda world: {"note": "マトリクスのメモ"},
        302,
    ),
    "customers:picker": Route(
        "GET",
        lambda world: (
            reverse("customers:picker")
            + f"?shop={world.tea.slug}&q={quote(world.tea_ticket.customer.name)}"
        ),
        marker=lambda world: world.tea_ticket.customer.name,
    ),
    # Knowledge: the shop's people read articles (clients the public ones), staff start
    # drafts, its leads edit, publish and decide on FAQ candidates.
    "knowledge:articles": Route(
        "GET", _knowledge("articles"), setup=_tea_article, marker=lambda world: TEA_ARTICLE
    ),
    "knowledge:article_new": Route("GET", _knowledge("article_new"), **_SHOP_NAME),
    "knowledge:article_new (save)": Route(
        "POST", _knowledge("article_new"), lambda world: _ARTICLE_FORM, 302
    ),
    "knowledge:article": Route(
        "GET", _knowledge("article", 9001), setup=_tea_article, marker=lambda world: TEA_ARTICLE
    ),
    "knowledge:article_edit": Route(
        "GET",
        _knowledge("article_edit", 9001),
        setup=_tea_article,
        marker=lambda world: TEA_ARTICLE,
        user="supervisor",
    ),
    "knowledge:article_edit (save)": Route(
        "POST",
        _knowledge("article_edit", 9001),
        lambda world: _ARTICLE_FORM,
        302,
        setup=_tea_article,
        user="supervisor",
    ),
    "knowledge:article_publish": Route(
        "POST",
        _knowledge("article_publish", 9001),
        expected=302,
        setup=_tea_draft_article,
        user="supervisor",
    ),
    "knowledge:article_archive": Route(
        "POST",
        _knowledge("article_archive", 9001),
        expected=302,
        setup=_tea_article,
        user="supervisor",
    ),
    "knowledge:revision": Route(
        "GET", _knowledge("revision", 9001, 1), setup=_tea_article, marker=lambda world: TEA_ARTICLE
    ),
    "knowledge:settings": Route("GET", _knowledge("settings"), user="supervisor", **_SHOP_NAME),
    "knowledge:settings (save)": Route(
        "POST",
        _knowledge("settings"),
        lambda world: {"is_help_center_enabled": "on", "clients_may_edit": "on"},
        302,
        user="supervisor",
    ),
    "knowledge:category_create": Route(
        "POST",
        _knowledge("category_create"),
        lambda world: {"name": "配送", "position": "1"},
        302,
        user="supervisor",
    ),
    "knowledge:candidates": Route(
        "GET",
        _knowledge("candidates"),
        setup=_tea_candidate,
        marker=lambda world: TEA_ARTICLE,
        user="supervisor",
    ),
    "knowledge:candidates_refresh": Route(
        "POST",
        _knowledge("candidates_refresh"),
        expected=302,
        setup=_tea_candidate_tickets,
        user="supervisor",
    ),
    "knowledge:candidate_convert": Route(
        "POST",
        _knowledge("candidate_convert", 9001),
        expected=302,
        setup=_tea_candidate,
        user="supervisor",
    ),
    "knowledge:candidate_dismiss": Route(
        "POST",
        _knowledge("candidate_dismiss", 9001),
        expected=302,
        setup=_tea_candidate,
        user="supervisor",
    ),
    "knowledge:improvements": Route(
        "GET", _knowledge("improvements"), setup=_tea_improvement, marker=lambda world: TEA_ARTICLE
    ),
    "knowledge:improvements (save)": Route(
        "POST",
        _knowledge("improvements"),
        lambda world: {"title": "規約の見直し", "kind": "terms", "status": "open"},
        302,
        user="supervisor",
    ),
    "knowledge:improvement_edit": Route(
        "GET",
        _knowledge("improvement_edit", 9001),
        setup=_tea_improvement,
        marker=lambda world: TEA_ARTICLE,
        user="supervisor",
    ),
    "knowledge:improvement_edit (save)": Route(
        "POST",
        _knowledge("improvement_edit", 9001),
        lambda world: {"title": "規約の見直し", "kind": "terms", "status": "done"},
        302,
        setup=_tea_improvement,
        user="supervisor",
    ),
    "knowledge:composer_search": Route(
        "GET",
        lambda world: reverse("knowledge:composer_search", args=[world.tea.slug]) + "?q=マトリクス",
        setup=_tea_article,
        marker=lambda world: TEA_ARTICLE,
    ),
    "knowledge:article_from_reply": Route(
        "POST", _knowledge("article_from_reply", 9004), expected=302, setup=_tea_sent_reply
    ),
    # Privacy (ADR 0015): the shop's leads only; its operators and client get 403.
    "privacy:retention": Route(
        "GET", _privacy("retention"), user="supervisor", marker=lambda world: world.tea.name
    ),
    "privacy:export_json": Route("GET", _privacy_customer("export_json"), user="supervisor"),
    "privacy:export_page": Route("GET", _privacy_customer("export_page"), user="supervisor"),
    "privacy:erase": Route(
        "POST",
        _privacy_customer("erase"),
        lambda world: {"reason": "マトリクス", "confirmation": "削除"},
        302,
        user="supervisor",
    ),
    "privacy:shop_delete": Route(
        "GET",
        _privacy("shop_delete"),
        marker=lambda world: world.tea.name,
        user="admin",
    ),
    "privacy:erasure": Route(
        "GET",
        _privacy("erasure", 9001),
        marker=lambda world: ERASURE_DIGEST,
        setup=_tea_erasure,
        user="supervisor",
    ),
    "privacy:erasure_verify": Route(
        "POST",
        _privacy("erasure_verify", 9001),
        expected=302,
        setup=_tea_erasure,
        user="supervisor",
    ),
    "commerce:order_list": Route("GET", _commerce("order_list"), **_SHOP_NAME),
    "commerce:order_new": Route("GET", _commerce("order_new"), **_SHOP_NAME),
    "commerce:order_import": Route("GET", _commerce("order_import"), **_SHOP_NAME),
    "commerce:order_import_detail": Route(
        "GET",
        _commerce("order_import_detail", import_id=9001),
        setup=_tea_order_import,
        **_SHOP_NAME,
    ),
    "commerce:reminders": Route("GET", _commerce("reminders"), **_SHOP_NAME),
    "commerce:order": Route(
        "GET",
        _commerce("order", number=TEA_ORDER),
        marker=lambda world: "煎茶",  # the order line; the number is in the URL itself
        setup=_tea_order,
    ),
    "commerce:deposit_import": Route("GET", _commerce("deposit_import"), **_SHOP_NAME),
    "commerce:review_queue": Route("GET", _commerce("review_queue"), **_SHOP_NAME),
    "commerce:deposit_decide": Route(
        "POST",
        _commerce("deposit_decide", deposit_id=9001),
        lambda world: {"action": "dismiss"},
        302,
        setup=_tea_deposit,
    ),
    "mail:failed": Route(
        "GET", _mail("failed"), marker=lambda world: "マトリクスの失敗メール", setup=_tea_raw_mail
    ),
    "mail:raw": Route(
        "GET",
        _mail("raw", raw_mail_id=9001),
        marker=lambda world: "matrix-raw-body",
        setup=_tea_raw_mail,
    ),
    "mail:reprocess": Route(
        "POST", _mail("reprocess", raw_mail_id=9001), expected=302, setup=_tea_raw_mail
    ),
    "mail:settings": Route("GET", _mail("settings"), **_SHOP_NAME),
    "line:deliveries": Route(
        "GET", lambda world: reverse("line:deliveries", args=[world.tea.slug]), **_SHOP_NAME
    ),
    "line:quota": Route(
        "GET",
        lambda world: reverse("line:quota", args=[world.tea.slug, 9001]),
        marker=lambda world: "line-quota",
        setup=_tea_line_channel,
    ),
    "line:customer_merge": Route(
        "POST",
        lambda world: reverse("line:customer_merge", args=[world.tea.slug, 9001]),
        lambda world: {"target": str(world.tea_ticket.customer_id)},
        302,
        setup=_tea_second_customer,
    ),
    "webform:settings": Route(
        "GET", lambda world: reverse("webform:settings", args=[world.tea.slug]), **_SHOP_NAME
    ),
    "chat:settings": Route(
        "GET", lambda world: reverse("chat:settings", args=[world.tea.slug]), **_SHOP_NAME
    ),
    "phone:call_new": Route(
        "POST",
        lambda world: reverse("phone:call_new", args=[world.tea.slug]),
        lambda world: {"direction": "inbound", "number": "03-1234-5678", "result": "answered"},
        302,
    ),
    "phone:lookup": Route(
        "GET",
        lambda world: reverse("phone:lookup", args=[world.tea.slug]) + "?number=0312345678",
        marker=lambda world: world.tea_ticket.customer.name,
        setup=_tea_phone_identity,
    ),
    "phone:callbacks": Route(
        "GET",
        lambda world: reverse("phone:callbacks", args=[world.tea.slug]),
        marker=lambda world: "0399990000",
        setup=_tea_callback,
    ),
    "phone:callback_done": Route(
        "POST",
        lambda world: reverse("phone:callback_done", args=[world.tea.slug, 9001]),
        expected=302,
        setup=_tea_callback,
    ),
    # Shifts: the shop's staff see the week; a supervisor of the agency plans its operators.
    "operations:shifts": Route("GET", _operations("shifts"), **_SHOP_NAME),
    "operations:shift_edit": Route(
        "POST",
        _operations("shift_edit", 9001),
        lambda world: {"action": "delete"},
        302,
        setup=_tea_shift,
        user="supervisor",
    ),
    "operations:duty": Route("POST", _operations("duty"), lambda world: {"duty": "available"}, 302),
    "operations:coverage": Route("GET", _operations("coverage"), **_SHOP_NAME),
    # SLA attainment: the shop's leads and its client read it (operators get 403).
    "operations:attainment": Route(
        "GET",
        _operations("attainment"),
        marker=lambda world: "matrix-policy",
        setup=_tea_attainment,
        user="supervisor",
    ),
    # Analytics: the shop's leads and its client read it (operators get 403), ADR 0022.
    "analytics:shop_dashboard": Route(
        "GET",
        lambda world: reverse("analytics:shop_dashboard", args=[world.tea.slug]),
        setup=_tea_analytics,
        user="supervisor",
        **_SHOP_NAME,
    ),
    "analytics:dashboard": Route(
        "GET",
        lambda world: reverse("analytics:dashboard") + f"?shop={world.tea.slug}",
        setup=_tea_analytics,
        user="supervisor",
        **_SHOP_NAME,
    ),
    "analytics:tickets": Route(
        "GET",
        lambda world: reverse("analytics:tickets") + f"?shop={world.tea.slug}&figure=tickets",
        setup=_tea_analytics,
        user="supervisor",
    ),
    # The CSV downloads of the analytics (ADR 0022): the dashboard's readers and filters.
    "analytics:export_tickets": Route(
        "GET",
        lambda world: reverse("analytics:export_tickets") + f"?shop={world.tea.slug}",
        setup=_tea_analytics,
        user="supervisor",
    ),
    "analytics:export_metrics": Route(
        "GET",
        lambda world: reverse("analytics:export_metrics") + f"?shop={world.tea.slug}",
        setup=_tea_analytics,
        user="supervisor",
        marker=lambda world: "Tickets per day",
    ),
    "analytics:chart": Route(
        "GET",
        lambda world: reverse("analytics:chart", args=["channels"]) + f"?shop={world.tea.slug}",
        setup=_tea_analytics,
        user="supervisor",
        marker=lambda world: "<svg",
    ),
    "analytics:settings": Route(
        "POST",
        lambda world: reverse("analytics:settings", args=[world.tea.slug]),
        lambda world: {"shows_operator_names_to_client": "on"},
        302,
        user="supervisor",
    ),
    # Monthly client reports: the shop's leads manage them, its client reads them (operators 403).
    "reports:shop_reports": Route(
        "GET", _reports("shop_reports"), setup=_tea_report, user="supervisor", **_SHOP_NAME
    ),
    "reports:report": Route(
        "GET",
        _reports("report", TEA_REPORT_ID),
        setup=_tea_report,
        user="client_tea",
        **_SHOP_NAME,
    ),
    "reports:pdf": Route(
        "GET",
        _reports("pdf", TEA_REPORT_ID),
        setup=_tea_report,
        user="client_tea",
        marker=lambda world: "matrix-report-pdf",
    ),
    "reports:chart": Route(
        "GET",
        _reports("chart", TEA_REPORT_ID, "volume"),
        setup=_tea_report,
        user="client_tea",
        marker=lambda world: "<svg",
    ),
    "reports:send": Route(
        "POST", _reports("send", TEA_REPORT_ID), expected=302, setup=_tea_report, user="supervisor"
    ),
    "reports:generate": Route(
        "POST",
        _reports("generate"),
        lambda world: {"month": "2026-11"},
        302,
        user="supervisor",
    ),
    "reports:point_add": Route(
        "POST",
        _reports("point_add"),
        lambda world: {"month": "2026-11", "area": "product", "text": "x"},
        302,
        user="supervisor",
    ),
    "reports:point_accept": Route(
        "POST",
        _reports("point_accept"),
        lambda world: {
            "month": "2026-11",
            "source": "improvement_item",
            "source_id": TEA_REPORT_ITEM_ID,
        },
        302,
        setup=_tea_report,
        user="supervisor",
    ),
    "reports:point_delete": Route(
        "POST",
        _reports("point_delete", TEA_REPORT_POINT_ID),
        expected=302,
        setup=_tea_report,
        user="supervisor",
    ),
    "reports:settings": Route(
        "POST",
        _reports("settings"),
        lambda world: {"is_enabled": "on"},
        302,
        user="supervisor",
    ),
    # The ticket page's handle-time heartbeat: the shop's staff only (analytics.handle_views).
    "analytics:ticket_worked": Route(
        "POST",
        lambda world: reverse("analytics:ticket_worked", kwargs=_ticket_kwargs(world)),
        lambda world: {"seconds": "30", "composing": "10"},
        204,
    ),
    # The menu's attention counts of a shop, loaded after each page.
    "menu_counts": Route(
        "GET",
        lambda world: reverse("menu_counts") + f"?shop={world.tea.slug}",
        marker=lambda world: "menu__counts",
    ),
    "search:results": Route(
        "GET",
        lambda world: reverse("search:results") + f"?q={quote('お茶')}&shop={world.tea.slug}",
        marker=lambda world: world.tea.name,  # the shop filter names the shop
    ),
    # The shop's settings: its leads open them, its admins change them (others 403).
    "administration:shop_edit": Route(
        "GET",
        lambda world: reverse("administration:shop_edit", args=[world.tea.slug]),
        user="supervisor",
        **_SHOP_NAME,
    ),
    "administration:shop_archive": Route(
        "POST",
        lambda world: reverse("administration:shop_archive", args=[world.tea.slug]),
        expected=302,
        user="admin",
    ),
    "administration:shop_unarchive": Route(
        "POST",
        lambda world: reverse("administration:shop_unarchive", args=[world.tea.slug]),
        expected=302,
        setup=_tea_archived,
        user="admin",
    ),
    # An admin of the agency that works the shop invites the shop company's first admin.
    "administration:owner_invite": Route(
        "POST",
        lambda world: reverse("administration:owner_invite", args=[world.tea.slug]),
        lambda world: {"owner-email": "matrix-owner@yamada-en.example.jp"},
        302,
        setup=_tea_company_without_admin,
        user="admin",
    ),
    # The agency's engagement on the shop: admins of either side change or end it.
    "administration:engagement_edit": Route(
        "GET",
        _tea_engagement_url("engagement_edit"),
        marker=lambda world: world.agency.name,
        user="admin",
    ),
    "administration:engagement_end": Route(
        "POST",
        _tea_engagement_url("engagement_end"),
        lambda world: {"ends_on": "2099-12-31"},
        302,
        user="admin",
    ),
    # The shop company's admin invites an agency, and takes an open invitation back.
    "administration:engagement_invite": Route(
        "GET",
        lambda world: reverse("administration:engagement_invite", args=[world.tea.slug]),
        user="tea_owner_admin",
        **_SHOP_NAME,
    ),
    "administration:invitation_cancel": Route(
        "POST",
        lambda world: reverse("administration:invitation_cancel", args=[world.tea.slug, 9001]),
        expected=302,
        setup=_tea_engagement_invitation,
        user="tea_owner_admin",
    ),
    "administration:taxonomy": Route(
        "GET",
        lambda world: reverse("administration:taxonomy", args=[world.tea.slug]),
        marker=lambda world: "マトリクスの分類",
        setup=_tea_category,
    ),
    # The channels overview: the shop's staff see every channel and its state.
    "administration:channels": Route(
        "GET",
        lambda world: reverse("administration:channels", args=[world.tea.slug]),
        marker=lambda world: TEA_ADDRESS,
        setup=_tea_mail_address,
    ),
    # The email channel's set-up: staff read, leads change.
    "mail:addresses": Route(
        "GET", _mail("addresses"), marker=lambda world: TEA_ADDRESS, setup=_tea_mail_address
    ),
    "mail:address_edit": Route(
        "GET",
        _mail("address_edit", address_id=9001),
        marker=lambda world: TEA_ADDRESS,
        setup=_tea_mail_address,
    ),
    "mail:address_delete": Route(
        "POST",
        _mail("address_delete", address_id=9001),
        expected=302,
        setup=_tea_mail_address,
        user="supervisor",
    ),
    "mail:mailboxes": Route(
        "GET", _mail("mailboxes"), marker=lambda world: TEA_MAILBOX, setup=_tea_mailbox
    ),
    "mail:mailbox_edit": Route(
        "GET",
        _mail("mailbox_edit", mailbox_id=9001),
        marker=lambda world: TEA_MAILBOX,
        setup=_tea_mailbox,
    ),
    # A connection test: the page with the result (the audit names who tried).
    "mail:mailbox_test": Route(
        "POST",
        _mail("mailbox_test", mailbox_id=9001),
        expected=200,
        setup=_tea_mailbox,
        user="supervisor",
    ),
    "mail:mailbox_delete": Route(
        "POST",
        _mail("mailbox_delete", mailbox_id=9001),
        expected=302,
        setup=_tea_mailbox,
        user="supervisor",
    ),
    "mail:smtp_servers": Route(
        "GET", _mail("smtp_servers"), marker=lambda world: TEA_SMTP_SERVER, setup=_tea_smtp_server
    ),
    "mail:smtp_server_edit": Route(
        "GET",
        _mail("smtp_server_edit", server_id=9001),
        marker=lambda world: TEA_SMTP_SERVER,
        setup=_tea_smtp_server,
    ),
    "mail:smtp_server_test": Route(
        "POST",
        _mail("smtp_server_test", server_id=9001),
        lambda world: {"to_address": "matrix-test@example.jp"},
        200,
        setup=_tea_smtp_server,
        user="supervisor",
    ),
    "mail:smtp_server_delete": Route(
        "POST",
        _mail("smtp_server_delete", server_id=9001),
        expected=302,
        setup=_tea_smtp_server,
        user="supervisor",
    ),
    # The outbox: the shop's staff read what went out and send a failed mail again.
    "mail:outbox": Route(
        "GET", _mail("outbox"), marker=lambda world: TEA_OUTBOUND, setup=_tea_outbound
    ),
    "mail:outbound": Route(
        "GET",
        _mail("outbound", outbound_id=9001),
        marker=lambda world: "matrix-outbound-body",
        setup=_tea_outbound,
    ),
    "mail:outbound_retry": Route(
        "POST", _mail("outbound_retry", outbound_id=9001), expected=302, setup=_tea_outbound
    ),
    # The shop's own phone numbers: staff read the list, leads change them.
    "phone:numbers": Route(
        "GET",
        lambda world: reverse("phone:numbers", args=[world.tea.slug]),
        marker=lambda world: TEA_PHONE_LABEL,
        setup=_tea_phone_number,
    ),
    "phone:number_edit": Route(
        "GET",
        lambda world: reverse("phone:number_edit", args=[world.tea.slug, 9001]),
        marker=lambda world: TEA_PHONE_LABEL,
        setup=_tea_phone_number,
        user="supervisor",
    ),
    "phone:number_delete": Route(
        "POST",
        lambda world: reverse("phone:number_delete", args=[world.tea.slug, 9001]),
        expected=302,
        setup=_tea_phone_number,
        user="supervisor",
    ),
    # Cart connections: the shop's leads only (operators 403).
    "commerce:connections": Route(
        "GET",
        _commerce("connections"),
        marker=lambda world: TEA_STORE,
        setup=_tea_connection,
        user="supervisor",
    ),
    "commerce:connection": Route(
        "GET",
        _commerce("connection", connection_id=9001),
        marker=lambda world: TEA_STORE,
        setup=_tea_connection,
        user="supervisor",
    ),
    "commerce:connection_rotate": Route(
        "POST",
        _commerce("connection_rotate", connection_id=9001),
        lambda world: {"renew": "both"},
        200,  # the new secret is shown once, in this answer
        setup=_tea_connection,
        user="supervisor",
    ),
    "commerce:connection_delete": Route(
        "POST",
        _commerce("connection_delete", connection_id=9001),
        expected=302,
        setup=_tea_connection,
        user="supervisor",
    ),
    # LINE channels: staff read the list, leads connect and change them.
    "line:channels": Route(
        "GET",
        lambda world: reverse("line:channels", args=[world.tea.slug]),
        marker=lambda world: TEA_LINE_CHANNEL,
        setup=_tea_line_channel,
    ),
    "line:channel_edit": Route(
        "GET",
        lambda world: reverse("line:channel_edit", args=[world.tea.slug, 9001]),
        marker=lambda world: TEA_LINE_CHANNEL,
        setup=_tea_line_channel,
        user="supervisor",
    ),
    # Operations settings: the shop's staff read them, its leads change them.
    "operations:calendar": Route("GET", _operations("calendar"), **_SHOP_NAME),
    "operations:routing": Route("GET", _operations("routing"), **_SHOP_NAME),
    "operations:sla_policies": Route(
        "GET",
        _operations("sla_policies"),
        marker=lambda world: "matrix-policy",
        setup=_tea_sla_policy,
    ),
    "operations:sla_policy_edit": Route(
        "GET",
        _operations("sla_policy_edit", 9001),
        marker=lambda world: "matrix-policy",
        setup=_tea_sla_policy,
    ),
    # The same settings pages, saved (a stranger's form changes nothing either).
    "administration:shop_edit (save)": Route(
        "POST",
        lambda world: reverse("administration:shop_edit", args=[world.tea.slug]),
        lambda world: {
            "name": "山田園 茶舗 本店",
            "ticket_prefix": "TEA",
            "time_zone": "Asia/Tokyo",
            "default_language": "ja",
        },
        302,
        user="admin",
    ),
    "administration:engagement_edit (save)": Route(
        "POST",
        _tea_engagement_url("engagement_edit"),
        lambda world: {"mode": "embedded", "starts_on": _engagement_starts_on(world)},
        302,
        user="admin",
    ),
    "administration:engagement_invite (send)": Route(
        "POST",
        lambda world: reverse("administration:engagement_invite", args=[world.tea.slug]),
        lambda world: {"mode": "outsourced"},
        200,  # the code and link to pass on
        user="tea_owner_admin",
    ),
    "administration:taxonomy (add)": Route(
        "POST",
        lambda world: reverse("administration:taxonomy", args=[world.tea.slug]),
        lambda world: {"action": "category_add", "category-name": "マトリクスの新しい分類"},
        302,
        user="supervisor",
    ),
    "mail:addresses (add)": Route(
        "POST",
        _mail("addresses"),
        lambda world: {"address": "matrix-new@yamada-en.example.jp", "inbound_method": "smtp"},
        302,
        user="supervisor",
    ),
    "mail:address_edit (save)": Route(
        "POST",
        _mail("address_edit", address_id=9001),
        lambda world: {"address": TEA_ADDRESS, "display_name": "山田園", "inbound_method": "smtp"},
        302,
        setup=_tea_mail_address,
        user="supervisor",
    ),
    "mail:mailboxes (add)": Route(
        "POST",
        _mail("mailboxes"),
        lambda world: {
            "name": "新しい受信箱",
            "host": "127.0.0.1",
            "port": "9",
            "security": "none",
            "username": "matrix-new",
            "password": "matrix-password",
            "folder": "INBOX",
            "is_active": "on",
        },
        302,
        user="supervisor",
    ),
    "mail:mailbox_edit (save)": Route(
        "POST",
        _mail("mailbox_edit", mailbox_id=9001),
        lambda world: {
            "name": TEA_MAILBOX,
            "host": "127.0.0.1",
            "port": "9",
            "security": "none",
            "username": "matrix",
            "folder": "INBOX",
            # not active any more; the password left empty stays
        },
        302,
        setup=_tea_mailbox,
        user="supervisor",
    ),
    "mail:smtp_servers (add)": Route(
        "POST",
        _mail("smtp_servers"),
        lambda world: {
            "name": "新しい送信サーバー",
            "host": "127.0.0.1",
            "port": "9",
            "security": "none",
            "is_active": "on",
        },
        302,
        user="supervisor",
    ),
    "mail:smtp_server_edit (save)": Route(
        "POST",
        _mail("smtp_server_edit", server_id=9001),
        lambda world: {
            "name": TEA_SMTP_SERVER,
            "host": "127.0.0.1",
            "port": "2525",
            "security": "none",
            "is_active": "on",
        },
        302,
        setup=_tea_smtp_server,
        user="supervisor",
    ),
    "phone:numbers (add)": Route(
        "POST",
        lambda world: reverse("phone:numbers", args=[world.tea.slug]),
        lambda world: {"number": "03-5555-0202", "label": "新しい番号", "is_active": "on"},
        302,
        user="supervisor",
    ),
    "phone:number_edit (save)": Route(
        "POST",
        lambda world: reverse("phone:number_edit", args=[world.tea.slug, 9001]),
        lambda world: {"number": "03-5555-0101", "label": "代表", "is_active": "on"},
        302,
        setup=_tea_phone_number,
        user="supervisor",
    ),
    "commerce:connections (add)": Route(
        "POST",
        _commerce("connections"),
        lambda world: {
            "platform": "shopify",
            "store_domain": "yamada-en.myshopify.com",
            "webhook_secret": "matrix-shopify-secret-0123456789",
        },
        302,
        user="supervisor",
    ),
    "commerce:connection (save)": Route(
        "POST",
        _commerce("connection", connection_id=9001),
        lambda world: {"store_domain": TEA_STORE},  # switched off
        302,
        setup=_tea_connection,
        user="supervisor",
    ),
    "line:channels (add)": Route(
        "POST",
        lambda world: reverse("line:channels", args=[world.tea.slug]),
        lambda world: {
            "name": "新しいLINE",
            "channel_id": "2000000001",
            "channel_secret": "matrix-channel-secret",
            "access_token": "matrix-access-token",
        },
        302,
        user="supervisor",
    ),
    "line:channel_edit (save)": Route(
        "POST",
        lambda world: reverse("line:channel_edit", args=[world.tea.slug, 9001]),
        lambda world: {"name": TEA_LINE_CHANNEL, "channel_id": "1"},  # switched off
        302,
        setup=_tea_line_channel,
        user="supervisor",
    ),
    "operations:calendar (save)": Route(
        "POST",
        _operations("calendar"),
        lambda world: {
            "action": "closure",
            "name": "夏季休業",
            "starts_on": "2099-08-13",
            "ends_on": "2099-08-16",
        },
        302,
        user="supervisor",
    ),
    # CSAT (ADR 0021): the shop's staff read the settings, its leads change them; staff stop or
    # resume surveys to a customer.
    "csat:settings": Route(
        "GET", lambda world: reverse("csat:settings", args=[world.tea.slug]), **_SHOP_NAME
    ),
    "csat:settings (save)": Route(
        "POST",
        lambda world: reverse("csat:settings", args=[world.tea.slug]),
        lambda world: {"is_enabled": "on", "delay_minutes": "30"},
        302,
        user="supervisor",
    ),
    "csat:opt_out": Route(
        "POST",
        lambda world: reverse("csat:opt_out", args=[world.tea.slug, world.tea_ticket.customer_id]),
        lambda world: {"opted_out": "1"},
        302,
    ),
    "operations:routing (save)": Route(
        "POST",
        _operations("routing"),
        lambda world: {"mode": "round_robin", "max_open_per_operator": "5"},
        302,
        user="supervisor",
    ),
    "operations:sla_policies (add)": Route(
        "POST",
        _operations("sla_policies"),
        lambda world: {
            "name": "matrix-new-policy",
            "first_response_minutes": "4h",
            "warn_minutes_before": "30",
            "is_active": "on",
            "position": "0",
        },
        302,
        user="supervisor",
    ),
    "operations:sla_policy_edit (delete)": Route(
        "POST",
        _operations("sla_policy_edit", 9001),
        lambda world: {"action": "delete"},
        302,
        setup=_tea_sla_policy,
        user="supervisor",
    ),
}

# Views without a shop in the request: strangers get a page, but never the tea shop's data.
GLOBAL_ROUTES: dict[str, Route] = {
    "conversations:inbox (no shop)": Route("GET", lambda world: reverse("conversations:inbox")),
    "conversations:ticket_new (no shop)": Route(
        "GET",
        lambda world: reverse("conversations:ticket_new"),
        marker=lambda world: world.tea.name,  # the shop choice
    ),
}

# Pages of a workspace (no shop in the URL): its admins change it, its supervisors read it. The
# stranger is the admin of another agency (`world.other_admin`).
WORKSPACE_ROUTES: dict[str, Route] = {
    # Agency billing (ADR 0024): its admins change, its supervisors read; another agency's admin
    # gets its own (empty) billing pages or 404 for the agency's rows.
    "billing:home": Route(
        "GET",
        lambda world: reverse("billing:home"),
        marker=lambda world: BILLING_CONTRACT,
        setup=_billing,
        user="supervisor",
        stranger=200,
    ),
    "billing:settings": Route(
        "GET",
        lambda world: reverse("billing:settings", args=[world.agency.id]),
        marker=lambda world: BILLING_ISSUER,
        setup=_billing,
        user="supervisor",
    ),
    "billing:settings (save)": Route(
        "POST",
        lambda world: reverse("billing:settings", args=[world.agency.id]),
        lambda world: {
            "issuer_name": "マトリクス請求元株式会社 本社",
            "registration_number": "T4011001098993",
            "payment_terms_days": "30",
            "rounding": "down",
            "number_prefix": "INV",
        },
        302,
        setup=_billing,
        user="admin",
    ),
    "billing:contract_new": Route(
        "GET",
        lambda world: reverse("billing:contract_new"),
        marker=lambda world: world.tea.name,  # the client shop to choose
        user="admin",
        stranger=200,
    ),
    "billing:contract_new (create)": Route(
        "POST",
        lambda world: reverse("billing:contract_new"),
        lambda world: {
            **_BILLING_TERMS,
            "engagement": str(world.tea.engagements.get(agency=world.agency).pk),
            "name": "マトリクスの新しい契約",
            "starts_on": "2026-10-01",
            "minimum_term_months": "0",
        },
        302,
        user="admin",
        stranger=400,  # the other agency may not choose this engagement: nothing is created
    ),
    "billing:contract": Route(
        "GET",
        lambda world: reverse("billing:contract", args=[_billing_contract_id()]),
        marker=lambda world: BILLING_CONTRACT,
        setup=_billing,
        user="supervisor",
    ),
    "billing:contract_terms": Route(
        "POST",
        lambda world: reverse("billing:contract_terms", args=[_billing_contract_id()]),
        lambda world: {**_BILLING_TERMS, "effective_from": "2026-12-01"},
        302,
        setup=_billing,
        user="admin",
    ),
    "billing:contract_draft": Route(
        "POST",
        lambda world: reverse("billing:contract_draft", args=[_billing_contract_id()]),
        lambda world: {"month": "2026-11"},
        302,
        setup=_billing,
        user="admin",
    ),
    "billing:invoice": Route(
        "GET",
        _billing_url("invoice"),
        marker=lambda world: "INV-000001",
        setup=_billing,
        user="supervisor",
    ),
    "billing:invoice_pdf": Route(
        "GET",
        _billing_url("invoice_pdf"),
        marker=lambda world: BILLING_ISSUER,
        setup=_billing,
        user="supervisor",
    ),
    "billing:invoice_issue": Route(
        "POST", _billing_url("invoice_issue"), expected=302, setup=_billing_draft, user="admin"
    ),
    "billing:invoice_discard": Route(
        "POST", _billing_url("invoice_discard"), expected=302, setup=_billing_draft, user="admin"
    ),
    "billing:invoice_credit": Route(
        "POST",
        _billing_url("invoice_credit"),
        lambda world: {"reason": "マトリクスの訂正"},
        302,
        setup=_billing,
        user="admin",
    ),
    "billing:invoices_csv": Route(
        "GET",
        lambda world: reverse("billing:invoices_csv", args=[world.agency.id]),
        marker=lambda world: "INV-000001",
        setup=_billing,
        user="supervisor",
    ),
    # The workspaces the visitor leads, with their shops: another agency's admin sees theirs.
    "administration:workspace": Route(
        "GET",
        lambda world: reverse("administration:workspace"),
        marker=lambda world: world.tea.name,  # a shop the agency works
        user="supervisor",
        stranger=200,
    ),
    "administration:workspace_edit": Route(
        "GET",
        lambda world: reverse("administration:workspace_edit", args=[world.agency.id]),
        marker=lambda world: world.agency.name,
        user="admin",
    ),
    "administration:shop_new": Route(
        "GET",
        lambda world: reverse("administration:shop_new", args=[world.agency.id]),
        marker=lambda world: world.agency.name,
        user="admin",
    ),
    # An agency admin pastes a shop company's invitation code: any agency admin may open it.
    "administration:engagement_accept": Route(
        "GET",
        lambda world: reverse("administration:engagement_accept"),
        marker=lambda world: f'name="agency" value="{world.agency.id}"',  # the agency accepting
        user="admin",
        stranger=200,
    ),
    "administration:people": Route(
        "GET",
        lambda world: reverse("administration:people") + f"?workspace={world.agency.id}",
        marker=lambda world: world.operator_tea.email,
        user="supervisor",
    ),
    "administration:people_invite": Route(
        "GET",
        lambda world: reverse("administration:people_invite") + f"?workspace={world.agency.id}",
        user="admin",
        **_SHOP_NAME,  # a shop the invited person may be assigned to
    ),
    "administration:person": Route(
        "GET",
        _membership_url("person", "operator_tea"),
        marker=lambda world: world.operator_tea.email,
        user="supervisor",
    ),
    "administration:person_deactivate": Route(
        "POST", _membership_url("person_deactivate", "operator_tea"), expected=302, user="admin"
    ),
    "administration:person_reactivate": Route(
        "POST",
        lambda world: reverse("administration:person_reactivate", args=[9001]),
        expected=302,
        setup=_deactivated_operator,
        user="admin",
    ),
    "administration:invitation_resend": Route(
        "POST",
        lambda world: reverse("administration:invitation_resend", args=[9001]),
        expected=302,
        setup=_agency_invitation,
        user="admin",
    ),
    "administration:invitation_revoke": Route(
        "POST",
        lambda world: reverse("administration:invitation_revoke", args=[9001]),
        expected=302,
        setup=_agency_invitation,
        user="admin",
    ),
    # The security settings of the workspaces the visitor leads: admins change them.
    "accounts:workspace_security": Route(
        "GET",
        lambda world: reverse("accounts:workspace_security"),
        marker=lambda world: world.agency.name,
        user="supervisor",
        stranger=200,
    ),
    "accounts:workspace_security_edit": Route(
        "POST",
        lambda world: reverse("accounts:workspace_security_edit", args=[world.agency.slug]),
        lambda world: {"requires_two_factor": "on"},
        302,
        user="admin",
    ),
    "accounts:workspace_ip_allowlist_edit": Route(
        "POST",
        lambda world: reverse("accounts:workspace_ip_allowlist_edit", args=[world.agency.slug]),
        lambda world: {"ip_allowlist": "127.0.0.0/8\n::1"},  # the test client's own address
        302,
        user="admin",
    ),
    # The audit log of a workspace: its admins read it (a shop company's clients their shops').
    "audit:log": Route(
        "GET",
        lambda world: reverse("audit:log") + f"?workspace={world.agency.slug}",
        marker=lambda world: AUDIT_MARKER,
        setup=_tea_audit_entry,
        user="admin",
    ),
    "audit:export": Route(
        "GET",
        lambda world: reverse("audit:export") + f"?workspace={world.agency.slug}",
        marker=lambda world: AUDIT_MARKER,
        setup=_tea_audit_entry,
        user="admin",
    ),
    "administration:workspace_edit (save)": Route(
        "POST",
        lambda world: reverse("administration:workspace_edit", args=[world.agency.id]),
        lambda world: {"name": "窓口サポート株式会社"},
        302,
        user="admin",
    ),
    # An agency's admin adds a client's shop: the client company and the engagement with it.
    "administration:shop_new (add)": Route(
        "POST",
        lambda world: reverse("administration:shop_new", args=[world.agency.id]),
        lambda world: {
            "client_name": "新しい依頼主",
            "name": "新しいショップ",
            "ticket_prefix": "NEW",
            "mode": "outsourced",
        },
        302,
        user="admin",
    ),
    "administration:people_invite (send)": Route(
        "POST",
        lambda world: reverse("administration:people_invite") + f"?workspace={world.agency.id}",
        lambda world: {
            "email": "matrix-new@example.jp",
            "role": "operator",
            "shops": [str(world.tea.id)],
            "languages": ["ja"],
        },
        302,
        user="admin",
    ),
    "administration:person (save)": Route(
        "POST",
        _membership_url("person", "operator_tea"),
        lambda world: {
            "role": "operator",
            "shops": [str(world.tea.id), str(world.ceramics.id)],
            "languages": ["ja"],
        },
        302,
        user="admin",
    ),
}

# The signed-in user's own account: nobody else's is reachable, so there is no stranger. The
# marker is the user's own (the tea operator's).
ACCOUNT_ROUTES: dict[str, Route] = {
    # The cost simulator: every signed-in person; it reads and stores nothing of anyone's.
    "billing:simulator": Route(
        "GET",
        lambda world: reverse("billing:simulator"),
        marker=lambda world: 'data-testid="simulator-form"',
    ),
    "accounts:profile": Route(
        "GET",
        lambda world: reverse("accounts:profile"),
        marker=lambda world: world.operator_tea.email,
    ),
    "accounts:profile (save)": Route(
        "POST",
        lambda world: reverse("accounts:profile"),
        lambda world: {"display_name": "マトリクスの名前", "language": "en"},
        302,
    ),
    "accounts:password_change": Route(
        "POST",
        lambda world: reverse("accounts:password_change"),
        lambda world: {
            "old_password": "pass-1234",
            "new_password1": "matrix-新しいパスワード",
            "new_password2": "matrix-新しいパスワード",
        },
        302,
    ),
    "accounts:two_factor_setup": Route(
        "GET",
        lambda world: reverse("accounts:two_factor_setup"),
        marker=lambda world: 'data-testid="qr-code"',
    ),
    # The code step of signing in, for a user with an authenticator who has not passed it yet.
    "accounts:sign_in_code": Route(
        "GET",
        lambda world: reverse("accounts:sign_in_code"),
        marker=lambda world: 'data-testid="code-form"',
        setup=_authenticator,
        code_step=False,
    ),
    "accounts:two_factor": Route(
        "GET",
        lambda world: reverse("accounts:two_factor"),
        marker=lambda world: 'data-testid="two-factor-state"',
        setup=_authenticator,
    ),
    "accounts:recovery_codes": Route(
        "POST",
        lambda world: reverse("accounts:recovery_codes"),
        lambda world: {"regenerate-password": "pass-1234"},
        302,
        setup=_authenticator,
    ),
    "accounts:two_factor_disable": Route(
        "POST",
        lambda world: reverse("accounts:two_factor_disable"),
        lambda world: {"password": "pass-1234"},
        302,
        setup=_authenticator,
    ),
}


def _names(*routes: dict[str, Route]) -> set[str]:
    """The URL names the dicts describe (a key may add a variant after a space)."""
    return {key.split(" ")[0] for described in routes for key in described}


KNOWN = _names(PUBLIC, SHOP_ROUTES, WORKSPACE_ROUTES, ACCOUNT_ROUTES)


def test_every_url_pattern_is_in_the_matrix() -> None:
    unknown = sorted(resolved_names() - KNOWN)
    assert unknown == [], (
        "Describe these URL patterns in core/tests/test_tenancy_matrix.py "
        f"(PUBLIC, SHOP_ROUTES, WORKSPACE_ROUTES or ACCOUNT_ROUTES): {unknown}"
    )


def present(names: dict[str, Any]) -> list[str]:
    """The described routes that the URLconf has (routes of unfinished apps are left out)."""
    available = resolved_names()
    return [name for name in names if name.split(" ")[0] in available]


# The rows the settings and account pages change, by model: a refused request leaves them as they
# were. Models of apps not installed yet are left out.
SETTINGS_ROWS: dict[str, tuple[str, ...]] = {
    "accounts.User": ("id", "display_name", "language", "password", "is_active"),
    "otp_totp.TOTPDevice": ("id", "confirmed"),
    "otp_static.StaticToken": ("id",),
    "tenancy.Workspace": ("id", "name", "requires_two_factor", "staff_ip_allowlist"),
    "tenancy.Shop": ("id", "name", "ticket_prefix", "time_zone", "archived_at"),
    "tenancy.Engagement": ("id", "mode", "starts_on", "ends_on"),
    "tenancy.EngagementInvitation": ("id", "accepted_at", "cancelled_at"),
    "tenancy.Membership": ("id", "role", "is_trainee", "is_active"),
    "tenancy.ShopAssignment": ("id", "membership_id", "shop_id"),
    "administration.Invitation": ("id", "token_hash", "expires_at", "revoked_at", "accepted_at"),
    "conversations.Category": ("id", "name", "is_active"),
    "analytics.AnalyticsSettings": ("id", "shows_operator_names_to_client"),
    "conversations.Tag": ("id", "name"),
    "mail.MailAddress": ("id", "address", "is_verified", "mailbox_id", "outbound_server_id"),
    "mail.Mailbox": ("id", "name", "host", "port", "username", "is_active"),
    "mail.SmtpServer": ("id", "name", "host", "port", "is_active", "last_error"),
    "mail.OutboundMail": ("id", "status", "attempts"),
    "phone.PhoneNumber": ("id", "number", "label", "is_active"),
    "commerce.CommerceConnection": ("id", "store_domain", "token", "is_active"),
    "line.LineChannel": ("id", "name", "channel_id", "is_active"),
    "operations.BusinessCalendarSettings": ("id", "observes_national_holidays", "always_open"),
    "operations.OpeningHours": ("id", "weekday", "opens_at", "closes_at"),
    "operations.Closure": ("id", "starts_on", "ends_on"),
    "operations.SlaPolicy": ("id", "name", "first_response_minutes", "is_active", "position"),
    "operations.RoutingSettings": ("id", "mode", "max_open_per_operator", "channel_modes"),
    "privacy.RetentionPolicy": ("id", "is_enabled", "closed_ticket_years", "raw_payload_days"),
    "privacy.ErasureRecord": ("id", "is_verified", "verified_at"),
    "csat.CsatSettings": ("id", "is_enabled", "delay_minutes"),
    "csat.CsatOptOut": ("id", "customer_id"),
    "knowledge.KnowledgeSettings": ("id", "is_help_center_enabled", "clients_may_edit"),
    "knowledge.ArticleCategory": ("id", "name", "position"),
    "knowledge.Article": ("id", "status", "title", "visibility", "revision_number"),
    "knowledge.FaqCandidate": ("id", "status", "article_id"),
    "knowledge.ImprovementItem": ("id", "title", "status", "owner_id"),
    "billing.BillingSettings": ("id", "issuer_name", "last_invoice_number"),
    "billing.Contract": ("id", "name", "ends_on"),
    "billing.ContractTerms": ("id", "effective_from", "plan", "monthly_fee"),
    "billing.Invoice": ("id", "status", "number", "total"),
}


def settings_rows() -> tuple[Any, ...]:
    """The `SETTINGS_ROWS` of every installed model, in id order."""
    rows = []
    for label, fields in SETTINGS_ROWS.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        rows.append(tuple(model._default_manager.order_by("pk").values_list(*fields)))
    return tuple(rows)


# Audit actions that record a read (a page, a search, a download, an export was shown): the only
# rows a GET may write. Everything else in `snapshot` stays as it was after any GET.
READ_ACTION_SUFFIXES = (".viewed", ".searched", ".downloaded", ".exported", ".customer_exported")


def snapshot(world: Any, *, reads: bool = True) -> tuple[Any, ...]:
    """Everything a refused request must leave unchanged (without `reads`: except the audit
    entries of reads, which a GET may add)."""
    with unscoped("test assertion"):
        tickets = tuple(
            Ticket.objects.order_by("id").values_list(
                "id", "status", "priority", "assignee_id", "category_id", "last_activity_at"
            )
        )
        tags = tuple(Ticket.tags.through.objects.order_by("id").values_list("id", flat=True))
        mail: tuple[Any, ...] = ()
        if apps.is_installed("madoguchi.connectors.mail"):
            from madoguchi.connectors.mail.models import RawMail

            mail = tuple(RawMail.objects.order_by("id").values_list("id", "status", "attempts"))
        commerce: tuple[Any, ...] = ()
        if apps.is_installed("madoguchi.commerce"):
            from madoguchi.commerce.models import Deposit, Order

            commerce = (
                tuple(Order.objects.order_by("id").values_list("id", "status", "payment_status")),
                tuple(Deposit.objects.order_by("id").values_list("id", "match_state")),
            )
        return (
            mail,
            commerce,
            Message.objects.count(),
            Event.objects.count(),
            audit_entries(reads=reads).count(),
            Customer.objects.count(),
            tickets,
            tags,
            settings_rows(),
        )


def audit_entries(*, reads: bool = True) -> Any:
    entries = AuditEntry.objects.exclude(action__startswith="user.")
    if not reads:
        for suffix in READ_ACTION_SUFFIXES:
            entries = entries.exclude(action__endswith=suffix)
    return entries


@pytest.fixture
def world(world: Any) -> Any:
    """The world, with an admin of the tea shop's company (`tea_owner_admin`), the admin of
    another agency (`other_admin`), a stranger to the agency's workspace pages, and an admin of
    the ceramics shop's company (`ceramics_owner_admin`), who may do anything in that shop."""
    from madoguchi.core.testing import factories
    from madoguchi.tenancy.models import Membership

    admin = Membership.Role.ADMIN
    world.tea_owner_admin = factories.MembershipFactory(
        workspace=world.tea.workspace, role=admin
    ).user
    other_agency = factories.WorkspaceFactory(name="別の代行会社", slug="other", kind="agency")
    world.other_admin = factories.MembershipFactory(workspace=other_agency, role=admin).user
    world.ceramics_owner_admin = factories.MembershipFactory(
        workspace=world.ceramics.workspace, role=admin
    ).user
    return world


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    """Files a route's setup stores (attachments) go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"


def text(response: Any) -> str:
    """The body as text, also of a streamed response (a file download)."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    if response.get("Content-Type") == "application/pdf":
        import pypdfium2

        pages = pypdfium2.PdfDocument(response.content)
        return "\n".join(page.get_textpage().get_text_range() for page in pages)
    return str(response.text)


def sign_in(client: Any, route: Route, world: Any) -> None:
    """Sign the route's right user in; with an authenticator, also through its code step
    (unless the route is that step)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = getattr(world, route.user)
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None and route.code_step:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


def call(client: Any, route: Route, world: Any) -> Any:
    url = route.url(world)
    if route.method == "POST":
        return client.post(url, route.data(world))
    return client.get(url)


SIGNED_IN_ROUTES = {**SHOP_ROUTES, **GLOBAL_ROUTES, **WORKSPACE_ROUTES, **ACCOUNT_ROUTES}


@pytest.mark.parametrize("name", present(SIGNED_IN_ROUTES))
def test_anonymous_is_sent_to_sign_in(english: Any, world: Any, name: str) -> None:
    route = SIGNED_IN_ROUTES[name]
    route.setup(world)
    before = snapshot(world)
    response = call(english, route, world)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    assert snapshot(world) == before


@pytest.mark.parametrize("stranger", ["operator_ceramics", "client_ceramics"])
@pytest.mark.parametrize("name", present(SHOP_ROUTES))
def test_strangers_get_404_and_change_nothing(
    english: Any, world: Any, name: str, stranger: str
) -> None:
    route = SHOP_ROUTES[name]
    route.setup(world)
    english.force_login(getattr(world, stranger))
    before = snapshot(world)
    response = call(english, route, world)
    assert response.status_code == 404
    assert TEA_SECRET not in response.text
    assert route.marker(world) not in response.text
    assert snapshot(world) == before


@pytest.mark.parametrize("stranger", ["operator_ceramics", "client_ceramics"])
@pytest.mark.parametrize("name", present(GLOBAL_ROUTES))
def test_strangers_never_see_the_other_shop_on_global_pages(
    english: Any, world: Any, name: str, stranger: str
) -> None:
    english.force_login(getattr(world, stranger))
    response = call(english, GLOBAL_ROUTES[name], world)
    assert response.status_code in (200, 403)
    assert TEA_SECRET not in response.text


# Routes naming an object of the tea shop by its id: asked through the ceramics shop's URL by
# that shop's admin (who passes every role check there), the object does not exist either.
OBJECT_ROUTES = [
    "conversations:ticket_attachment",
    "conversations:ticket_attachment_release",
    "conversations:ticket_delivery",
    "operations:template_edit",
    "operations:draft_review",
    "operations:shift_edit",
    "operations:sla_policy_edit",
    "operations:sla_policy_edit (delete)",
    "commerce:order_import_detail",
    "commerce:deposit_decide",
    "commerce:connection",
    "commerce:connection (save)",
    "commerce:connection_rotate",
    "commerce:connection_delete",
    "mail:raw",
    "mail:reprocess",
    "mail:address_edit",
    "mail:address_edit (save)",
    "mail:address_delete",
    "mail:mailbox_edit",
    "mail:mailbox_edit (save)",
    "mail:mailbox_test",
    "mail:mailbox_delete",
    "mail:smtp_server_edit",
    "mail:smtp_server_edit (save)",
    "mail:smtp_server_test",
    "mail:smtp_server_delete",
    "mail:outbound",
    "mail:outbound_retry",
    "line:quota",
    "line:customer_merge",
    "line:channel_edit",
    "line:channel_edit (save)",
    "phone:callback_done",
    "phone:number_edit",
    "phone:number_edit (save)",
    "phone:number_delete",
    "administration:engagement_edit",
    "administration:engagement_edit (save)",
    "administration:engagement_end",
    "administration:invitation_cancel",
    "knowledge:article",
    "knowledge:article_edit",
    "knowledge:article_edit (save)",
    "knowledge:article_publish",
    "knowledge:article_archive",
    "knowledge:revision",
    "knowledge:candidate_convert",
    "knowledge:candidate_dismiss",
    "knowledge:improvement_edit",
    "knowledge:improvement_edit (save)",
    "knowledge:article_from_reply",
    "billing:shop_invoice_pdf",
]


def test_the_object_routes_are_described_shop_routes() -> None:
    assert [name for name in OBJECT_ROUTES if name not in SHOP_ROUTES] == []


@pytest.mark.parametrize("name", [name for name in present(SHOP_ROUTES) if name in OBJECT_ROUTES])
def test_the_tea_shops_objects_are_not_found_through_another_shop(
    english: Any, world: Any, name: str
) -> None:
    route = SHOP_ROUTES[name]
    route.setup(world)
    english.force_login(world.ceramics_owner_admin)
    url = route.url(world)
    elsewhere = url.replace(f"/{world.tea.slug}/", f"/{world.ceramics.slug}/")
    assert elsewhere != url
    before = snapshot(world)
    if route.method == "POST":
        response = english.post(elsewhere, route.data(world))
    else:
        response = english.get(elsewhere)
    assert response.status_code == 404
    assert route.marker(world) not in text(response)
    assert snapshot(world) == before


@pytest.mark.parametrize("name", present(WORKSPACE_ROUTES))
def test_admins_of_another_workspace_are_refused_and_change_nothing(
    english: Any, world: Any, name: str
) -> None:
    route = WORKSPACE_ROUTES[name]
    route.setup(world)
    english.force_login(world.other_admin)
    before = snapshot(world)
    response = call(english, route, world)
    assert response.status_code == route.stranger
    assert TEA_SECRET not in response.text
    assert route.marker(world) not in response.text
    assert world.agency.name not in response.text
    assert snapshot(world) == before


@pytest.mark.parametrize("name", present(SIGNED_IN_ROUTES))
def test_the_right_user_is_served(english: Any, world: Any, name: str) -> None:
    route = SIGNED_IN_ROUTES[name]
    route.setup(world)
    sign_in(english, route, world)
    before, writes = snapshot(world), snapshot(world, reads=False)
    audited_before = AuditEntry.objects.count()
    response = call(english, route, world)
    assert response.status_code == route.expected
    assert not is_download(response) or name in DOWNLOADS, f"Describe {name} in DOWNLOADS"
    if route.method == "POST":
        assert snapshot(world) != before  # the same request from a stranger changed nothing
        # Every change made in the browser is in the audit log (or NOT_AUDITED says why not).
        assert name in NOT_AUDITED or AuditEntry.objects.count() > audited_before, (
            f"{name} wrote no audit entry"
        )
    else:
        assert route.marker(world) in text(response)
        # No GET changes state (checklist case 44): at most it records that it was read.
        if name not in GET_WRITES:
            assert snapshot(world, reads=False) == writes


# The GETs that write, and why that is no state change an attacker could cause.
GET_WRITES = {
    # Draws the secret the page shows as a QR code: an unconfirmed authenticator of the signed-in
    # user only, replaced at the next visit; it counts for nothing until a code confirms it (POST).
    "accounts:two_factor_setup",
}


# Views that take a POST without a CSRF token: public endpoints whose caller is no browser
# session (the token or signature in the request is the credential), each of which only creates
# (a ticket, a chat, a delivery) and is rate-limited or signature-checked.
CSRF_EXEMPT = {
    "commerce:webhook",
    "line:webhook",
    "webform:public",
    "chat:widget_config",
    "chat:conversation_open",
    "knowledge:help_suggestion_event",
}


def test_only_the_public_endpoints_skip_the_csrf_check() -> None:
    exempt = set()
    for pattern, name in _patterns_with_names(get_resolver().url_patterns):
        if getattr(pattern.callback, "csrf_exempt", False):
            exempt.add(name)
    assert exempt == CSRF_EXEMPT
    assert set(PUBLIC) >= CSRF_EXEMPT


def _patterns_with_names(patterns: list[Any], namespace: str = "") -> Iterator[tuple[Any, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            yield from _patterns_with_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or str(pattern.pattern)
            yield pattern, f"{namespace}:{name}" if namespace and pattern.name else name


@pytest.mark.parametrize(
    "name", [name for name in present(SIGNED_IN_ROUTES) if SIGNED_IN_ROUTES[name].method == "POST"]
)
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    world: Any, name: str
) -> None:
    from django.test import Client

    route = SIGNED_IN_ROUTES[name]
    route.setup(world)
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    sign_in(browser, route, world)
    before = snapshot(world)
    response = call(browser, route, world)
    assert response.status_code == 403
    assert snapshot(world) == before


@pytest.mark.parametrize(
    "name",
    [
        "conversations:ticket_note",
        "conversations:ticket_properties",
        "conversations:ticket_delivery",
        "conversations:ticket_reply",  # an agency works the tea shop: its owner only reads
        "conversations:ticket_new",
        "conversations:ticket_merge",
        "conversations:ticket_split",
        "analytics:ticket_worked",
    ],
)
def test_the_shops_own_client_may_not_change_tickets(english: Any, world: Any, name: str) -> None:
    route = SHOP_ROUTES[name]
    route.setup(world)
    english.force_login(world.client_tea)
    before = snapshot(world)
    response = call(english, route, world)
    assert response.status_code == 403
    assert snapshot(world) == before


@pytest.mark.parametrize(
    "name",
    [
        "conversations:ticket",
        "conversations:ticket_attachment",
        "customers:detail",
        "operations:attainment",
    ],
)
def test_the_shops_own_client_may_read(english: Any, world: Any, name: str) -> None:
    route = SHOP_ROUTES[name]
    route.setup(world)
    english.force_login(world.client_tea)
    response = call(english, route, world)
    assert response.status_code == 200


@pytest.mark.parametrize("name", present(PUBLIC))
def test_public_views_answer_anonymous_visitors(english: Any, world: Any, name: str) -> None:
    route = PUBLIC[name]
    route.setup(world)
    before = snapshot(world)
    assert call(english, route, world).status_code == route.expected
    assert snapshot(world) == before


# --- downloads ---------------------------------------------------------------------------------
# Every route whose answer is a download (Content-Disposition: attachment), with the setup of
# the other shop's mirror of its rows, returning that mirror's marker: the tea shop's download
# never contains it. `test_the_right_user_is_served` fails on a download not described here.


def _ceramics_attachment(world: Any) -> str:
    from django.core.files.base import ContentFile

    from madoguchi.conversations.models import Attachment

    body = b"ceramics-attachment-body"
    with unscoped("test setup"):
        attachment = Attachment(
            id=9101,
            shop=world.ceramics,
            message=Message.objects.filter(ticket=world.ceramics_ticket).earliest("id"),
            filename="matrix.txt",
            content_type="text/plain",
            size=len(body),
            sha256="1" * 64,
        )
        attachment.file.save("matrix", ContentFile(body), save=False)
        attachment.save()
    return body.decode()


def _ceramics_raw_mail(world: Any) -> str:
    from madoguchi.connectors.mail.models import RawMail

    raw = b"Subject: matrix\r\n\r\nceramics-raw-body\r\n"
    with unscoped("test setup"):
        RawMail.objects.create(
            id=9101,
            shop=world.ceramics,
            source="smtp",
            raw=raw,
            size=len(raw),
            sha256="1" * 64,
            idempotency_key="matrix-ceramics",
            subject="青木陶房の失敗メール",
            status="failed",
            received_at=timezone.now(),
        )
    return "ceramics-raw-body"


def _other_workspace_audit_entry(world: Any) -> str:
    """An entry of another agency's admin: the agency's audit log never holds it."""
    from madoguchi.audit import actions
    from madoguchi.audit.services import record

    record(
        actor=world.other_admin,
        action=actions.USER_PROFILE_CHANGED,
        changes={"note": "other-workspace-audit-row"},
    )
    return "other-workspace-audit-row"


def _ceramics_customer_data(world: Any) -> str:
    """A message of the ceramics shop's customer: the tea customer's export never holds it."""
    from madoguchi.core.testing import factories

    with unscoped("test setup"):
        factories.MessageFactory(ticket=world.ceramics_ticket, body_text="ceramics-export-row")
    return "ceramics-export-row"


def _ceramics_analytics_category(world: Any) -> str:
    """The ceramics ticket in a category of its own, in the ceramics shop's analytics: the tea
    shop's analytics CSVs never name it."""
    from madoguchi.analytics.services import analytics_rebuild
    from madoguchi.conversations.models import Category

    with unscoped("test setup"):
        category = Category.objects.create(shop=world.ceramics, name="ceramics-export-category")
        world.ceramics_ticket.category = category
        world.ceramics_ticket.save(update_fields=["category"])
        analytics_rebuild(shop_ids=[world.ceramics.id])
    return "ceramics-export-category"


def _ceramics_report(world: Any) -> str:
    """A version of the ceramics shop's report: the tea shop's PDF never is its document."""
    import datetime as dt

    from madoguchi.reports.models import ClientReport

    with unscoped("test setup"):
        ClientReport.objects.create(
            shop=world.ceramics,
            month=dt.date(2026, 11, 1),
            version=1,
            created_at=timezone.now(),
            figures={"shop": world.ceramics.name},
            html="",
            pdf=_report_pdf("ceramics-report-pdf"),
        )
    return "ceramics-report-pdf"


DOWNLOADS: dict[str, Callable[[Any], str]] = {
    "reports:pdf": _ceramics_report,
    "analytics:export_tickets": _ceramics_analytics_category,
    "analytics:export_metrics": _ceramics_analytics_category,
    "privacy:export_json": _ceramics_customer_data,
    "conversations:ticket_attachment": _ceramics_attachment,
    "conversations:ticket_attachment_release": _ceramics_attachment,
    "mail:raw": _ceramics_raw_mail,
    "audit:export": _other_workspace_audit_entry,
    "billing:invoices_csv": _other_agencys_invoice,
    "billing:invoice_pdf": _ceramics_invoice,
    "billing:shop_invoice_pdf": _ceramics_invoice,
}


# POST routes that change something without an audit entry of their own, and why.
NOT_AUDITED: dict[str, str] = {
    # Re-runs the erasure's check; its time and result are kept on the erasure's own record,
    # which the shop's leads read: a read-only check needs no second trail.
    "privacy:erasure_verify": "a re-check recorded on the erasure itself",
    # Recomputes the open FAQ candidates from the tickets (the periodic job does the same);
    # deciding on one is audited.
    "knowledge:candidates_refresh": "a recomputation the periodic job also makes",
    # The ticket page's handle-time heartbeat: a measurement appended to the event log as
    # `ticket.worked` (who, how long), about twice a minute; it changes no ticket or setting.
    "analytics:ticket_worked": "a measurement kept in the event log as ticket.worked",
}


def test_not_audited_names_described_post_routes() -> None:
    assert [name for name in NOT_AUDITED if SIGNED_IN_ROUTES[name].method != "POST"] == []


def is_download(response: Any) -> bool:
    return str(response.get("Content-Disposition", "")).startswith("attachment")


def test_the_downloads_are_described_routes() -> None:
    assert [name for name in DOWNLOADS if name not in SIGNED_IN_ROUTES] == []


@pytest.mark.parametrize(
    "stranger", ["operator_ceramics", "client_ceramics", "other_admin", "ceramics_owner_admin"]
)
@pytest.mark.parametrize("name", present(DOWNLOADS))
def test_downloads_are_not_found_for_the_other_shops_users(
    english: Any, world: Any, name: str, stranger: str
) -> None:
    route = SIGNED_IN_ROUTES[name]
    route.setup(world)
    DOWNLOADS[name](world)
    english.force_login(getattr(world, stranger))
    before = snapshot(world)
    response = call(english, route, world)
    expected = route.stranger if name in WORKSPACE_ROUTES else 404
    assert response.status_code == expected
    assert not (expected == 404 and is_download(response))
    assert route.marker(world) not in text(response)
    assert TEA_SECRET not in text(response)
    assert snapshot(world) == before


@pytest.mark.parametrize("name", present(DOWNLOADS))
def test_downloads_hold_only_the_tea_shops_rows(english: Any, world: Any, name: str) -> None:
    route = SIGNED_IN_ROUTES[name]
    route.setup(world)
    other = DOWNLOADS[name](world)
    sign_in(english, route, world)
    response = call(english, route, world)
    assert response.status_code == 200
    assert is_download(response)
    body = text(response)
    assert route.marker(world) in body
    assert other not in body


# --- websockets --------------------------------------------------------------------------------
# Every websocket route of `config.asgi` (the chat's and the ticket pages' routers), opened with
# a real session cookie through the whole ASGI stack (sessions, sign-in step, expiry).
# Anonymous visitors, the other shop's operator and client and another agency's admin are
# refused (closed before the handshake completes); the right user is accepted; a socket open for
# the tea shop hears nothing of what happens in the ceramics shop.

WS_HOST = "madoguchi.test"
CONSOLE_ORIGIN = f"http://{WS_HOST}"
TEA_SITE = "https://shop.yamada-en.example"
CERAMICS_SITE = "https://aoki.example"


@dataclass(frozen=True)
class Socket:
    """How to open one websocket route for the tea shop."""

    path: Callable[[Any], str]
    # "session": the signed-in user is the credential; "token": a token in the path is (the
    # chat visitor's), checked with the shop's allowed sites as Origin.
    credential: str = "session"
    user: str = "operator_tea"
    # Routes serving every shop of their user (the operators' live feed): a stranger's socket
    # may be accepted for their own shops, but hears nothing of the tea shop.
    serves_own_shops: bool = False


SOCKETS: dict[str, Socket] = {
    r"^ws/chat/(?P<token>[A-Za-z0-9_-]{20,128})/$": Socket(
        lambda world: f"/ws/chat/{world.tea_chat_token}/", credential="token", user=""
    ),
    "ws/operator/": Socket(lambda world: "/ws/operator/", serves_own_shops=True),
    "ws/shops/<slug:shop_slug>/tickets/<int:number>/presence/": Socket(
        lambda world: f"/ws/shops/tea/tickets/{world.tea_ticket.number}/presence/"
    ),
}


def websocket_routes() -> list[str]:
    """The route of every websocket URL pattern the ASGI application mounts."""
    from channels.routing import URLRouter

    from madoguchi.config.asgi import websocket_application

    def router_in(app: Any) -> Any:
        """The URLRouter inside the middleware around it (or the app itself, if none)."""
        while not isinstance(app, URLRouter) and hasattr(app, "inner"):
            app = app.inner
        return app

    routes: list[str] = []

    def collect(router: URLRouter, prefix: str) -> None:
        for route in router.routes:
            inner = router_in(route.callback)
            if isinstance(inner, URLRouter):
                collect(inner, prefix + str(route.pattern))
            else:
                routes.append(prefix + str(route.pattern))

    collect(router_in(websocket_application), "")
    return routes


def test_every_websocket_route_is_in_the_matrix() -> None:
    routes = websocket_routes()
    assert routes, "no websocket routes found in config.asgi"
    unknown = sorted(set(routes) - set(SOCKETS))
    assert unknown == [], f"Describe these websocket routes in SOCKETS: {unknown}"


@pytest.fixture
def socket_world(world: Any, settings: Any) -> Any:
    """The world with a chat widget per shop, an open chat of each (`tea_chat_token`,
    `ceramics_chat_token`) and a fresh in-memory channel layer."""
    from django.core.cache import cache

    from madoguchi.connectors.chat import services as chat
    from madoguchi.connectors.chat.models import ChatWidget
    from madoguchi.tenancy.scoping import in_shop

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "madoguchi.core.channel_layers.InProcessChannelLayer"}
    }
    cache.clear()  # the chat's per-address socket counters
    for shop, key, site in (
        (world.tea, "tea", TEA_SITE),
        (world.ceramics, "ceramics", CERAMICS_SITE),
    ):
        with unscoped("test setup"):
            widget = ChatWidget.objects.create(
                shop=shop,
                public_key=f"{key}-matrix-key",
                allowed_origins=f"{site}\n",
                follows_business_hours=False,
            )
        with in_shop(shop.id):
            opened = chat.conversation_open(widget=widget)
        setattr(world, f"{key}_chat_token", opened.token)
    users = ("operator_tea", "operator_ceramics", "client_ceramics", "other_admin")
    world.session_cookies = {
        getattr(world, name).pk: _session_cookie(getattr(world, name))
        for name in (*users, "ceramics_owner_admin")
    }
    return world


def _session_cookie(user: Any) -> bytes:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def communicator(world: Any, path: str, *, user: Any = None, origin: str = CONSOLE_ORIGIN) -> Any:
    """A socket on `path` through the whole ASGI application, with `user`'s session (made by
    `socket_world`) if any."""
    from channels.testing import WebsocketCommunicator

    from madoguchi.config.asgi import application

    headers = [(b"host", WS_HOST.encode()), (b"origin", origin.encode())]
    if user is not None:
        headers.append((b"cookie", world.session_cookies[user.pk]))
    return WebsocketCommunicator(application, path, headers=headers)


async def _refused(socket: Any) -> bool:
    connected, _ = await socket.connect(timeout=5)
    if connected:
        await socket.disconnect()
    return not connected


async def _tea_activity(world: Any) -> None:
    """What the tea shop's sockets hear: a visitor's chat message (to the shop's operators) and
    the tea operator looking at the tea ticket (to its presence group)."""
    guest = communicator(world, f"/ws/chat/{world.tea_chat_token}/", origin=TEA_SITE)
    presence = communicator(
        world, f"/ws/shops/tea/tickets/{world.tea_ticket.number}/presence/", user=world.operator_tea
    )
    assert (await guest.connect(timeout=5))[0]
    assert (await presence.connect(timeout=5))[0]
    frame = {"type": "message", "client_id": "matrix-tea", "text": TEA_SECRET, "email": "a@b.jp"}
    await guest.send_json_to(frame)
    assert (await guest.receive_json_from(timeout=5))["type"] == "ack"
    await guest.disconnect()
    await presence.disconnect()


async def _ceramics_activity(world: Any) -> Any:
    """Everything the ceramics shop's sockets hear: its operator comes online (availability to
    its visitors), looks at its ticket (presence), and its visitor writes (operators' feed).
    Returns the ceramics operator's socket, which heard the message."""
    feed = communicator(world, "/ws/operator/", user=world.operator_ceramics)
    presence = communicator(
        world,
        f"/ws/shops/ceramics/tickets/{world.ceramics_ticket.number}/presence/",
        user=world.operator_ceramics,
    )
    guest = communicator(world, f"/ws/chat/{world.ceramics_chat_token}/", origin=CERAMICS_SITE)
    assert (await guest.connect(timeout=5))[0]
    assert (await feed.connect(timeout=5))[0]
    assert (await presence.connect(timeout=5))[0]
    await guest.send_json_to({"type": "message", "client_id": "matrix-1", "text": "器のご相談"})
    assert (await guest.receive_json_from(timeout=5))["type"] in ("ack", "presence")
    await guest.disconnect()
    await presence.disconnect()
    return feed


def _run(scenario: Callable[[], Any]) -> None:
    from asgiref.sync import async_to_sync

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", list(SOCKETS))
def test_anonymous_sockets_are_refused(socket_world: Any, route: str) -> None:
    world, socket = socket_world, SOCKETS[route]

    async def scenario() -> None:
        if socket.credential == "token":
            forged = "A" * 43  # a well-formed token nobody was given
            assert await _refused(communicator(world, f"/ws/chat/{forged}/", origin=TEA_SITE))
            assert await _refused(communicator(world, socket.path(world), origin=""))
        else:
            assert await _refused(communicator(world, socket.path(world)))

    _run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "stranger", ["operator_ceramics", "client_ceramics", "other_admin", "ceramics_owner_admin"]
)
@pytest.mark.parametrize("route", list(SOCKETS))
def test_strangers_sockets_are_refused(socket_world: Any, route: str, stranger: str) -> None:
    world, socket = socket_world, SOCKETS[route]
    user = getattr(world, stranger)

    async def scenario() -> None:
        if socket.credential == "token":
            # The tea chat's token from the stranger's shop's site, with their session.
            opened = communicator(world, socket.path(world), user=user, origin=CERAMICS_SITE)
            assert await _refused(opened)
            return
        opened = communicator(world, socket.path(world), user=user)
        if not socket.serves_own_shops:
            assert await _refused(opened)
            return
        connected, _ = await opened.connect(timeout=5)
        if connected:
            await _tea_activity(world)
            assert await opened.receive_nothing(timeout=0.3)
            await opened.disconnect()

    _run(scenario)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", list(SOCKETS))
def test_the_right_users_socket_is_accepted_and_hears_nothing_of_the_other_shop(
    socket_world: Any, route: str
) -> None:
    world, socket = socket_world, SOCKETS[route]

    async def scenario() -> None:
        if socket.credential == "token":
            opened = communicator(world, socket.path(world), origin=TEA_SITE)
        else:
            opened = communicator(world, socket.path(world), user=getattr(world, socket.user))
        assert (await opened.connect(timeout=5))[0]
        feed = await _ceramics_activity(world)
        # The ceramics shop's own operator heard its visitor: the activity was real.
        heard = await feed.receive_json_from(timeout=5)
        assert heard["kind"] == "message" and heard["shop_id"] == world.ceramics.id
        await feed.disconnect()
        assert await opened.receive_nothing(timeout=0.3)
        await opened.disconnect()

    _run(scenario)
