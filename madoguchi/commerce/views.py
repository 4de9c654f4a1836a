"""Commerce pages: orders, order detail, CSV import, deposit import, review queue, reminders.

Views parse input, authorise through `access_*`, call one service and render.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from madoguchi.commerce import deposits as deposit_services
from madoguchi.commerce import selectors, services
from madoguchi.commerce.carriers import Carrier
from madoguchi.commerce.models import (
    CommerceConnection,
    DepositImport,
    Order,
    OrderImport,
    OrderNotice,
    OrderRequest,
    PaymentMethod,
    PaymentStatus,
)
from madoguchi.commerce.tasks import process_webhook_delivery, reconcile_deposits, run_order_import
from madoguchi.commerce.webhooks import delivery_store, verify
from madoguchi.core.errors import NotFoundError, ValidationError
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _staff_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    selectors.require_commerce_staff(actor=actor, shop=shop)
    return actor, shop


def _upload(request: HttpRequest) -> tuple[bytes, str]:
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError(_("Choose a file."))
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is too large."))
    return upload.read(), upload.name or "upload"


@login_required
@require_GET
def order_list(request: HttpRequest, shop_slug: str) -> HttpResponse:
    _, shop = _staff_shop(request, shop_slug)
    query = request.GET.get("q", "").strip()
    status = request.GET.get("payment_status", "")
    if status not in PaymentStatus.values:
        status = ""
    orders = selectors.order_list(shop=shop, query=query, payment_status=status)
    return render(
        request,
        "commerce/order_list.html",
        {
            "shop": shop,
            "orders": orders,
            "query": query,
            "payment_status": status,
            "payment_statuses": PaymentStatus.choices,
        },
    )


def _lines_from_text(text: str) -> list[services.LineInput]:
    """Parse "item, unit price, quantity, rate" lines (quantity and rate optional)."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [part.strip() for part in raw.replace("，", ",").split(",")]
        try:
            price = int(parts[1].replace("円", "").replace("¥", ""))
            quantity = int(parts[2]) if len(parts) > 2 and parts[2] else 1
            rate = int(parts[3].rstrip("%")) if len(parts) > 3 and parts[3] else 10
        except (IndexError, ValueError) as error:
            raise ValidationError(
                _("Line %(number)d: write item, price, quantity, rate.") % {"number": number}
            ) from error
        lines.append(
            services.LineInput(name=parts[0], unit_price=price, quantity=quantity, tax_rate=rate)
        )
    if not lines:
        raise ValidationError(_("An order needs at least one line."))
    return lines


@login_required
def order_new(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Enter a phone or fax order (受発注)."""
    actor, shop = _staff_shop(request, shop_slug)
    if request.method == "POST":
        post = request.POST
        source = post.get("source", Order.Source.PHONE)
        if source not in (Order.Source.PHONE, Order.Source.FAX, Order.Source.MANUAL):
            raise ValidationError(_("Unknown order source."))
        method = post.get("payment_method", "")
        placed_at = timezone.now()
        order = services.order_create(
            shop=shop,
            data=services.OrderInput(
                number=post.get("number", ""),
                placed_at=placed_at,
                payment_method=method,
                lines=_lines_from_text(post.get("lines", "")),
                source=source,
                address=services.AddressInput(
                    postal_code=post.get("postal_code", ""),
                    prefecture=post.get("prefecture", ""),
                    address1=post.get("address1", ""),
                    address2=post.get("address2", ""),
                    name=post.get("name", ""),
                    name_kana=post.get("name_kana", ""),
                    phone=post.get("phone", ""),
                ),
                shipping_fee=int(post.get("shipping_fee") or 0),
                payment_due_on=(
                    timezone.localdate() + dt.timedelta(days=7)
                    if method == PaymentMethod.BANK_TRANSFER
                    else None
                ),
                billing_name_kana=post.get("name_kana", ""),
                note=post.get("note", ""),
            ),
            actor_user=actor.user,
        )
        return HttpResponseRedirect(reverse("commerce:order", args=[shop.slug, order.number]))
    return render(
        request,
        "commerce/order_new.html",
        {"shop": shop, "payment_methods": PaymentMethod.choices},
    )


@login_required
def order_detail(request: HttpRequest, shop_slug: str, number: str) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    order = selectors.access_order(actor=actor, shop=shop, number=number)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "shipment":
            services.shipment_add(
                order=order,
                carrier=request.POST.get("carrier", ""),
                tracking_number=request.POST.get("tracking_number", ""),
                actor_user=actor.user,
            )
            messages.success(request, _("Shipment recorded."))
        elif action == "status":
            services.order_set_status(
                actor=actor, order=order, status=request.POST.get("status", "")
            )
            messages.success(request, _("Status changed."))
        elif action == "request":
            details = {
                key: request.POST.get(key, "").strip()
                for key in ("postal_code", "prefecture", "address1", "address2")
                if request.POST.get(key, "").strip()
            }
            services.order_request_create(
                actor=actor,
                order=order,
                kind=request.POST.get("kind", ""),
                reason=request.POST.get("reason", ""),
                details=details,
            )
            messages.success(request, _("Request recorded."))
        elif action == "notice":
            services.order_notice_send(order=order, kind=request.POST.get("kind", ""), actor=actor)
            messages.success(request, _("Notice recorded."))
        else:
            raise ValidationError(_("Unknown action."))
        return HttpResponseRedirect(request.path)
    return render(
        request,
        "commerce/order_detail.html",
        {
            "shop": shop,
            "order": order,
            "carriers": Carrier.choices,
            "statuses": order.Status.choices,
            "request_kinds": OrderRequest.Kind.choices,
            "notice_kinds": OrderNotice.Kind.choices,
        },
    )


@login_required
def order_import(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    if request.method == "POST":
        data, filename = _upload(request)
        profile = request.POST.get("profile", OrderImport.Profile.SHOPIFY)
        if profile not in OrderImport.Profile.values:
            raise ValidationError(_("Unknown import format."))
        mapping = {
            key[len("map_") :]: request.POST.get(key, "").strip()
            for key in request.POST
            if key.startswith("map_") and request.POST.get(key, "").strip()
        }
        created = OrderImport.objects.create(
            shop=shop,
            profile=profile,
            mapping=mapping,
            filename=filename[:255],
            content=data,
            created_by=actor.user,
        )
        enqueue_on_commit(run_order_import, shop.id, created.id)
        return HttpResponseRedirect(
            reverse("commerce:order_import_detail", args=[shop.slug, created.id])
        )
    return render(
        request,
        "commerce/order_import.html",
        {"shop": shop, "profiles": OrderImport.Profile.choices},
    )


@login_required
@require_GET
def order_import_detail(request: HttpRequest, shop_slug: str, import_id: int) -> HttpResponse:
    _, shop = _staff_shop(request, shop_slug)
    found = OrderImport.objects.filter(shop=shop, pk=import_id).first()
    if found is None:
        raise NotFoundError("Import not found")
    template = (
        "commerce/_import_progress.html"
        if getattr(request, "htmx", False)
        else "commerce/order_import_detail.html"
    )
    return render(request, template, {"shop": shop, "order_import": found})


@login_required
def deposit_import(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    if request.method == "POST":
        data, filename = _upload(request)
        file_format = request.POST.get("format", DepositImport.Format.ZENGIN)
        if file_format == DepositImport.Format.ZENGIN:
            result = deposit_services.deposits_import_zengin(
                shop=shop, data=data, filename=filename, actor_user=actor.user
            )
        elif file_format in DepositImport.Format.values:
            result = deposit_services.deposits_import_csv(
                shop=shop, data=data, filename=filename, profile=file_format, actor_user=actor.user
            )
        else:
            raise ValidationError(_("Unknown file format."))
        enqueue_on_commit(reconcile_deposits, shop.id)
        messages.success(
            request,
            _("%(created)d deposits imported, %(duplicates)d already known.")
            % {"created": result.created_count, "duplicates": result.duplicate_count},
        )
        return HttpResponseRedirect(reverse("commerce:review_queue", args=[shop.slug]))
    imports = DepositImport.objects.filter(shop=shop)[:20]
    return render(
        request,
        "commerce/deposit_import.html",
        {"shop": shop, "formats": DepositImport.Format.choices, "imports": imports},
    )


@login_required
@require_GET
def review_queue(request: HttpRequest, shop_slug: str) -> HttpResponse:
    _, shop = _staff_shop(request, shop_slug)
    items = selectors.review_queue(shop=shop)
    return render(request, "commerce/review_queue.html", {"shop": shop, "items": items})


@login_required
@require_POST
def deposit_decide(request: HttpRequest, shop_slug: str, deposit_id: int) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    deposit = selectors.access_deposit(actor=actor, shop=shop, deposit_id=deposit_id)
    if request.POST.get("action") == "dismiss":
        deposit_services.deposit_dismiss(actor=actor, deposit=deposit, note=_("not an order"))
        messages.success(request, _("Deposit set aside."))
    else:
        candidate = deposit.candidates.filter(pk=request.POST.get("candidate") or 0).first()
        if candidate is not None:
            order_ids = list(candidate.orders.values_list("id", flat=True))
            fee = candidate.fee_absorbed
        else:
            numbers = request.POST.get("order_numbers", "").replace("#", " ").split()
            order_ids = [
                selectors.access_order(actor=actor, shop=shop, number=number).id
                for number in numbers
            ]
            fee = 0
        with transaction.atomic():
            deposit_services.deposit_confirm(
                actor=actor, deposit=deposit, order_ids=order_ids, fee_absorbed=fee
            )
            if request.POST.get("notify"):
                for order in Order.objects.filter(shop=shop, id__in=order_ids):
                    services.order_notice_send(
                        order=order, kind=OrderNotice.Kind.PAYMENT_THANKS, actor=actor
                    )
        messages.success(request, _("Payment confirmed."))
    return HttpResponseRedirect(reverse("commerce:review_queue", args=[shop.slug]))


@login_required
@require_GET
def reminder_list(request: HttpRequest, shop_slug: str) -> HttpResponse:
    _, shop = _staff_shop(request, shop_slug)
    orders = selectors.reminder_list(shop=shop)
    return render(request, "commerce/reminder_list.html", {"shop": shop, "orders": orders})


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, token: str) -> HttpResponse:
    """Receive a platform webhook: 401 and nothing stored unless the signature holds."""
    raw_body = request.body
    with unscoped("webhook: the connection is found by its token before any shop scope"):
        connection = (
            CommerceConnection.objects.filter(token=token, is_active=True)
            .select_related("shop")
            .first()
        )
    if connection is None:
        return HttpResponse(status=404)
    headers = request.headers  # case-insensitive, as HTTP header names are
    if not verify(connection, raw_body, headers):
        return HttpResponse(status=401)
    with in_shop(connection.shop_id):
        delivery, created = delivery_store(
            connection=connection, raw_body=raw_body, headers=headers
        )
        if created:
            enqueue_on_commit(process_webhook_delivery, connection.shop_id, delivery.id)
    return HttpResponse(status=200)
