"""LINE pages: the webhook, the shop's LINE channels (connect and change them), the LINE
deliveries (errors visible), merging a LINE customer."""

from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.connectors.line.client import LineApiError, message_quota, signature_is_valid
from madoguchi.connectors.line.forms import LineChannelForm
from madoguchi.connectors.line.models import LineChannel, LineOutbound, line_error_sentence
from madoguchi.connectors.line.processing import webhook_store
from madoguchi.connectors.line.services import line_channel_create, line_channel_update
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.core.service_forms import service_errors_flashed, service_errors_on
from madoguchi.customers.models import Customer
from madoguchi.customers.selectors import access_customer
from madoguchi.customers.services import customer_merge
from madoguchi.tenancy.access import Actor, access_shop, require_staff
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

MAX_WEBHOOK_BYTES = 1024 * 1024

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, public_id: str) -> HttpResponse:
    """Verify the signature over the raw body, store the delivery, answer 200 at once."""
    with unscoped("LINE webhook: the channel is found by its public id before any shop scope"):
        channel = LineChannel.objects.filter(public_id=public_id, is_active=True).first()
    if channel is None:
        return HttpResponse(status=404)
    if int(request.headers.get("Content-Length") or 0) > MAX_WEBHOOK_BYTES:
        return HttpResponse(status=413)
    body = request.body
    if not signature_is_valid(
        body, request.headers.get("X-Line-Signature", ""), channel.channel_secret
    ):
        return HttpResponse(status=401)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return HttpResponse(status=400)
    if not isinstance(payload, dict) or not payload.get("events"):
        return HttpResponse(status=200)  # LINE's connection check: nothing to store
    with in_shop(channel.shop_id):
        webhook_store(channel=channel, body=body)
    return HttpResponse(status=200)


def _staff_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Shop not found")
    return actor, shop


@login_required
@require_GET
def deliveries(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's LINE channels and recent replies, failed ones first with LINE's error.

    Channels are connected and changed on the channels page (`channels`)."""
    actor, shop = _staff_shop(request, shop_slug)
    outbound = (
        LineOutbound.objects.filter(shop=shop)
        .select_related("ticket", "ticket__shop", "message")
        .order_by("-created_at", "-id")[:100]
    )
    failed = [row for row in outbound if row.status == LineOutbound.Status.FAILED]
    others = [row for row in outbound if row.status != LineOutbound.Status.FAILED]
    context = {
        "shop": shop,
        "channels": LineChannel.objects.filter(shop=shop),
        "failed": failed,
        "others": others,
        "webhook_base": request.build_absolute_uri("/line/webhook/"),
        "can_edit": actor.is_lead_for(shop.id),
    }
    return render(request, "line/deliveries.html", context)


@login_required
@require_GET
def quota(request: HttpRequest, shop_slug: str, channel_id: int) -> HttpResponse:
    """This month's push messages used and allowed, asked from LINE (an htmx fragment)."""
    _actor, shop = _staff_shop(request, shop_slug)
    channel = LineChannel.objects.filter(shop=shop, pk=channel_id).first()
    if channel is None:
        raise NotFoundError("Channel not found")
    context: dict[str, object] = {"channel": channel}
    try:
        context["quota"] = message_quota(channel)
    except LineApiError as error:
        # LINE's own answer is for the log; the page says what it means.
        logger.info("LINE quota of channel %s: %s", channel.pk, error)
        quota_detail = error.detail if error.status is not None else ""
        context["error"] = line_error_sentence(error.status, quota_detail)
    except (ValueError, KeyError):
        context["error"] = _("LINE's answer could not be read.")
    return render(request, "line/_quota.html", context)


@login_required
@require_POST
def customer_merge_view(request: HttpRequest, shop_slug: str, pk: int) -> HttpResponse:
    """Merge this (LINE-only) customer into the customer chosen by id."""
    actor, shop = _staff_shop(request, shop_slug)
    source = access_customer(actor=actor, shop_id=shop.id, customer_id=pk)
    # A button, not a form to type into: a refusal is shown on the customer's page.
    with service_errors_flashed(request):
        raw_target = request.POST.get("target", "").strip()
        if not raw_target.isdigit():
            raise ValidationError(gettext_noop("Choose the customer to merge into."))
        target: Customer = access_customer(
            actor=actor, shop_id=shop.id, customer_id=int(raw_target)
        )
        customer_merge(actor=actor, source=source, target=target)
        messages.success(request, _("The customers were merged."))
        return HttpResponseRedirect(
            reverse("customers:detail", kwargs={"shop_slug": shop.slug, "pk": target.pk})
        )
    return HttpResponseRedirect(
        reverse("customers:detail", kwargs={"shop_slug": shop.slug, "pk": source.pk})
    )


# The shop's LINE channels -----------------------------------------------------------------------


def _channels_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    """The actor and the shop: staff read the channels; a client of the shop gets a 403."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    require_staff(actor=actor, shop_id=shop.id)
    return actor, shop


def _require_lead(actor: Actor, shop: Shop) -> None:
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(_("Only a supervisor or admin may change a LINE channel."))


def _webhook_url(request: HttpRequest, channel: LineChannel) -> str:
    return request.build_absolute_uri(reverse("line:webhook", args=[channel.public_id]))


@login_required
@require_http_methods(["GET", "POST"])
def channels(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's LINE channels with the webhook URL for the LINE console; connect one."""
    actor, shop = _channels_shop(request, shop_slug)
    form = LineChannelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        _require_lead(actor, shop)
        if form.is_valid():
            cleaned = form.cleaned_data
            with service_errors_on(form):
                channel = line_channel_create(
                    actor=actor,
                    shop=shop,
                    name=cleaned["name"],
                    channel_id=cleaned["channel_id"],
                    channel_secret=cleaned["channel_secret"],
                    access_token=cleaned["access_token"],
                )
                messages.success(
                    request,
                    _("The LINE channel was connected. Set its webhook URL in the LINE console."),
                )
                return HttpResponseRedirect(
                    reverse("line:channel_edit", args=[shop.slug, channel.pk])
                )
    rows = [
        (channel, _webhook_url(request, channel))
        for channel in LineChannel.objects.filter(shop=shop)
    ]
    context = {
        "shop": shop,
        "rows": rows,
        "form": form,
        "can_edit": actor.is_lead_for(shop.id),
    }
    return render(request, "line/channels.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, shop_slug: str, channel_id: int) -> HttpResponse:
    """Change a channel's name, ID, secret or token (write-only), or switch it off."""
    actor, shop = _channels_shop(request, shop_slug)
    channel = LineChannel.objects.filter(shop=shop, pk=channel_id).select_related("shop").first()
    if channel is None:
        raise NotFoundError("Channel not found")
    _require_lead(actor, shop)
    initial = {
        "name": channel.name,
        "channel_id": channel.channel_id,
        "is_active": channel.is_active,
    }
    form = LineChannelForm(
        request.POST if request.method == "POST" else None, initial=initial, is_edit=True
    )
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        with service_errors_on(form) as outcome:
            line_channel_update(
                actor=actor,
                channel=channel,
                name=cleaned["name"],
                channel_id=cleaned["channel_id"],
                is_active=bool(cleaned["is_active"]),
                channel_secret=cleaned["channel_secret"],
                access_token=cleaned["access_token"],
            )
            messages.success(request, _("The LINE channel was saved."))
            return HttpResponseRedirect(reverse("line:channel_edit", args=[shop.slug, channel.pk]))
        if outcome.refused:
            channel.refresh_from_db()
    context = {
        "shop": shop,
        "channel": channel,
        "webhook_url": _webhook_url(request, channel),
        "form": form,
    }
    return render(request, "line/channel_edit.html", context)
