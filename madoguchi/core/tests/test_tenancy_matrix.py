"""Every view of the URLconf against every kind of visitor: deny by default, 404 for strangers.

The matrix walks the resolver, so a new URL pattern fails `test_every_url_pattern_is_in_the_matrix`
until it is described here: either as public, or with how to call it for the tea shop.

Visitors: anonymous (redirected to sign in), the operator of the other shop and the client
(owner) of the other shop (both 404, as if the object did not exist), and the right user (200 or
302). A refused POST leaves no trace: messages, events, audit entries, tickets are unchanged.
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
    data: Callable[[Any], dict[str, str]] = field(default=lambda world: {})
    expected: int = 200
    # Text of the tea shop the right user's GET shows, and a stranger's answer never does.
    marker: Callable[[Any], str] = field(default=lambda world: TEA_SECRET)
    # Rows the view needs besides the world (an order, a deposit), made before every call.
    setup: Callable[[Any], None] = field(default=lambda world: None)
    # Who the right user is (a world attribute): the tea operator unless a supervisor is needed.
    user: str = "operator_tea"


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


def _tea_line_channel(world: Any) -> None:
    from madoguchi.connectors.line.models import LineChannel

    with unscoped("test setup"):
        LineChannel.objects.get_or_create(
            id=9001,
            defaults={
                "shop": world.tea,
                "name": "matrix",
                "channel_id": "1",
                "channel_secret": "s",
                "access_token": "t",
                "api_base_url": "http://127.0.0.1:9",  # closed port: the fragment shows the error
            },
        )


def _tea_phone_identity(world: Any) -> None:
    from madoguchi.customers.models import ContactIdentity

    with unscoped("test setup"):
        ContactIdentity.objects.get_or_create(
            shop=world.tea,
            kind="phone",
            value="0312345678",
            defaults={"customer": world.tea_ticket.customer, "display_value": "03-1234-5678"},
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


TEA_ATTACHMENT = b"matrix-attachment-body"


def _tea_attachment(world: Any) -> None:
    """An attachment (id 9001) of the tea ticket's message, stored under MEDIA_ROOT (tmp)."""
    from django.core.files.base import ContentFile

    from madoguchi.conversations.models import Attachment

    with unscoped("test setup"):
        if Attachment.objects.filter(id=9001).exists():
            return
        attachment = Attachment(
            id=9001,
            shop=world.tea,
            message=Message.objects.filter(ticket=world.tea_ticket).earliest("id"),
            filename="matrix.txt",
            content_type="text/plain",
            size=len(TEA_ATTACHMENT),
            sha256="0" * 64,
        )
        attachment.file.save("matrix", ContentFile(TEA_ATTACHMENT), save=False)
        attachment.save()


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


_SHOP_NAME = {"marker": lambda world: world.tea.name}

# Views reachable without signing in; each is checked for anonymous visitors below.
PUBLIC: dict[str, Route] = {
    "healthz": Route("GET", lambda world: reverse("healthz")),
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
    # The shop's contact form for its customers; the public key is in the path.
    "webform:public": Route(
        "GET", lambda world: reverse("webform:public", args=["unknown-key"]), expected=404
    ),
    # The chat widget's endpoints; the widget's public key is in the path (and CORS per shop).
    "chat:widget_config": Route(
        "GET", lambda world: reverse("chat:widget_config", args=["unknown-key"]), expected=404
    ),
    "chat:conversation_open": Route(
        "POST", lambda world: reverse("chat:conversation_open", args=["unknown-key"]), expected=404
    ),
}

# Views of one shop's data, called for the tea shop.
SHOP_ROUTES: dict[str, Route] = {
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
    "conversations:ticket_reply": Route(
        "POST",
        lambda world: reverse("conversations:ticket_reply", kwargs=_ticket_kwargs(world)),
        lambda world: {"body": "マトリクスからの返信", "status": "solved"},
        302,
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
    "customers:picker": Route(
        "GET",
        lambda world: (
            reverse("customers:picker")
            + f"?shop={world.tea.slug}&q={quote(world.tea_ticket.customer.name)}"
        ),
        marker=lambda world: world.tea_ticket.customer.name,
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

KNOWN = set(PUBLIC) | set(SHOP_ROUTES)


def test_every_url_pattern_is_in_the_matrix() -> None:
    unknown = sorted(resolved_names() - KNOWN)
    assert unknown == [], (
        "Describe these URL patterns in core/tests/test_tenancy_matrix.py "
        f"(PUBLIC or SHOP_ROUTES): {unknown}"
    )


def present(names: dict[str, Any]) -> list[str]:
    """The described routes that the URLconf has (routes of unfinished apps are left out)."""
    available = resolved_names()
    return [name for name in names if name.split(" ")[0] in available]


def snapshot(world: Any) -> tuple[Any, ...]:
    """Everything a refused request must leave unchanged."""
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
            AuditEntry.objects.exclude(action__startswith="user.").count(),
            Customer.objects.count(),
            tickets,
            tags,
        )


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    """Files a route's setup stores (attachments) go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"


def text(response: Any) -> str:
    """The body as text, also of a streamed response (a file download)."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return str(response.text)


def call(client: Any, route: Route, world: Any) -> Any:
    url = route.url(world)
    if route.method == "POST":
        return client.post(url, route.data(world))
    return client.get(url)


@pytest.mark.parametrize("name", present(SHOP_ROUTES) + present(GLOBAL_ROUTES))
def test_anonymous_is_sent_to_sign_in(english: Any, world: Any, name: str) -> None:
    route = {**SHOP_ROUTES, **GLOBAL_ROUTES}[name]
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


@pytest.mark.parametrize("name", present(SHOP_ROUTES) + present(GLOBAL_ROUTES))
def test_the_right_user_is_served(english: Any, world: Any, name: str) -> None:
    route = {**SHOP_ROUTES, **GLOBAL_ROUTES}[name]
    route.setup(world)
    english.force_login(getattr(world, route.user))
    before = snapshot(world)
    response = call(english, route, world)
    assert response.status_code == route.expected
    if route.method == "POST":
        assert snapshot(world) != before  # the same request from a stranger changed nothing
    else:
        assert route.marker(world) in text(response)


@pytest.mark.parametrize(
    "name",
    [
        "conversations:ticket_note",
        "conversations:ticket_properties",
        "conversations:ticket_reply",  # an agency works the tea shop: its owner only reads
        "conversations:ticket_new",
        "conversations:ticket_merge",
        "conversations:ticket_split",
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
