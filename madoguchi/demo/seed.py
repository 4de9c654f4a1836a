"""Load the demo: an agency, two client shops, four people and ~40 tickets per shop.

Idempotent: workspaces, shops and people are found by their unique keys, and a ticket whose
subject already exists in its shop is skipped, so a second run changes nothing. Tickets, messages,
customers, events and audit entries are written through the services, inside the shop's scope,
with the clock set to the moment each step happened so the timeline spans the last weeks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.connectors.mail.channel_setup import (
    AddressInput,
    SmtpServerInput,
    mail_address_create,
    smtp_server_create,
)
from madoguchi.connectors.mail.models import MailAddress, SmtpServer
from madoguchi.conversations.models import Category, Channel, Ticket
from madoguchi.conversations.services import (
    InboundMessage,
    message_note,
    message_reply,
    receive_inbound,
    ticket_create,
    ticket_update,
)
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.services import IdentityInput, customer_create, customer_find
from madoguchi.demo import content
from madoguchi.demo.content import CustomerSpec, ShopSpec, Story
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Engagement, Membership, Shop, ShopAssignment, Workspace
from madoguchi.tenancy.scoping import in_shop, unscoped

TICKETS_PER_SHOP = 40
DAYS_OF_HISTORY = 28
Status = Ticket.Status


@dataclass(frozen=True)
class Login:
    email: str
    display_name: str
    description: str


@dataclass(frozen=True)
class SeedResult:
    tickets_created: int
    logins: list[Login]


@contextmanager
def _clock(at: dt.datetime) -> Iterator[None]:
    """Let every service see `at` as the current time.

    The services stamp replies, notes, events and audit entries with `timezone.now()`; a demo
    whose every reply happened "just now" would not show what the inbox looks like in use.
    """
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def seed_demo(*, password: str = content.DEMO_PASSWORD) -> SeedResult:
    """Create whatever part of the demo is missing and return the logins to print."""
    now = timezone.now().replace(microsecond=0)
    with unscoped("demo data: workspaces, shops and people span shops"):
        shops, people = _seed_organisation(password=password, today=timezone.localdate())
    _seed_operations(shops=shops, admin=people["admin"], today=timezone.localdate())
    _seed_duty(shops=shops, people=people, today=timezone.localdate())
    created = 0
    for spec in content.SHOPS:
        shop = shops[spec.key]
        with in_shop(shop.id):
            customers = [_customer(shop, customer) for customer in content.CUSTOMERS[spec.key]]
            categories = {
                name: Category.objects.get_or_create(shop=shop, name=name)[0]
                for name in spec.categories
            }
            _seed_orders(shop=shop, spec=spec, customers=customers, now=now)
            created += _seed_tickets(
                shop=shop,
                spec=spec,
                customers=customers,
                categories=categories,
                people=people,
                now=now,
            )
            _seed_mail(shop=shop, spec=spec, admin=people["admin"])
            _seed_customer_memo(shop=shop, customers=customers, admin=people["admin"])
            _seed_reveal(shop=shop, customers=customers, trainee=people.get("trainee"))
    for spec in content.SHOPS:
        with in_shop(shops[spec.key].id):
            _seed_channels(shop=shops[spec.key], admin=people["admin"])
    _seed_sla_clocks(shops=shops, now=now)
    _seed_retention(shop=shops[content.SHOPS[0].key], admin=people["admin"], now=now)
    _seed_csat(shop=shops[content.SHOPS[0].key], admin=people["admin"], now=now)
    _seed_billing(shop=shops[content.SHOPS[0].key], admin=people["admin"], today=now.date())
    _seed_handle_time(shops=shops)
    _seed_analytics()
    for spec in content.SHOPS:
        _seed_knowledge(shop=shops[spec.key], admin=people["admin"])
    _seed_reports(shop=shops[content.SHOPS[0].key], supervisor=people["supervisor"], now=now)
    return SeedResult(tickets_created=created, logins=_logins(people))


def _seed_mail(*, shop: Shop, spec: ShopSpec, admin: User) -> None:
    """Give the shop its verified default sender address, sending through the demo's mail sink.

    Created after the tickets: the replies seeded above were never mailed, so they stay
    "stored" (no outbox row claims they went out); replies written in the demo go out through
    the sink and show as sent.
    """
    mail = content.MAIL[spec.key]
    actor = actor_for_user(admin)
    server = SmtpServer.objects.filter(shop=shop, name=content.MAIL_SINK_NAME).first()
    if server is None:
        server = smtp_server_create(
            actor=actor,
            shop=shop,
            data=SmtpServerInput(
                name=content.MAIL_SINK_NAME,
                host=settings.EMAIL_HOST,
                port=settings.EMAIL_PORT,
                security=SmtpServer.Security.NONE,
                username="",
                password="",
                is_active=True,
            ),
        )
    if not MailAddress.objects.filter(shop=shop, address=mail.address).exists():
        mail_address_create(
            actor=actor,
            shop=shop,
            data=AddressInput(
                address=mail.address,
                display_name=mail.display_name,
                is_default_sender=True,
                is_verified=True,
                inbound_method=MailAddress.InboundMethod.SMTP,
                mailbox=None,
                outbound_server=server,
            ),
        )
    _seed_bounce(shop=shop, address=mail.address)


def _seed_bounce(*, shop: Shop, address: str) -> None:
    """Leave one bounce that names no mail of ours: the failed-mail page lists it."""
    from madoguchi.connectors.mail.pipeline import ingest_raw, raw_mail_process

    raw = (
        f"From: MAILER-DAEMON\r\nTo: {address}\r\nSubject: Mail delivery failed\r\n"
        f"Message-ID: <demo-bounce-{shop.slug}@mx.example.com>\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its recipients.\r\n"
        "  old-address@example.com\r\n    550 5.1.1 User unknown\r\n"
    ).encode()
    [stored] = ingest_raw(shop_ids=[shop.id], raw=raw, source="import", process=False)
    if not stored.is_duplicate:
        raw_mail_process(raw_mail_id=stored.raw_mail_id)


def _seed_organisation(*, password: str, today: dt.date) -> tuple[dict[str, Shop], dict[str, User]]:
    agency, _ = Workspace.objects.get_or_create(
        slug=content.AGENCY_SLUG,
        defaults={"name": content.AGENCY_NAME, "kind": Workspace.Kind.AGENCY},
    )
    workspaces = {"agency": agency}
    shops: dict[str, Shop] = {}
    for spec in content.SHOPS:
        owner, _ = Workspace.objects.get_or_create(
            slug=spec.owner_slug,
            defaults={"name": spec.owner_name, "kind": Workspace.Kind.MERCHANT},
        )
        workspaces[spec.key] = owner
        shop, _ = Shop.objects.get_or_create(
            slug=spec.slug,
            defaults={"workspace": owner, "name": spec.name, "ticket_prefix": spec.ticket_prefix},
        )
        shops[spec.key] = shop
        Engagement.objects.get_or_create(
            agency=agency,
            shop=shop,
            defaults={
                "mode": Engagement.Mode.OUTSOURCED,
                "starts_on": today - dt.timedelta(days=365),
            },
        )
    people: dict[str, User] = {}
    for person in content.PEOPLE:
        user = User.objects.filter(email=person.email).first()
        if user is None:
            user = User.objects.create_user(
                person.email, password, display_name=person.display_name
            )
        people[person.key] = user
        membership, _ = Membership.objects.get_or_create(
            user=user,
            workspace=workspaces[person.workspace],
            defaults={"role": person.role, "is_trainee": person.is_trainee},
        )
        for shop_key in person.assigned_shops:
            ShopAssignment.objects.get_or_create(membership=membership, shop=shops[shop_key])
    return shops, people


def _logins(people: dict[str, User]) -> list[Login]:
    descriptions = {
        "admin": f"admin of {content.AGENCY_NAME} (both shops)",
        "supervisor": "supervisor at the agency (both shops)",
        "operator": "operator at the agency, assigned to the tea shop only",
        "trainee": "trainee operator of the tea shop (replies wait for a supervisor's approval)",
        "client": "owner of the tea shop (client role: sees the tea shop only)",
    }
    return [
        Login(email=user.email, display_name=user.display_name, description=descriptions[key])
        for key, user in people.items()
    ]


def _line_user_id(spec: CustomerSpec) -> str:
    # LINE user ids are "U" and 32 hex digits; derive a stable fake one from the email.
    return "U" + hashlib.sha256(spec.email.encode()).hexdigest()[:32]


def _chat_visitor_id(spec: CustomerSpec) -> str:
    return "visitor-" + spec.email.split("@")[0].replace(".", "-")


def _customer(shop: Shop, spec: CustomerSpec) -> tuple[CustomerSpec, Customer]:
    email = IdentityInput(kind=ContactIdentity.Kind.EMAIL, value=spec.email)
    existing = customer_find(shop=shop, identities=[email])
    if existing is not None:
        return spec, existing
    identities = [email, IdentityInput(kind=ContactIdentity.Kind.PHONE, value=spec.phone)]
    if spec.line_name:
        identities.append(
            IdentityInput(
                kind=ContactIdentity.Kind.LINE,
                value=_line_user_id(spec),
                display_name=spec.line_name,
            )
        )
    identities.append(IdentityInput(kind=ContactIdentity.Kind.CHAT, value=_chat_visitor_id(spec)))
    customer = customer_create(
        shop=shop, name=spec.name, name_kana=spec.kana, identities=identities
    )
    return spec, customer


@dataclass(frozen=True)
class _Plan:
    index: int
    story: Story
    subject: str
    product: str
    order: str
    channel: str
    customer: CustomerSpec
    received_at: dt.datetime
    status: str
    assignee_key: str | None


def _plans(*, spec: ShopSpec, customers: list[CustomerSpec], now: dt.datetime) -> list[_Plan]:
    """Lay out the shop's tickets: deterministic, so the same run gives the same demo."""
    rng = random.Random(f"madoguchi-demo-{spec.slug}")
    stories = content.COMMON_STORIES + (
        content.TEA_STORIES if spec.key == "tea" else content.CERAMICS_STORIES
    )
    ages = sorted(rng.uniform(0.3, DAYS_OF_HISTORY * 24.0) for _ in range(TICKETS_PER_SHOP))
    staff = (
        ("operator", "operator", "operator", "supervisor")
        if spec.key == "tea"
        else (
            "supervisor",
            "supervisor",
            "admin",
        )
    )
    plans: list[_Plan] = []
    subjects: set[str] = set()
    for index, age_hours in enumerate(ages):
        story = stories[(index * 7) % len(stories)]
        order = f"{spec.order_prefix}{20260100 + index * 37 % 900:08d}"
        subject = ""
        product = ""
        for offset in range(len(spec.products)):
            product = spec.products[(index + offset) % len(spec.products)]
            subject = story.subject.format(product=f"「{product}」", order=order)
            if subject not in subjects:
                break
        subjects.add(subject)
        customer = customers[rng.randrange(len(customers))]
        channel = rng.choices(
            [Channel.EMAIL, Channel.WEB_FORM, Channel.LINE, Channel.CHAT, Channel.PHONE],
            weights=[40, 20, 15, 15, 10],
        )[0]
        if channel == Channel.LINE and not customer.line_name:
            channel = Channel.EMAIL
        if index < 6:
            status = Status.NEW
        elif index < 26:
            status = rng.choices([Status.OPEN, Status.PENDING, Status.ON_HOLD], weights=[5, 4, 1])[
                0
            ]
        elif index < 36:
            status = Status.SOLVED
        else:
            status = Status.CLOSED
        assignee_key = None if status == Status.NEW else rng.choice(staff)
        if status == Status.OPEN and index % 5 == 0:
            assignee_key = None  # open but nobody took it yet: the "unassigned" view
        plans.append(
            _Plan(
                index=index,
                story=story,
                subject=subject,
                product=product,
                order=order,
                channel=str(channel),
                customer=customer,
                received_at=now - dt.timedelta(hours=age_hours),
                status=str(status),
                assignee_key=assignee_key,
            )
        )
    return plans


def _seed_tickets(
    *,
    shop: Shop,
    spec: ShopSpec,
    customers: list[tuple[CustomerSpec, Customer]],
    categories: dict[str, Category],
    people: dict[str, User],
    now: dt.datetime,
) -> int:
    by_spec = dict(customers)
    created = 0
    plans = _plans(spec=spec, customers=[c for c, _ in customers], now=now)
    # Oldest first, so ticket numbers grow with time as they would have.
    for plan in sorted(plans, key=lambda plan: plan.received_at):
        if Ticket.objects.filter(shop=shop, subject=plan.subject).exists():
            continue
        with transaction.atomic():
            _play(
                shop=shop,
                plan=plan,
                customer=by_spec[plan.customer],
                category=categories[plan.story.category],
                people=people,
                now=now,
            )
        created += 1
    return created


def _seed_orders(
    *,
    shop: Shop,
    spec: ShopSpec,
    customers: list[tuple[CustomerSpec, Customer]],
    now: dt.datetime,
) -> None:
    """The orders the tickets talk about ("YE-…", "AT-…"), each its customer's, before them."""
    from madoguchi.commerce.models import Order, PaymentMethod
    from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_create

    by_spec = dict(customers)
    for plan in _plans(spec=spec, customers=[c for c, _ in customers], now=now):
        if Order.objects.filter(shop=shop, number=plan.order).exists():
            continue
        placed_at = plan.received_at - dt.timedelta(days=3)
        order_create(
            shop=shop,
            data=OrderInput(
                number=plan.order,
                placed_at=placed_at,
                payment_method=PaymentMethod.BANK_TRANSFER,
                lines=[LineInput(name=plan.product, unit_price=1080 + 370 * (plan.index % 9))],
                customer=by_spec[plan.customer],
                email=plan.customer.email,
                address=AddressInput(
                    postal_code="150-0001",
                    prefecture="東京都",
                    address1="渋谷区神宮前1-1-1",
                    name=plan.customer.name,
                    name_kana=plan.customer.kana,
                    phone=plan.customer.phone,
                ),
                shipping_fee=550,
                payment_due_on=timezone.localdate(placed_at) + dt.timedelta(days=7),
            ),
        )


def _fill(text: str, plan: _Plan, shop: Shop) -> str:
    ordered_on = timezone.localtime(plan.received_at) - dt.timedelta(days=3)
    return text.format(
        product=f"「{plan.product}」",
        order=plan.order,
        shop=shop.name,
        date=f"{ordered_on.month}月{ordered_on.day}日",
    )


def _inquiry_text(plan: _Plan, shop: Shop) -> str:
    inquiry = _fill(plan.story.inquiry, plan, shop)
    name = plan.customer.name
    if plan.channel == Channel.EMAIL:
        return (
            f"{shop.name} ご担当者様\n\nいつもお世話になっております。{name}と申します。\n\n"
            f"{inquiry}\n\nどうぞよろしくお願いいたします。\n\n{name}\n{plan.customer.phone}"
        )
    if plan.channel == Channel.WEB_FORM:
        return (
            f"【お名前】{name}（{plan.customer.kana}）\n【メールアドレス】{plan.customer.email}\n"
            f"【お問い合わせ種別】{plan.story.category}\n【注文番号】{plan.order}\n"
            f"【お問い合わせ内容】\n{inquiry}"
        )
    if plan.channel == Channel.PHONE:
        return f"お電話にて受付（{name}様）。\n{inquiry}"
    return f"こんにちは。{inquiry}"


def _reply_text(text: str, plan: _Plan, shop: Shop, agent: User) -> str:
    body = _fill(text, plan, shop)
    name = plan.customer.name.split()[0]
    if plan.channel in (Channel.EMAIL, Channel.WEB_FORM):
        return (
            f"{name}様\n\nこの度は{shop.name}をご利用いただき、誠にありがとうございます。\n"
            f"カスタマーサポートの{agent.display_name.split()[0]}でございます。\n\n{body}\n\n"
            f"ご不明な点がございましたら、お気軽にお問い合わせください。\n\n"
            f"{shop.name} カスタマーサポート\n{agent.display_name}"
        )
    if plan.channel == Channel.PHONE:
        return f"{name}様\nお電話でご案内した内容をお送りします。\n{body}"
    return f"{name}様、お問い合わせありがとうございます。{body}"


def _identity(plan: _Plan) -> IdentityInput:
    if plan.channel == Channel.LINE:
        return IdentityInput(
            kind=ContactIdentity.Kind.LINE,
            value=_line_user_id(plan.customer),
            display_name=plan.customer.line_name,
        )
    if plan.channel == Channel.CHAT:
        return IdentityInput(kind=ContactIdentity.Kind.CHAT, value=_chat_visitor_id(plan.customer))
    return IdentityInput(kind=ContactIdentity.Kind.EMAIL, value=plan.customer.email)


def _play(
    *,
    shop: Shop,
    plan: _Plan,
    customer: Customer,
    category: Category,
    people: dict[str, User],
    now: dt.datetime,
) -> None:
    """Replay one ticket's story step by step, each at its own moment."""
    rng = random.Random(f"{shop.slug}-{plan.index}")
    story = plan.story
    agent = people[plan.assignee_key or ("operator" if shop.slug == "tea" else "supervisor")]
    actor = actor_for_user(agent, on=timezone.localdate(plan.received_at))
    latest = now - dt.timedelta(minutes=2)
    moment = plan.received_at

    def later(low_minutes: int, high_minutes: int) -> dt.datetime:
        nonlocal moment
        step = dt.timedelta(minutes=rng.randint(low_minutes, high_minutes))
        # Squeeze the steps of recent tickets into the time that has passed since they came in.
        moment = min(moment + step, moment + (latest - moment) / 3)
        return moment

    if plan.channel == Channel.PHONE:
        with _clock(moment):
            ticket = ticket_create(
                actor=actor,
                shop=shop,
                channel=plan.channel,
                subject=plan.subject,
                body_text=_inquiry_text(plan, shop),
                customer=customer,
            )
    else:
        with _clock(moment):
            result = receive_inbound(
                InboundMessage(
                    shop_id=shop.id,
                    channel=plan.channel,
                    external_id=f"demo-{shop.slug}-{plan.index:03d}",
                    body_text=_inquiry_text(plan, shop),
                    identities=[_identity(plan)],
                    customer_name=customer.name,
                    subject=plan.subject,
                    received_at=moment,
                )
            )
        if result.is_duplicate:
            return
        ticket = result.ticket
    if plan.status == Status.NEW:
        return

    with _clock(later(5, 90)):
        ticket = ticket_update(
            actor=actor,
            ticket=ticket,
            assignee=agent if plan.assignee_key else None,
            category=category,
            tag_names=list(story.tags),
        )
    if story.note and rng.random() < 0.7:
        with _clock(later(2, 30)):
            message_note(actor=actor, ticket=ticket, body_text=_fill(story.note, plan, shop))
    first_status = Status.PENDING if plan.status == Status.PENDING else None
    if plan.status == Status.SOLVED and not story.follow_up:
        first_status = Status.SOLVED
    with _clock(later(20, 360)):
        message_reply(
            actor=actor,
            ticket=ticket,
            body_text=_reply_text(story.reply, plan, shop, agent),
            status=first_status,
        )
    if story.follow_up and plan.status in (Status.OPEN, Status.SOLVED, Status.CLOSED):
        follow_up = _fill(story.follow_up, plan, shop)
        if plan.channel == Channel.EMAIL:
            follow_up = f"{follow_up}\n\n{plan.customer.name}"
        replied_at = later(120, 1800)
        with _clock(replied_at):
            receive_inbound(
                InboundMessage(
                    shop_id=shop.id,
                    channel=plan.channel,
                    external_id=f"demo-{shop.slug}-{plan.index:03d}-2",
                    body_text=follow_up,
                    identities=[_identity(plan)],
                    customer_name=customer.name,
                    subject=f"Re: {plan.subject}",
                    received_at=replied_at,
                    ticket_id=ticket.id,
                )
            )
        if story.second_reply and plan.status != Status.OPEN:
            with _clock(later(15, 240)):
                message_reply(
                    actor=actor,
                    ticket=ticket,
                    body_text=_reply_text(story.second_reply, plan, shop, agent),
                    status=Status.SOLVED,
                )
    if plan.status in (Status.ON_HOLD, Status.SOLVED, Status.CLOSED):
        if plan.status == Status.ON_HOLD:
            with _clock(later(5, 60)):
                message_note(
                    actor=actor,
                    ticket=ticket,
                    body_text="先方（店舗様）の確認待ちのため保留にします。回答があり次第再開。",
                )
        with _clock(later(5, 60)):
            ticket_update(actor=actor, ticket=ticket, status=Status.SOLVED)
        if plan.status != Status.SOLVED:
            with _clock(later(30, 120)):
                ticket_update(actor=actor, ticket=ticket, status=plan.status)


# Channels: the shops' phone numbers, the tea shop's Shopify store, the web form and chat widget,
# so the channels overview shows real states. Each is created once, through the services.
DEMO_PHONE_NUMBERS = {
    "tea": [("03-6555-0101", "代表"), ("0120-555-010", "注文専用")],
    "ceramics": [("0561-55-0202", "代表")],
}
DEMO_CART_STORES = {"tea": "yamada-en.myshopify.com"}


def _seed_channels(*, shop: Shop, admin: User) -> None:
    import secrets

    from madoguchi.commerce.connections import commerce_connection_create
    from madoguchi.commerce.models import CommerceConnection
    from madoguchi.connectors.chat.services import widget_for
    from madoguchi.connectors.phone.models import PhoneNumber
    from madoguchi.connectors.phone.services import phone_number_create
    from madoguchi.connectors.webform.services import web_form_for, web_form_update
    from madoguchi.customers.normalize import normalize_phone

    actor = actor_for_user(admin)
    for number, label in DEMO_PHONE_NUMBERS.get(shop.slug, []):
        if not PhoneNumber.objects.filter(
            shop=shop, number_normalized=normalize_phone(number)
        ).exists():
            phone_number_create(actor=actor, shop=shop, number=number, label=label)
    store = DEMO_CART_STORES.get(shop.slug)
    if store and not CommerceConnection.objects.filter(shop=shop, store_domain=store).exists():
        # Shopify's secret comes from the Shopify app; the demo makes one up.
        commerce_connection_create(
            actor=actor,
            shop=shop,
            platform=CommerceConnection.Platform.SHOPIFY,
            store_domain=store,
            webhook_secret="shpss_" + secrets.token_hex(16),
        )
    web_form = web_form_for(shop)
    policy_url = DEMO_PRIVACY_POLICIES.get(shop.slug)
    if policy_url and not web_form.privacy_policy_url:
        web_form_update(actor=actor, shop=shop, values={"privacy_policy_url": policy_url})
    widget_for(shop)


DEMO_PRIVACY_POLICIES = {
    "tea": "https://yamada-en.example.jp/privacy",
    "ceramics": "https://aoki-tobo.example.jp/privacy",
}
DEMO_CUSTOMER_MEMOS = {
    "tea": "贈答用の注文が多い。のし・包装の指定を毎回確認する。連絡は平日の午前中を希望。",
    "ceramics": "割れ物の再発送を一度経験。梱包を厚めにするよう倉庫へ伝える。",
}


def _seed_customer_memo(
    *, shop: Shop, customers: list[tuple[CustomerSpec, Customer]], admin: User
) -> None:
    """Give the shop's first customer the staff's memo (once), as an operator would."""
    from madoguchi.customers.services import customer_note_update

    memo = DEMO_CUSTOMER_MEMOS.get(shop.slug)
    if memo is None or not customers:
        return
    customer = customers[0][1]
    if not customer.note:
        customer_note_update(actor=actor_for_user(admin), customer=customer, note=memo)


def _seed_reveal(
    *, shop: Shop, customers: list[tuple[CustomerSpec, Customer]], trainee: User | None
) -> None:
    """The trainee, who sees contacts masked, reveals the first customer's once, with a reason
    (an entry of the audit log, ADR 0013)."""
    from madoguchi.audit.models import AuditEntry
    from madoguchi.customers.services import customer_pii_reveal

    actor = actor_for_user(trainee) if trainee is not None else None
    if actor is None or shop.id not in actor.grants or not customers:
        return
    customer = customers[0][1]
    revealed = AuditEntry.objects.filter(
        action="customer.pii_revealed", actor=trainee, target_id=str(customer.pk)
    )
    if not revealed.exists():
        customer_pii_reveal(
            actor=actor,
            shop=shop,
            customer=customer,
            reason="再配達の依頼があり、配送先の住所を確認するため",
            ip_address=None,
        )


def _seed_retention(*, shop: Shop, admin: User, now: dt.datetime) -> None:
    """The first shop keeps finished tickets 3 years and raw data 90 days; its policy ran once,
    yesterday (ADR 0015)."""
    from madoguchi.privacy.models import RetentionPolicy
    from madoguchi.privacy.services import retention_policy_save, retention_run

    with in_shop(shop.id):
        if RetentionPolicy.objects.filter(shop=shop).exists():
            return
        retention_policy_save(
            actor=actor_for_user(admin),
            shop=shop,
            is_enabled=True,
            closed_ticket_years=3,
            raw_payload_days=90,
        )
        retention_run(shop=shop, now=now - dt.timedelta(days=1))


def _seed_billing(*, shop: Shop, admin: User, today: dt.date) -> None:
    """The agency bills the first shop on a fixed plan; last month's invoice is issued
    (ADR 0024)."""
    from decimal import Decimal

    from madoguchi.billing.models import Contract
    from madoguchi.billing.pricing import OptionPrice
    from madoguchi.billing.services import (
        TermsInput,
        billing_settings_of,
        billing_settings_save,
        contract_create,
        invoice_draft,
        invoice_issue,
        previous_month,
    )
    from madoguchi.tenancy.scoping import in_workspace

    with unscoped("the demo's agency works the shop"):
        engagement = Engagement.objects.filter(shop=shop).select_related("agency").first()
    if engagement is None:
        return
    actor = actor_for_user(admin)
    with in_workspace(engagement.agency_id):
        if Contract.objects.filter(shop=shop).exists():
            return
        if billing_settings_of(engagement.agency_id) is None:
            billing_settings_save(
                actor=actor,
                workspace=engagement.agency,
                issuer_name=f"株式会社{engagement.agency.name}",
                registration_number="T4011001098993",
                issuer_address="東京都千代田区丸の内1-1-1",
                bank_account="みずほ銀行 本店営業部 普通 1234567 カ）マドグチサポート",
            )
        last_month = previous_month(today)
        contract = contract_create(
            actor=actor,
            engagement=engagement,
            name="スタンダードプラン（メール・チャット）",
            starts_on=previous_month(last_month),
            minimum_term_months=6,
            terms=TermsInput(
                plan="fixed",
                monthly_fee=150_000,
                included_contacts=300,
                overage_rate=Decimal("180"),
                setup_fee=100_000,
                options=[OptionPrice("土日祝対応", "per_month", Decimal("30000"))],
            ),
        )
        draft = invoice_draft(contract=contract, month=last_month, actor=actor)
        if draft is not None:
            invoice_issue(invoice=draft, actor=actor, today=today.replace(day=1))


CSAT_ANSWERS = (
    (5, "すぐに返信をいただき助かりました。丁寧な対応ありがとうございます。"),
    (4, ""),
    (2, "返事が来るまで2日かかりました。もう少し早いと嬉しいです。"),
    (5, "交換の手続きが分かりやすかったです。"),
)


def _seed_csat(*, shop: Shop, admin: User, now: dt.datetime) -> None:
    """The first shop surveys customers an hour after solving; some answered (ADR 0021).

    Every solved ticket of the shop gets its survey through the services at the time it was
    due; the first ones are answered a few hours later, one of the rest stays unanswered.
    """
    from madoguchi.connectors.mail.models import OutboundMail
    from madoguchi.conversations.models import Message
    from madoguchi.csat.models import CsatSettings, CsatSurvey
    from madoguchi.csat.services import csat_settings_save, survey_answer, survey_send

    with in_shop(shop.id):
        if CsatSettings.objects.filter(shop=shop).exists():
            return
        solved = list(
            Ticket.objects.filter(shop=shop, status=Ticket.Status.SOLVED, solved_at__isnull=False)
            .exclude(channel="phone")
            .order_by("solved_at", "id")
        )
        first = min((ticket.solved_at for ticket in solved if ticket.solved_at), default=now)
        with _clock(first - dt.timedelta(days=1)):
            csat_settings_save(
                actor=actor_for_user(admin),
                shop=shop,
                is_enabled=True,
                delay_minutes=60,
                wording={},
            )
        answers = iter(CSAT_ANSWERS)
        for ticket in solved:
            assert ticket.solved_at is not None
            sent_at = min(ticket.solved_at + dt.timedelta(hours=1), now)
            with _clock(sent_at):
                survey = survey_send(ticket_id=ticket.id, now=sent_at)
            if survey is None or survey.status != CsatSurvey.Status.SENT:
                continue
            answer = next(answers, None)
            if answer is not None:
                score, comment = answer
                answered_at = min(sent_at + dt.timedelta(hours=3), now)
                with _clock(answered_at):
                    survey_answer(survey=survey, score=score, comment=comment, now=answered_at)
        # Like the seeded replies, the seeded surveys were never mailed: their messages stay
        # "stored" and no outbox row claims they went out (only mail written in the demo does).
        survey_messages = CsatSurvey.objects.filter(shop=shop, message__isnull=False).values(
            "message_id"
        )
        OutboundMail.objects.filter(shop=shop, message_id__in=survey_messages).delete()
        Message.objects.filter(
            shop=shop, id__in=survey_messages, channel__in=[Channel.EMAIL, Channel.WEB_FORM]
        ).update(delivery_status=Message.DeliveryStatus.STORED)


# Operations: each shop's business calendar, SLA policies and routing, set up once through the
# services before the tickets; after them, the SLA clocks of every seeded ticket.


def _seed_operations(*, shops: dict[str, Shop], admin: User, today: dt.date) -> None:
    from madoguchi.operations.business_calendar import (
        business_calendar_save,
        closure_add,
        closure_presets,
    )
    from madoguchi.operations.models import (
        BusinessCalendarSettings,
        Closure,
        RoutingSettings,
        SlaPolicy,
    )
    from madoguchi.operations.routing_settings import routing_settings_save
    from madoguchi.operations.sla_policies import sla_policy_save

    actor = actor_for_user(admin)
    new_year = closure_presets(today=today)[0]
    weekly_hours = {
        weekday: [
            (dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)) for opens, closes in hours
        ]
        for weekday, hours in content.WEEKLY_HOURS.items()
    }
    for spec in content.SHOPS:
        shop = shops[spec.key]
        with in_shop(shop.id):
            if not BusinessCalendarSettings.objects.filter(shop=shop).exists():
                business_calendar_save(
                    actor=actor,
                    shop=shop,
                    observes_national_holidays=True,
                    always_open=False,
                    weekly_hours=weekly_hours,
                    refresh_open_tickets=False,  # _seed_sla_clocks computes every clock
                )
            if not Closure.objects.filter(
                shop=shop, starts_on=new_year.starts_on, ends_on=new_year.ends_on
            ).exists():
                closure_add(
                    actor=actor,
                    shop=shop,
                    name=new_year.name,
                    starts_on=new_year.starts_on,
                    ends_on=new_year.ends_on,
                    refresh_open_tickets=False,
                )
            for policy in content.SLA_POLICIES:
                if not SlaPolicy.objects.filter(shop=shop, name=policy.name).exists():
                    sla_policy_save(
                        actor=actor,
                        shop=shop,
                        name=policy.name,
                        priority=policy.priority,
                        first_response_minutes=policy.first_response_minutes,
                        next_response_minutes=policy.next_response_minutes,
                        resolution_minutes=policy.resolution_minutes,
                        in_business_hours=True,
                        position=policy.position,
                        refresh_open_tickets=False,
                    )
            if (
                spec.key in content.ROUND_ROBIN_SHOPS
                and not RoutingSettings.objects.filter(shop=shop).exists()
            ):
                routing_settings_save(
                    actor=actor,
                    shop=shop,
                    mode=RoutingSettings.Mode.ROUND_ROBIN,
                    channel_modes={},
                    requires_language_skill=True,
                    requires_on_duty=True,
                    max_open_per_operator=None,
                    reassign_on_breach=False,
                )


DUTY_DAYS = 14  # the operators' shifts planned from the seeding day on


def _seed_duty(*, shops: dict[str, Shop], people: dict[str, User], today: dt.date) -> None:
    """Put the operators of the routed shops on duty in business hours, so a new ticket (a
    chat while they are connected) finds them: Japanese as their language, status available,
    and weekday shifts of the shop's hours for DUTY_DAYS days. Planned once per person."""
    from zoneinfo import ZoneInfo

    from madoguchi.operations.models import OperatorProfile, Shift
    from madoguchi.operations.profiles import operator_languages_set
    from madoguchi.operations.shifts import operator_duty_set, shift_save

    planner = actor_for_user(people["admin"])
    for key in content.ROUND_ROBIN_SHOPS:
        shop = shops[key]
        zone = ZoneInfo(shop.time_zone)
        with in_shop(shop.id), unscoped("demo data: the agency's people work the shop"):
            memberships = Membership.objects.filter(
                role=Membership.Role.OPERATOR, shop_assignments__shop=shop
            ).select_related("user")
            for membership in memberships:
                if Shift.objects.filter(membership=membership).exists():
                    continue
                operator_languages_set(
                    actor=people["admin"], membership=membership, languages=["ja"]
                )
                operator_duty_set(
                    actor=actor_for_user(membership.user),
                    shop=shop,
                    duty=OperatorProfile.Duty.AVAILABLE,
                )
                for offset in range(DUTY_DAYS):
                    day = today + dt.timedelta(days=offset)
                    if day.weekday() >= 5:
                        continue
                    shift_save(
                        actor=planner,
                        shop=shop,
                        shift=None,
                        membership=membership,
                        starts_at=dt.datetime.combine(day, dt.time(10, 0), tzinfo=zone),
                        ends_at=dt.datetime.combine(day, dt.time(18, 0), tzinfo=zone),
                    )


def _seed_sla_clocks(*, shops: dict[str, Shop], now: dt.datetime) -> None:
    """Compute the SLA measures of every seeded ticket (solved ones too, for the attainment
    report), then warn and escalate as the periodic job would, so the ticket page, the alerts
    page and the report show real figures at once. Idempotent: a second run finds nothing new.

    The routing job starts after the seeded events: the demo's tickets are history, only
    tickets arriving later are routed.
    """
    from madoguchi.events.models import Event
    from madoguchi.events.services import consumer_advance, consumer_position
    from madoguchi.operations.services import (
        ROUTING_CURSOR,
        sla_check_breaches,
        sla_check_warnings,
        sla_refresh,
    )

    for shop in shops.values():
        with in_shop(shop.id):
            for ticket_id in Ticket.objects.filter(shop=shop).values_list("id", flat=True):
                sla_refresh(ticket_id=ticket_id, now=now)
    sla_check_warnings(now=now)
    sla_check_breaches(now=now)
    with unscoped("demo data: the routing cursor spans shops"):
        last_event = Event.objects.order_by("-id").values_list("id", flat=True).first()
        if last_event is not None:
            consumer_position(name=ROUTING_CURSOR)  # the cursor row, made on first use
            consumer_advance(name=ROUTING_CURSOR, position=last_event)


def _seed_handle_time(*, shops: dict[str, Shop]) -> None:
    """Give every staff reply and note the time its author worked on the ticket before it
    (`ticket.worked`, as the ticket page reports it), so the dashboard shows handle time.
    Deterministic per message; idempotent: tickets that have such events are left alone."""
    from madoguchi.conversations.models import Message
    from madoguchi.events.models import ActorKind, Event
    from madoguchi.events.services import event_append

    for shop in shops.values():
        with in_shop(shop.id):
            done = set(
                Event.objects.filter(shop=shop, type="ticket.worked").values_list(
                    "ticket_id", flat=True
                )
            )
            written = (
                Message.objects.filter(
                    ticket__shop=shop,
                    direction__in=[Message.Direction.OUTBOUND, Message.Direction.NOTE],
                    author_user__isnull=False,
                )
                .exclude(ticket_id__in=done)
                .select_related("ticket", "author_user")
                .order_by("id")
            )
            for message in written:
                # Reading 1-6 minutes, then writing 1-5 minutes: varied, never random.
                viewing = 60 + (message.id * 37) % 300
                composing = 60 + (message.id * 53) % 240
                event_append(
                    shop=shop,
                    type="ticket.worked",
                    actor_kind=ActorKind.OPERATOR,
                    ticket=message.ticket,
                    actor_user=message.author_user,
                    payload={"seconds": viewing + composing, "composing_seconds": composing},
                    occurred_at=message.created_at - dt.timedelta(seconds=5),
                )


def _seed_analytics() -> None:
    """Apply every seeded event to the analytics facts, as the periodic job would, so the
    dashboards show the demo's history at once. Idempotent: a second run applies only events
    added since."""
    from madoguchi.analytics.services import analytics_apply_new_events

    analytics_apply_new_events()


# (title, body, category, visibility, language, is_published) per shop slug.
DEMO_ARTICLES: dict[str, list[tuple[str, str, str, str, str, bool]]] = {
    "tea": [
        (
            "送料とお届けまでの日数",
            "送料は全国一律660円、5,400円以上のご注文で無料です。\n"
            "平日14時までのご注文は当日発送し、本州へは翌日、北海道・九州・沖縄へは2〜3日で"
            "お届けします。お届け日時はご注文時に指定できます。",
            "配送・送料",
            "public",
            "ja",
            True,
        ),
        (
            "返品・交換の方法",
            "商品到着後8日以内にマイページの「返品・交換」からお申し込みください。\n"
            "開封済みのお茶は返品いただけませんが、破損・品違いの場合は送料当店負担で交換します。",
            "返品・交換",
            "public",
            "ja",
            True,
        ),
        (
            "お支払い方法と入金確認",
            "クレジットカード、銀行振込、代金引換がご利用いただけます。\n"
            "銀行振込は入金確認後の発送です。入金確認には1〜2営業日かかります。",
            "お支払い",
            "public",
            "ja",
            True,
        ),
        (
            "賞味期限と保存方法",
            "未開封で製造から12か月です。開封後は密閉して冷暗所で保存し、1か月以内にお召し上がり"
            "ください。冷蔵庫から出すときは常温に戻してから開封してください。",
            "商品について",
            "public",
            "ja",
            True,
        ),
        (
            "領収書の発行",
            "領収書はマイページの注文履歴からPDFでダウンロードできます。宛名も指定できます。",
            "お支払い",
            "public",
            "ja",
            True,
        ),
        (
            "Shipping fees and delivery times",
            "Shipping is 660 yen anywhere in Japan and free from 5,400 yen. Orders placed by 2 pm "
            "on weekdays ship the same day.",
            "",
            "public",
            "en",
            True,
        ),
        (
            "【社内】破損報告を受けたときの手順",
            "1. 写真を依頼する（外箱と商品）\n2. 注文番号を確認し、再発送を手配する\n"
            "3. 配送業者へ事故報告を出す（ヤマト運輸は営業所へ電話）\n4. 改善リストに記録する",
            "",
            "internal",
            "ja",
            True,
        ),
        (
            "定期便のお休み・スキップ",
            "定期便は次回お届け日の7日前までマイページからお休みできます。（下書き：回数制限を確認中）",
            "定期便",
            "public",
            "ja",
            False,
        ),
    ],
    "ceramics": [
        (
            "電子レンジ・食洗機でのご使用について",
            "磁器の商品は電子レンジ・食洗機でお使いいただけます。金彩・銀彩のある器と土物は"
            "使えません。商品ページの「取り扱い」をご確認ください。",
            "お手入れ",
            "public",
            "ja",
            True,
        ),
        (
            "割れて届いたとき",
            "お手数ですが、届いた状態の写真をお送りください。確認後すぐに代わりの品をお送りします。",
            "配送",
            "public",
            "ja",
            True,
        ),
        (
            "金継ぎ修理の受付",
            "当店でお買い上げの器の金継ぎ修理を承ります。（下書き：料金表を作成中）",
            "修理",
            "public",
            "ja",
            False,
        ),
    ],
}


def _seed_knowledge(*, shop: Shop, admin: User) -> None:
    """Help-center articles (published FAQ, an English one, an internal manual, a draft), the
    FAQ candidates of the demo's tickets, and an improvement item. Idempotent: articles are
    found by title; candidates are recomputed."""
    from madoguchi.knowledge.candidates import faq_candidates_refresh
    from madoguchi.knowledge.models import Article, ArticleCategory, ImprovementItem
    from madoguchi.knowledge.services import (
        article_create,
        article_publish,
        category_save,
        improvement_save,
    )

    actor = actor_for_user(admin)
    with in_shop(shop.id):
        for title, body, category_name, visibility, language, is_published in DEMO_ARTICLES.get(
            shop.slug, []
        ):
            if Article.objects.filter(shop=shop, title=title).exists():
                continue
            category = None
            if category_name:
                category = ArticleCategory.objects.filter(shop=shop, name=category_name).first()
                category = category or category_save(actor=actor, shop=shop, name=category_name)
            article = article_create(
                actor=actor,
                shop=shop,
                title=title,
                body=body,
                language=language,
                visibility=visibility,
                category=category,
            )
            if is_published:
                article_publish(actor=actor, article=article)
        faq_candidates_refresh(shop_id=shop.id)
        if shop.slug == "tea" and not ImprovementItem.objects.filter(shop=shop).exists():
            numbers = list(
                Ticket.objects.filter(shop=shop, subject__contains="のし")
                .order_by("number")
                .values_list("number", flat=True)[:3]
            )
            improvement_save(
                actor=actor,
                shop=shop,
                title="のし・包装の選び方を商品ページに載せる",
                kind=ImprovementItem.Kind.PRODUCT_PAGE,
                status=ImprovementItem.Status.IN_PROGRESS,
                description="のしの有無と表書きの問い合わせが続いている。注文画面に選択肢を追加する。",
                owner=admin,
                ticket_numbers=numbers,
            )


def _seed_reports(*, shop: Shop, supervisor: User, now: dt.datetime) -> None:
    """Monthly reports on for the first shop, last month's improvement points (one written, one
    accepted from the improvement list) and its generated report. Idempotent: a month that has
    a report is left alone."""
    from zoneinfo import ZoneInfo

    from madoguchi.reports.models import ClientReport, ImprovementPoint
    from madoguchi.reports.selectors import suggestions
    from madoguchi.reports.services import (
        improvement_point_accept,
        improvement_point_add,
        report_generate,
        report_settings_for,
        report_settings_save,
    )

    local = now.astimezone(ZoneInfo(shop.time_zone)).date()
    month = (local.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    with in_shop(shop.id):
        if ClientReport.objects.filter(shop=shop, month=month).exists():
            return
        if report_settings_for(shop_id=shop.id).pk is None:
            report_settings_save(
                user=supervisor,
                shop=shop,
                is_enabled=True,
                shows_operator_names=False,
                extra_recipients=[],
            )
        if not ImprovementPoint.objects.filter(shop=shop, month=month).exists():
            improvement_point_add(
                user=supervisor,
                shop=shop,
                month=month,
                area=ImprovementPoint.Area.PRODUCT,
                text="茶葉の賞味期限と保存方法を商品ページに明記すると、問い合わせが減る見込みです。",
            )
            for suggestion in suggestions(shop_id=shop.id, month=month)[:1]:
                improvement_point_accept(
                    user=supervisor,
                    shop=shop,
                    month=month,
                    source=suggestion.source,
                    source_id=suggestion.source_id,
                )
        report_generate(shop=shop, month=month, user=supervisor, now=now)
