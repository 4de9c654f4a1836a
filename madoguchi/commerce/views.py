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
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.commerce import deposits as deposit_services
from madoguchi.commerce import selectors, services, ticket_orders
from madoguchi.commerce.carriers import Carrier
from madoguchi.commerce.forms import (
    DepositApplyForm,
    DepositImportForm,
    OrderEntryForm,
    OrderImportForm,
    OrderRequestForm,
    ShipmentForm,
)
from madoguchi.commerce.imports.orders_csv import import_error_rows, order_import_create
from madoguchi.commerce.models import (
    CommerceConnection,
    Deposit,
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
from madoguchi.conversations.selectors import access_ticket
from madoguchi.core.errors import NotFoundError, ValidationError
from madoguchi.core.service_forms import service_errors_flashed, service_errors_on
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped


def _staff_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    selectors.require_commerce_staff(actor=actor, shop=shop)
    return actor, shop


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


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Enter a phone or fax order (受発注); a refusal keeps what was typed."""
    actor, shop = _staff_shop(request, shop_slug)
    form = OrderEntryForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        data = form.cleaned_data
        method = data["payment_method"]
        with service_errors_on(form):
            order = services.order_create(
                shop=shop,
                data=services.OrderInput(
                    number=data["number"],
                    placed_at=timezone.now(),
                    payment_method=method,
                    lines=data["lines"],
                    source=data["source"],
                    address=services.AddressInput(
                        postal_code=data["postal_code"],
                        prefecture=data["prefecture"],
                        address1=data["address1"],
                        address2=data["address2"],
                        name=data["name"],
                        name_kana=data["name_kana"],
                        phone=data["phone"],
                    ),
                    shipping_fee=data["shipping_fee"] or 0,
                    payment_due_on=(
                        timezone.localdate() + dt.timedelta(days=7)
                        if method == PaymentMethod.BANK_TRANSFER
                        else None
                    ),
                    billing_name_kana=data["name_kana"],
                    note=data["note"],
                ),
                actor_user=actor.user,
            )
            return HttpResponseRedirect(reverse("commerce:order", args=[shop.slug, order.number]))
    return render(request, "commerce/order_new.html", {"shop": shop, "form": form})


def _int(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise NotFoundError("Not found") from None


def _flash_notice(request: HttpRequest, notice: OrderNotice) -> None:
    """Say whether the notice went out, and where, or why it was only stored."""
    if notice.message is not None:
        ticket = notice.message.ticket
        messages.success(
            request,
            _("Notice for order %(order)s sent as a reply on ticket %(ticket)s.")
            % {"order": notice.order.number, "ticket": ticket.reference},
        )
    else:
        messages.warning(
            request,
            _("Notice for order %(order)s stored, not sent: %(reason)s")
            % {"order": notice.order.number, "reason": notice.get_unsent_reason_display()},
        )


@login_required
def order_detail(request: HttpRequest, shop_slug: str, number: str) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    order = selectors.access_order(actor=actor, shop=shop, number=number)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    # Only the form that was sent is bound: its refusal is shown on it, with what was typed.
    shipment_form = ShipmentForm(request.POST if action == "shipment" else None)
    request_form = OrderRequestForm(request.POST if action == "request" else None)
    if action == "shipment":
        if shipment_form.is_valid():
            with service_errors_on(shipment_form):
                services.shipment_add(
                    order=order,
                    carrier=shipment_form.cleaned_data["carrier"],
                    tracking_number=shipment_form.cleaned_data["tracking_number"],
                    actor_user=actor.user,
                )
                messages.success(request, _("Shipment recorded."))
                return HttpResponseRedirect(request.path)
    elif action == "request":
        if request_form.is_valid():
            with service_errors_on(request_form):
                services.order_request_create(
                    actor=actor,
                    order=order,
                    kind=request_form.cleaned_data["kind"],
                    reason=request_form.cleaned_data["reason"],
                    details=request_form.details(),
                )
                messages.success(request, _("Request recorded."))
                return HttpResponseRedirect(request.path)
    elif request.method == "POST":
        # A button without inputs to keep: a refusal is shown on the page it returns to.
        with service_errors_flashed(request):
            if action == "status":
                services.order_set_status(
                    actor=actor, order=order, status=request.POST.get("status", "")
                )
                messages.success(request, _("Status changed."))
            elif action == "notice":
                notice = ticket_orders.order_notice_send(
                    order=order, kind=request.POST.get("kind", ""), actor=actor
                )
                _flash_notice(request, notice)
            elif action == "link_confirm":
                ticket = access_ticket(
                    actor=actor, shop_slug=shop.slug, number=_int(request.POST.get("ticket"))
                )
                ticket_orders.ticket_order_link_confirm(actor=actor, ticket=ticket, order=order)
                messages.success(
                    request,
                    _("Order %(order)s confirmed as the order of ticket %(ticket)s.")
                    % {"order": order.number, "ticket": ticket.reference},
                )
                return HttpResponseRedirect(
                    reverse("conversations:ticket", args=[shop.slug, ticket.number])
                )
            else:
                raise ValidationError(gettext_noop("Unknown action."))
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
            "notice_destination": ticket_orders.notice_destination(order),
            "shipment_form": shipment_form,
            "request_form": request_form,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def order_import(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    form = OrderImportForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if form.is_valid():
        upload = form.cleaned_data["file"]
        with service_errors_on(form):
            created = order_import_create(
                actor=actor,
                shop=shop,
                profile=form.cleaned_data["profile"],
                mapping=form.mapping(),
                filename=upload.name or "upload",
                data=upload.read(),
            )
            enqueue_on_commit(run_order_import, shop.id, created.id)
            return HttpResponseRedirect(
                reverse("commerce:order_import_detail", args=[shop.slug, created.id])
            )
    return render(request, "commerce/order_import.html", {"shop": shop, "form": form})


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
    context = {"shop": shop, "order_import": found, "error_rows": import_error_rows(found)}
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def deposit_import(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    form = DepositImportForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if form.is_valid():
        upload = form.cleaned_data["file"]
        data, filename = upload.read(), upload.name or "upload"
        file_format = form.cleaned_data["format"]
        # The services refuse their `data`: the form's file.
        with service_errors_on(form, fields={"data": "file"}):
            if file_format == DepositImport.Format.ZENGIN:
                result = deposit_services.deposits_import_zengin(
                    shop=shop, data=data, filename=filename, actor_user=actor.user
                )
            else:
                result = deposit_services.deposits_import_csv(
                    shop=shop,
                    data=data,
                    filename=filename,
                    profile=file_format,
                    actor_user=actor.user,
                )
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
        {"shop": shop, "form": form, "imports": imports},
    )


def _review_page(
    request: HttpRequest,
    shop: Shop,
    *,
    apply_form: DepositApplyForm | None = None,
    apply_deposit_id: int | None = None,
) -> HttpResponse:
    items = selectors.review_queue(shop=shop)
    context = {
        "shop": shop,
        "items": items,
        # While the reconciler runs, the page shows its progress and polls itself (htmx).
        "matching": deposit_services.deposit_matching_progress(shop=shop),
        "apply_form": apply_form,
        "apply_deposit_id": apply_deposit_id,
    }
    return render(request, "commerce/review_queue.html", context)


@login_required
@require_GET
def review_queue(request: HttpRequest, shop_slug: str) -> HttpResponse:
    _, shop = _staff_shop(request, shop_slug)
    return _review_page(request, shop)


def _typed_order_id(actor: Actor, shop: Shop, number: str) -> int:
    try:
        return selectors.access_order(actor=actor, shop=shop, number=number).id
    except NotFoundError:
        raise ValidationError(
            gettext_noop("There is no order %(number)s in this shop."),
            extra={"number": number},
            field="order_numbers",
        ) from None


def _deposit_apply(
    request: HttpRequest, actor: Actor, shop: Shop, deposit: Deposit, order_ids: list[int], fee: int
) -> None:
    with transaction.atomic():
        deposit_services.deposit_confirm(
            actor=actor, deposit=deposit, order_ids=order_ids, fee_absorbed=fee
        )
        notices = [
            ticket_orders.order_notice_send(
                order=order, kind=OrderNotice.Kind.PAYMENT_THANKS, actor=actor
            )
            for order in Order.objects.filter(shop=shop, id__in=order_ids)
            if request.POST.get("notify")
        ]
    messages.success(request, _("Payment confirmed."))
    for notice in notices:
        _flash_notice(request, notice)


@login_required
@require_POST
def deposit_decide(request: HttpRequest, shop_slug: str, deposit_id: int) -> HttpResponse:
    """Confirm a suggested match, apply the deposit to typed order numbers, or set it aside;
    a refusal is shown on the review page, the typed numbers kept."""
    actor, shop = _staff_shop(request, shop_slug)
    deposit = selectors.access_deposit(actor=actor, shop=shop, deposit_id=deposit_id)
    review_url = reverse("commerce:review_queue", args=[shop.slug])
    if request.POST.get("action") == "dismiss":
        with service_errors_flashed(request):
            deposit_services.deposit_dismiss(actor=actor, deposit=deposit, note=_("not an order"))
            messages.success(request, _("Deposit set aside."))
        return HttpResponseRedirect(review_url)
    candidate = deposit.candidates.filter(pk=request.POST.get("candidate") or 0).first()
    if candidate is not None:
        with service_errors_flashed(request):
            order_ids = list(candidate.orders.values_list("id", flat=True))
            _deposit_apply(request, actor, shop, deposit, order_ids, candidate.fee_absorbed)
        return HttpResponseRedirect(review_url)
    form = DepositApplyForm(request.POST)
    if form.is_valid():
        with service_errors_on(form, fields={"order_ids": "order_numbers"}):
            order_ids = [
                _typed_order_id(actor, shop, number)
                for number in form.cleaned_data["order_numbers"]
            ]
            _deposit_apply(request, actor, shop, deposit, order_ids, 0)
            return HttpResponseRedirect(review_url)
    return _review_page(request, shop, apply_form=form, apply_deposit_id=deposit.id)


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
