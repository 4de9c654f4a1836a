"""Privacy pages: the shop's retention policy and its runs, and a customer's APPI requests
(export as JSON or a readable page, erasure with confirmation, the erasure record).

Only the shop's supervisors and admins use them: strangers to the shop get 404 (`access_shop`,
`access_customer`), its other staff and its client 403.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.core.client_address import client_address
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.service_forms import service_errors_on
from madoguchi.customers.models import Customer
from madoguchi.customers.selectors import access_customer
from madoguchi.privacy.erasure import CONFIRMATION_WORD, COUNT_LABELS
from madoguchi.privacy.forms import ErasureForm, RetentionPolicyForm
from madoguchi.privacy.models import RetentionPolicy
from madoguchi.privacy.selectors import (
    access_erasure,
    retention_policy,
    retention_runs,
)
from madoguchi.privacy.services import (
    customer_erase,
    customer_export_record,
    erasure_verify,
    retention_policy_save,
)
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop


def _lead_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(
            gettext_noop("Only a supervisor or admin may manage personal data.")
        )
    return actor, shop


def _lead_customer(request: HttpRequest, shop_slug: str, pk: int) -> tuple[Actor, Shop, Customer]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    customer = access_customer(actor=actor, shop_id=shop.id, customer_id=pk)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(
            gettext_noop("Only a supervisor or admin may manage personal data.")
        )
    return actor, shop, customer


@login_required
@require_http_methods(["GET", "POST"])
def retention(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Edit the shop's retention policy and read the reports of its runs."""
    actor, shop = _lead_shop(request, shop_slug)
    current = retention_policy(shop_id=shop.id) or RetentionPolicy(shop=shop)
    status = 200
    if request.method == "POST":
        form = RetentionPolicyForm(request.POST, instance=RetentionPolicy(shop=shop))
        if form.is_valid():
            with service_errors_on(form):
                retention_policy_save(
                    actor=actor,
                    shop=shop,
                    is_enabled=form.cleaned_data["is_enabled"],
                    closed_ticket_years=form.cleaned_data["closed_ticket_years"],
                    raw_payload_days=form.cleaned_data["raw_payload_days"],
                )
                messages.success(request, gettext("The retention policy was saved."))
                return redirect("privacy:retention", shop_slug=shop.slug)
        status = 400
    else:
        form = RetentionPolicyForm(instance=current)
    return render(
        request,
        "privacy/retention.html",
        {
            "shop": shop,
            "form": form,
            "current": current,
            "runs": list(retention_runs(shop_id=shop.id)),
        },
        status=status,
    )


@login_required
@require_GET
def customer_export_json(request: HttpRequest, shop_slug: str, pk: int) -> HttpResponse:
    """Download everything held on the customer as JSON (audited)."""
    actor, shop, customer = _lead_customer(request, shop_slug, pk)
    data = customer_export_record(
        actor=actor, customer=customer, format="json", ip_address=client_address(request)
    )
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    filename = f"customer-{shop.slug}-{customer.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def customer_export_page(request: HttpRequest, shop_slug: str, pk: int) -> HttpResponse:
    """Show everything held on the customer as a page to print or save (audited)."""
    actor, shop, customer = _lead_customer(request, shop_slug, pk)
    data = customer_export_record(
        actor=actor, customer=customer, format="html", ip_address=client_address(request)
    )
    return render(
        request, "privacy/export.html", {"shop": shop, "customer": customer, "data": data}
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_erase_view(request: HttpRequest, shop_slug: str, pk: int) -> HttpResponse:
    """Ask for the reason and a typed confirmation, then erase the customer's data."""
    actor, shop, customer = _lead_customer(request, shop_slug, pk)
    status = 200
    if request.method == "POST":
        form = ErasureForm(request.POST)
        if form.is_valid():
            with service_errors_on(form):
                erasure = customer_erase(
                    actor=actor,
                    customer=customer,
                    reason=form.cleaned_data["reason"],
                    confirmation=form.cleaned_data["confirmation"],
                )
                messages.success(request, gettext("The customer's personal data was erased."))
                return redirect("privacy:erasure", shop_slug=shop.slug, erasure_id=erasure.pk)
        status = 400
    else:
        form = ErasureForm()
    return render(
        request,
        "privacy/erase.html",
        {"shop": shop, "customer": customer, "form": form, "word": CONFIRMATION_WORD},
        status=status,
    )


@login_required
@require_GET
def erasure_detail(request: HttpRequest, shop_slug: str, erasure_id: int) -> HttpResponse:
    """Show an erasure record: who, when, why, the counts, the digest, the last verification."""
    actor, shop = _lead_shop(request, shop_slug)
    erasure = access_erasure(actor=actor, shop_id=shop.id, erasure_id=erasure_id)
    counts = [
        (label, erasure.counts.get(kind, 0))
        for kind, label in COUNT_LABELS.items()
        if kind in erasure.counts
    ]
    return render(
        request, "privacy/erasure.html", {"shop": shop, "erasure": erasure, "counts": counts}
    )


@login_required
@require_POST
def erasure_verify_view(request: HttpRequest, shop_slug: str, erasure_id: int) -> HttpResponse:
    """Check again that nothing of the erased customer remains."""
    actor, shop = _lead_shop(request, shop_slug)
    erasure = access_erasure(actor=actor, shop_id=shop.id, erasure_id=erasure_id)
    erasure = erasure_verify(erasure=erasure)
    if erasure.is_verified:
        messages.success(request, gettext("Nothing of the customer remains."))
    else:
        messages.error(request, gettext("Some data of the customer remains."))
    return redirect("privacy:erasure", shop_slug=shop.slug, erasure_id=erasure.pk)
