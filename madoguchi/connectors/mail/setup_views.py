"""Set-up pages of the email channel: addresses, IMAP mailboxes, outgoing SMTP servers.

The shop's admins and supervisors edit; its other staff read (a change they post is a 403);
anyone else gets 404. Views parse input, authorise through `access_*`, call one service and
render. "Test" buttons post with htmx and get the result fragment (a plain post gets the page).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.connectors.mail import channel_setup, dns_records, selectors
from madoguchi.connectors.mail.channel_setup import (
    AddressInput,
    MailboxInput,
    SmtpServerInput,
    require_lead,
)
from madoguchi.connectors.mail.diagnostics import ConnectionCheck, explain_stored_error
from madoguchi.connectors.mail.forms import (
    MailAddressForm,
    MailboxForm,
    SmtpServerForm,
    TestSendForm,
    address_initial,
    mailbox_initial,
    smtp_server_initial,
)
from madoguchi.connectors.mail.models import MailAddress, Mailbox, SmtpServer
from madoguchi.core.errors import NotFoundError, ValidationError
from madoguchi.core.service_forms import add_service_error
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop


def staff_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    """The actor and the shop, for the shop's staff; clients and strangers get 404."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Shop not found")
    return actor, shop


def _is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _page(
    request: HttpRequest, template: str, actor: Actor, shop: Shop, context: dict[str, Any]
) -> HttpResponse:
    return render(
        request, template, {"shop": shop, "can_edit": actor.is_lead_for(shop.id), **context}
    )


# Addresses --------------------------------------------------------------------------------------


def _address_form(shop: Shop, data: Any = None, address: MailAddress | None = None) -> Any:
    return MailAddressForm(
        data,
        mailboxes=Mailbox.objects.filter(shop=shop).order_by("name"),
        servers=SmtpServer.objects.filter(shop=shop).order_by("name"),
        initial=address_initial(address) if address is not None else None,
    )


def _address_input(form: MailAddressForm) -> AddressInput:
    cleaned = form.cleaned_data
    return AddressInput(
        address=cleaned["address"],
        display_name=cleaned["display_name"] or "",
        is_default_sender=bool(cleaned["is_default_sender"]),
        is_verified=bool(cleaned["is_verified"]),
        inbound_method=cleaned["inbound_method"],
        mailbox=cleaned["mailbox"],
        outbound_server=cleaned["outbound_server"],
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_list(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's support addresses, how their mail arrives and leaves, the DNS records; add one."""
    actor, shop = staff_shop(request, shop_slug)
    form = _address_form(shop, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        require_lead(actor=actor, shop_id=shop.id)
        if form.is_valid():
            try:
                channel_setup.mail_address_create(actor=actor, shop=shop, data=_address_input(form))
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("The address was added."))
                return redirect(reverse("mail:addresses", args=[shop.slug]))
    addresses = list(selectors.mail_addresses(shop=shop))
    receiver = dns_records.receiver(public_host=request.get_host())
    context = {
        "addresses": addresses,
        "form": form,
        "domains": dns_records.sender_domains(addresses),
        "receiver": receiver,
        "guides": dns_records.inbound_guides(addresses, receiver),
    }
    return _page(request, "mail/addresses.html", actor, shop, context)


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request: HttpRequest, shop_slug: str, address_id: int) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    address = selectors.access_mail_address(actor=actor, shop=shop, address_id=address_id)
    form = _address_form(shop, request.POST if request.method == "POST" else None, address)
    if request.method == "POST":
        require_lead(actor=actor, shop_id=shop.id)
        if form.is_valid():
            try:
                channel_setup.mail_address_update(
                    actor=actor, address=address, data=_address_input(form)
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("The address was saved."))
                return redirect(reverse("mail:addresses", args=[shop.slug]))
    context = {"address": address, "form": form}
    return _page(request, "mail/address_edit.html", actor, shop, context)


@login_required
@require_POST
def address_delete(request: HttpRequest, shop_slug: str, address_id: int) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    address = selectors.access_mail_address(actor=actor, shop=shop, address_id=address_id)
    channel_setup.mail_address_delete(actor=actor, address=address)
    messages.success(request, gettext("The address was removed."))
    return redirect(reverse("mail:addresses", args=[shop.slug]))


# Mailboxes --------------------------------------------------------------------------------------


def _mailbox_input(form: MailboxForm) -> MailboxInput:
    cleaned = form.cleaned_data
    return MailboxInput(
        name=cleaned["name"],
        host=cleaned["host"],
        port=cleaned["port"],
        security=cleaned["security"],
        username=cleaned["username"],
        password=cleaned["password"] or "",
        folder=cleaned["folder"],
        processed_folder=cleaned["processed_folder"] or "",
        is_active=bool(cleaned["is_active"]),
    )


def _mailbox_rows(actor: Actor, shop: Shop) -> list[dict[str, Any]]:
    return [
        {"mailbox": mailbox, "error": explain_stored_error(mailbox.last_error)}
        for mailbox in selectors.mailboxes(actor=actor, shop=shop)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_list(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's IMAP mailboxes with their last poll and error; add one."""
    actor, shop = staff_shop(request, shop_slug)
    form = MailboxForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        require_lead(actor=actor, shop_id=shop.id)
        if form.is_valid():
            try:
                mailbox = channel_setup.mailbox_create(
                    actor=actor, shop=shop, data=_mailbox_input(form)
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request, gettext("The mailbox was added. Test the connection now.")
                )
                return redirect(reverse("mail:mailbox_edit", args=[shop.slug, mailbox.id]))
    context = {"rows": _mailbox_rows(actor, shop), "form": form}
    return _page(request, "mail/mailboxes.html", actor, shop, context)


def _mailbox_edit_page(
    request: HttpRequest,
    actor: Actor,
    shop: Shop,
    mailbox: Mailbox,
    form: MailboxForm,
    check: ConnectionCheck | None = None,
) -> HttpResponse:
    context = {
        "mailbox": mailbox,
        "form": form,
        "check": check,
        "error": explain_stored_error(mailbox.last_error),
        "used_by": selectors.addresses_using(shop=shop, mailbox=mailbox),
    }
    return _page(request, "mail/mailbox_edit.html", actor, shop, context)


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_edit(request: HttpRequest, shop_slug: str, mailbox_id: int) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    mailbox = selectors.access_mailbox(actor=actor, shop=shop, mailbox_id=mailbox_id)
    data = request.POST if request.method == "POST" else None
    form = MailboxForm(data, initial=mailbox_initial(mailbox), has_saved_password=True)
    if request.method == "POST":
        require_lead(actor=actor, shop_id=shop.id)
        if form.is_valid():
            try:
                channel_setup.mailbox_update(
                    actor=actor, mailbox=mailbox, data=_mailbox_input(form)
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("The mailbox was saved."))
                return redirect(reverse("mail:mailbox_edit", args=[shop.slug, mailbox.id]))
    return _mailbox_edit_page(request, actor, shop, mailbox, form)


@login_required
@require_POST
def mailbox_test(request: HttpRequest, shop_slug: str, mailbox_id: int) -> HttpResponse:
    """Sign in to the saved mailbox and report the folder count, or what went wrong."""
    actor, shop = staff_shop(request, shop_slug)
    mailbox = selectors.access_mailbox(actor=actor, shop=shop, mailbox_id=mailbox_id)
    check = channel_setup.mailbox_test_connection(actor=actor, mailbox=mailbox)
    if _is_htmx(request):
        return render(request, "mail/_check_result.html", {"check": check})
    form = MailboxForm(initial=mailbox_initial(mailbox), has_saved_password=True)
    return _mailbox_edit_page(request, actor, shop, mailbox, form, check)


@login_required
@require_POST
def mailbox_delete(request: HttpRequest, shop_slug: str, mailbox_id: int) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    mailbox = selectors.access_mailbox(actor=actor, shop=shop, mailbox_id=mailbox_id)
    channel_setup.mailbox_delete(actor=actor, mailbox=mailbox)
    messages.success(request, gettext("The mailbox was removed."))
    return redirect(reverse("mail:mailboxes", args=[shop.slug]))


# Outgoing servers -------------------------------------------------------------------------------


def _server_input(form: SmtpServerForm) -> SmtpServerInput:
    cleaned = form.cleaned_data
    return SmtpServerInput(
        name=cleaned["name"],
        host=cleaned["host"],
        port=cleaned["port"],
        security=cleaned["security"],
        username=cleaned["username"] or "",
        password=cleaned["password"] or "",
        is_active=bool(cleaned["is_active"]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def smtp_server_list(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's outgoing SMTP servers with their last use and error; add one."""
    actor, shop = staff_shop(request, shop_slug)
    form = SmtpServerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        require_lead(actor=actor, shop_id=shop.id)
        if form.is_valid():
            try:
                server = channel_setup.smtp_server_create(
                    actor=actor, shop=shop, data=_server_input(form)
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request, gettext("The outgoing server was added. Send a test mail now.")
                )
                return redirect(reverse("mail:smtp_server_edit", args=[shop.slug, server.id]))
    rows = [
        {"server": server, "error": explain_stored_error(server.last_error)}
        for server in selectors.smtp_servers(actor=actor, shop=shop)
    ]
    return _page(request, "mail/smtp_servers.html", actor, shop, {"rows": rows, "form": form})


def _server_edit_page(
    request: HttpRequest,
    actor: Actor,
    shop: Shop,
    server: SmtpServer,
    form: SmtpServerForm,
    test_form: TestSendForm,
    check: ConnectionCheck | None = None,
) -> HttpResponse:
    context = {
        "server": server,
        "form": form,
        "test_form": test_form,
        "check": check,
        "error": explain_stored_error(server.last_error),
        "used_by": selectors.addresses_using(shop=shop, server=server),
    }
    return _page(request, "mail/smtp_server_edit.html", actor, shop, context)


def _test_form(request: HttpRequest, data: Any = None) -> TestSendForm:
    user_email = getattr(request.user, "email", "")
    return TestSendForm(data, initial={"to_address": user_email})


@login_required
@require_http_methods(["GET", "POST"])
def smtp_server_edit(request: HttpRequest, shop_slug: str, server_id: int) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    server = selectors.access_smtp_server(actor=actor, shop=shop, server_id=server_id)
    data = request.POST if request.method == "POST" else None
    form = SmtpServerForm(
        data, initial=smtp_server_initial(server), has_saved_password=bool(server.password)
    )
    if request.method == "POST":
        require_lead(actor=actor, shop_id=shop.id)
        if form.is_valid():
            try:
                channel_setup.smtp_server_update(
                    actor=actor, server=server, data=_server_input(form)
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("The outgoing server was saved."))
                return redirect(reverse("mail:smtp_server_edit", args=[shop.slug, server.id]))
    return _server_edit_page(request, actor, shop, server, form, _test_form(request))


@login_required
@require_POST
def smtp_server_test(request: HttpRequest, shop_slug: str, server_id: int) -> HttpResponse:
    """Send a real test mail through the saved server to the address typed; report the result."""
    actor, shop = staff_shop(request, shop_slug)
    server = selectors.access_smtp_server(actor=actor, shop=shop, server_id=server_id)
    require_lead(actor=actor, shop_id=shop.id)
    test_form = _test_form(request, request.POST)
    check = None
    if test_form.is_valid():
        check = channel_setup.smtp_server_test_send(
            actor=actor, server=server, to_address=test_form.cleaned_data["to_address"]
        )
    if _is_htmx(request):
        return render(
            request,
            "mail/_test_send.html",
            {"shop": shop, "server": server, "test_form": test_form, "check": check},
        )
    form = SmtpServerForm(
        initial=smtp_server_initial(server), has_saved_password=bool(server.password)
    )
    return _server_edit_page(request, actor, shop, server, form, test_form, check)


@login_required
@require_POST
def smtp_server_delete(request: HttpRequest, shop_slug: str, server_id: int) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    server = selectors.access_smtp_server(actor=actor, shop=shop, server_id=server_id)
    channel_setup.smtp_server_delete(actor=actor, server=server)
    messages.success(request, gettext("The outgoing server was removed."))
    return redirect(reverse("mail:smtp_servers", args=[shop.slug]))
