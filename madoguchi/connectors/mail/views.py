"""Mail pages: the failed-mail list with reprocess and loop alerts, the outbox with retry and
the view of a sent mail, and the shop's mail settings. Set-up pages are in `setup_views`.

Views parse input, authorise through `access_*`, call one service and render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.connectors.mail import selectors, services
from madoguchi.connectors.mail.autoreply import (
    DEFAULT_ACK_BODY,
    DEFAULT_ACK_SUBJECT,
    mail_settings_for,
)
from madoguchi.connectors.mail.diagnostics import explain_stored_error
from madoguchi.connectors.mail.models import OutboundMail
from madoguchi.connectors.mail.setup_views import staff_shop


@login_required
@require_GET
def failed_list(request: HttpRequest, shop_slug: str) -> HttpResponse:
    _, shop = staff_shop(request, shop_slug)
    context = {
        "shop": shop,
        "failed": selectors.failed_mail(shop=shop),
        "reports": selectors.unmatched_reports(shop=shop),
        "alerts": selectors.loop_alerts(shop=shop),
    }
    return render(request, "mail/failed_list.html", context)


@login_required
@require_POST
def failed_reprocess(request: HttpRequest, shop_slug: str, raw_mail_id: int) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    raw_mail = selectors.access_raw_mail(actor=actor, shop=shop, raw_mail_id=raw_mail_id)
    services.failed_mail_reprocess(actor=actor, raw_mail=raw_mail)
    messages.success(request, _("The mail will be processed again."))
    return HttpResponseRedirect(reverse("mail:failed", args=[shop.slug]))


@login_required
@require_GET
def failed_raw(request: HttpRequest, shop_slug: str, raw_mail_id: int) -> HttpResponse:
    """Download the original mail, inert: an attachment of type message/rfc822, never rendered."""
    actor, shop = staff_shop(request, shop_slug)
    raw_mail = selectors.access_raw_mail(actor=actor, shop=shop, raw_mail_id=raw_mail_id)
    response = HttpResponse(bytes(raw_mail.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="mail-{raw_mail.id}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def settings_edit(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    current = mail_settings_for(shop)
    if request.method == "POST":
        services.mail_settings_update(
            actor=actor,
            shop=shop,
            is_ack_enabled=request.POST.get("is_ack_enabled") == "on",
            ack_subject=request.POST.get("ack_subject", ""),
            ack_body=request.POST.get("ack_body", ""),
            is_subject_threading_enabled=request.POST.get("is_subject_threading_enabled") == "on",
        )
        messages.success(request, _("The mail settings were saved."))
        return HttpResponseRedirect(reverse("mail:settings", args=[shop.slug]))
    context = {
        "shop": shop,
        "settings": current,
        "can_edit": actor.is_lead_for(shop.id),
        "addresses": selectors.mail_addresses(shop=shop),
        "mailboxes": selectors.mailboxes(actor=actor, shop=shop),
        "default_subject": DEFAULT_ACK_SUBJECT,
        "default_body": DEFAULT_ACK_BODY,
    }
    return render(request, "mail/settings.html", context)


@login_required
@require_GET
def outbox(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's outgoing mail by status, with the error in words and a retry for failures."""
    actor, shop = staff_shop(request, shop_slug)
    status = request.GET.get("status", "")
    if status not in OutboundMail.Status.values:
        status = ""
    rows = [
        {"mail": mail, "error": explain_stored_error(mail.last_error)}
        for mail in selectors.outbox(actor=actor, shop=shop, status=status)
    ]
    context = {
        "shop": shop,
        "rows": rows,
        "status": status,
        "statuses": OutboundMail.Status.choices,
        "limit": selectors.OUTBOX_LIMIT,
    }
    return render(request, "mail/outbox.html", context)


@login_required
@require_GET
def outbound_detail(request: HttpRequest, shop_slug: str, outbound_id: int) -> HttpResponse:
    """One outgoing mail as text: its headers and plain-text part, escaped, never rendered."""
    actor, shop = staff_shop(request, shop_slug)
    outbound = selectors.access_outbound_mail(actor=actor, shop=shop, outbound_id=outbound_id)
    context = {
        "shop": shop,
        "mail": outbound,
        "error": explain_stored_error(outbound.last_error),
        "sent": selectors.sent_mail(outbound) if outbound.raw else None,
    }
    return render(request, "mail/outbound_detail.html", context)


@login_required
@require_POST
def outbound_retry(request: HttpRequest, shop_slug: str, outbound_id: int) -> HttpResponse:
    actor, shop = staff_shop(request, shop_slug)
    outbound = selectors.access_outbound_mail(actor=actor, shop=shop, outbound_id=outbound_id)
    services.outbound_mail_retry(actor=actor, outbound=outbound)
    messages.success(request, _("The mail will be sent again."))
    return HttpResponseRedirect(reverse("mail:outbox", args=[shop.slug]))
