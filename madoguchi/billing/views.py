"""Billing pages: the agency's contracts, invoices and settings (admins change, supervisors
read), a shop's usage and invoices (its client and the agency's leads), the cost simulator
(every signed-in person). Another agency's contract or invoice is a 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.billing import documents, selectors, services
from madoguchi.billing.forms import (
    BillingSettingsForm,
    ContractForm,
    CreditNoteForm,
    DraftForm,
    TermsChangeForm,
)
from madoguchi.billing.menu import agency_lead_workspace_ids, sees_shop_billing
from madoguchi.billing.models import BillingSettings, Invoice
from madoguchi.billing.pricing import CHANNEL_ORDER
from madoguchi.billing.simulator import (
    FixedPlan,
    Forecast,
    InHouse,
    MeteredPlan,
    compare,
    compare_quotes,
)
from madoguchi.core.client_address import client_address
from madoguchi.core.errors import ConflictError, NotFoundError
from madoguchi.core.service_forms import error_text, service_errors_on
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Membership, Workspace


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _lead_workspaces(actor: Actor) -> list[int]:
    ids = agency_lead_workspace_ids(actor)
    if not ids:
        raise NotFoundError("Not found")
    return ids


def _is_admin(actor: Actor, workspace_id: int) -> bool:
    return actor.workspace_roles.get(workspace_id) == Membership.Role.ADMIN


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The agency's contracts and invoices."""
    actor = _actor(request)
    workspace_ids = _lead_workspaces(actor)
    return render(
        request,
        "billing/home.html",
        {
            "contracts": selectors.agency_contracts(workspace_ids),
            "invoices": selectors.agency_invoices(workspace_ids)[:100],
            "is_admin": any(_is_admin(actor, ws) for ws in workspace_ids),
            "workspaces": Workspace.objects.filter(id__in=workspace_ids).order_by("name"),
            "settings_missing": not BillingSettings.objects.filter(
                workspace_id__in=workspace_ids
            ).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """The agency's issuer details (name, registration number, rounding, auto-issue)."""
    actor = _actor(request)
    if workspace_id not in _lead_workspaces(actor):
        raise NotFoundError("Not found")
    workspace = Workspace.objects.get(pk=workspace_id)
    current = services.billing_settings_of(workspace.id)
    form = BillingSettingsForm(
        request.POST or None, instance=current or BillingSettings(workspace=workspace)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with service_errors_on(form):
                services.billing_settings_save(
                    actor=actor, workspace=workspace, **form.cleaned_data
                )
                messages.success(request, gettext("Saved."))
                return redirect("billing:settings", workspace.id)
        status = 400
    return render(
        request,
        "billing/settings.html",
        {"form": form, "can_edit": _is_admin(actor, workspace.id), "workspace": workspace},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def contract_new(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    workspace_ids = _lead_workspaces(actor)
    form = ContractForm(request.POST or None, workspace_ids=workspace_ids)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with service_errors_on(form):
                data = form.cleaned_data
                contract = services.contract_create(
                    actor=actor,
                    engagement=data["engagement"],
                    name=data["name"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    minimum_term_months=data["minimum_term_months"],
                    terms=form.terms_input(),
                )
                return redirect("billing:contract", contract.pk)
        status = 400
    return render(request, "billing/contract_form.html", {"form": form}, status=status)


def _contract_page(
    request: HttpRequest,
    contract_id: int,
    *,
    terms_form: Any = None,
    draft_form: Any = None,
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    contract = selectors.access_contract(actor=actor, contract_id=contract_id)
    return render(
        request,
        "billing/contract.html",
        {
            "contract": contract,
            "history": selectors.contract_terms_history(contract),
            "invoices": contract.invoices.all(),
            "is_admin": _is_admin(actor, contract.workspace_id),
            "terms_form": terms_form or TermsChangeForm(),
            "draft_form": draft_form or DraftForm(),
            "channels": CHANNEL_ORDER,
        },
        status=status,
    )


@login_required
@require_GET
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    return _contract_page(request, contract_id)


@login_required
@require_POST
def contract_terms(request: HttpRequest, contract_id: int) -> HttpResponse:
    actor = _actor(request)
    contract = selectors.access_contract(actor=actor, contract_id=contract_id)
    form = TermsChangeForm(request.POST)
    if form.is_valid():
        with service_errors_on(form):
            services.contract_terms_change(
                actor=actor,
                contract=contract,
                effective_from=form.cleaned_data["effective_from"],
                terms=form.terms_input(),
            )
            messages.success(request, gettext("The new prices are saved."))
            return redirect("billing:contract", contract.pk)
    return _contract_page(request, contract_id, terms_form=form, status=400)


@login_required
@require_POST
def contract_draft(request: HttpRequest, contract_id: int) -> HttpResponse:
    actor = _actor(request)
    contract = selectors.access_contract(actor=actor, contract_id=contract_id)
    form = DraftForm(request.POST)
    if form.is_valid():
        with service_errors_on(form):
            invoice = services.invoice_draft(
                contract=contract, month=form.cleaned_data["month"], actor=actor
            )
            if invoice is None:
                messages.info(request, gettext("The contract does not cover that month."))
                return redirect("billing:contract", contract.pk)
            return redirect("billing:invoice", invoice.pk)
    return _contract_page(request, contract_id, draft_form=form, status=400)


@login_required
@require_GET
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = _actor(request)
    invoice = selectors.access_invoice(actor=actor, invoice_id=invoice_id)
    return render(
        request,
        "billing/invoice.html",
        {
            **documents.invoice_context(invoice),
            "is_admin": _is_admin(actor, invoice.workspace_id),
            "credit_form": CreditNoteForm(),
            "credit_notes": invoice.credit_notes.all(),
        },
    )


@login_required
@require_POST
def invoice_issue_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = _actor(request)
    invoice = selectors.access_invoice(actor=actor, invoice_id=invoice_id)
    try:
        invoice = services.invoice_issue(invoice=invoice, actor=actor)
    except ConflictError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, gettext("Issued as %(number)s.") % {"number": invoice.number})
    return redirect("billing:invoice", invoice.pk)


@login_required
@require_POST
def invoice_discard_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = _actor(request)
    invoice = selectors.access_invoice(actor=actor, invoice_id=invoice_id)
    contract_id = invoice.contract_id
    services.invoice_discard(actor=actor, invoice=invoice)
    return redirect("billing:contract", contract_id)


@login_required
@require_POST
def credit_note_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = _actor(request)
    invoice = selectors.access_invoice(actor=actor, invoice_id=invoice_id)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        try:
            note = services.credit_note_issue(
                actor=actor, invoice=invoice, reason=form.cleaned_data["reason"]
            )
        except ConflictError as error:
            messages.error(request, error_text(error))
        else:
            return redirect("billing:invoice", note.pk)
    return redirect("billing:invoice", invoice.pk)


def _pdf_response(invoice: Invoice) -> HttpResponse:
    response = HttpResponse(documents.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{documents.invoice_filename(invoice)}"'
    )
    return response


@login_required
@require_GET
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.access_invoice(actor=_actor(request), invoice_id=invoice_id)
    return _pdf_response(invoice)


@login_required
@require_GET
def invoices_csv(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """An agency's issued invoices and credit notes for accounting software (?encoding=cp932,
    ?month=YYYY-MM)."""
    actor = _actor(request)
    if workspace_id not in _lead_workspaces(actor):
        raise NotFoundError("Not found")
    workspace_ids = [workspace_id]
    encoding = request.GET.get("encoding", "utf-8")
    if encoding not in documents.CSV_ENCODINGS:
        encoding = "utf-8"
    invoices = selectors.agency_invoices(workspace_ids).issued().order_by("sequence")
    month = request.GET.get("month", "")
    if month:
        try:
            first = dt.date.fromisoformat(f"{month}-01")
        except ValueError:
            first = None
        if first is not None:
            invoices = invoices.filter(period_start=first)
    rows = list(invoices)
    record(
        actor=actor.user,
        action=actions.BILLING_INVOICES_EXPORTED,
        changes={
            "workspaces": workspace_ids,
            "month": month,
            "encoding": encoding,
            "rows": len(rows),
        },
        ip_address=client_address(request),
    )
    charset = "shift_jis" if encoding == "cp932" else "utf-8"
    response = HttpResponse(
        documents.invoices_csv(rows, encoding=encoding), content_type=f"text/csv; charset={charset}"
    )
    response["Content-Disposition"] = 'attachment; filename="invoices.csv"'
    return response


@login_required
@require_GET
def shop_billing(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """A shop's usage so far this month, its alerts and its issued invoices."""
    actor = _actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    if not sees_shop_billing(actor, shop.id):
        raise NotFoundError("Not found")
    return render(
        request,
        "billing/shop.html",
        {
            "shop": shop,
            "usages": selectors.shop_usage(shop=shop),
            "alerts": selectors.shop_alerts(shop=shop),
            "invoices": selectors.shop_invoices(shop=shop),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_GET
def shop_invoice_pdf(request: HttpRequest, shop_slug: str, invoice_id: int) -> HttpResponse:
    actor = _actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    invoice = selectors.access_shop_invoice(actor=actor, shop=shop, invoice_id=invoice_id)
    return _pdf_response(invoice)


# --- simulator ---------------------------------------------------------------------------------

SIMULATOR_CHANNELS = ("email", "chat", "phone", "line")
SIMULATOR_DEFAULTS: dict[str, str] = {
    "contacts_email": "600",
    "contacts_chat": "250",
    "contacts_phone": "150",
    "contacts_line": "0",
    "minutes_email": "8",
    "minutes_chat": "10",
    "minutes_phone": "12",
    "minutes_line": "6",
    "coverage_hours": "220",
    "fixed_fee": "150000",
    "fixed_included": "800",
    "fixed_overage": "180",
    "rate_email": "160",
    "rate_chat": "200",
    "rate_phone": "300",
    "rate_line": "150",
    "metered_fee": "0",
    "salary": "250000",
    "overhead": "0.15",
    "tools": "10000",
    "hiring": "300000",
    "training_hours": "80",
    "working_hours": "160",
    "productive_share": "0.7",
    "amortization_months": "12",
}
QUOTE_SERVICES = (
    "email",
    "chat",
    "phone",
    "line",
    "weekends",
    "technical",
    "english",
    "reports",
)


def _decimal(data: Mapping[str, Any], key: str) -> Decimal:
    try:
        value = Decimal(data.get(key) or SIMULATOR_DEFAULTS.get(key, "0"))
    except InvalidOperation:
        value = Decimal(SIMULATOR_DEFAULTS.get(key, "0"))
    return max(value, Decimal(0))


def _channel_label(channel: str) -> str:
    from madoguchi.conversations.models import Channel

    return str(Channel(channel).label)


def _service_labels() -> dict[str, str]:
    return {
        "email": gettext("Email"),
        "chat": gettext("Chat"),
        "phone": gettext("Phone"),
        "line": "LINE",
        "weekends": gettext("Weekends and holidays"),
        "technical": gettext("Technical support"),
        "english": gettext("English support"),
        "reports": gettext("Monthly reports"),
    }


def _quotes(data: Any) -> tuple[list[str], dict[str, tuple[int, dict[str, int | None]]]]:
    needed = [name for name in QUOTE_SERVICES if data.get(f"need_{name}")]
    quotes: dict[str, tuple[int, dict[str, int | None]]] = {}
    for index in range(3):
        vendor = (data.get(f"quote_{index}_vendor") or "").strip()[:100]
        if not vendor:
            continue
        price = int(_decimal(data, f"quote_{index}_price"))
        services_offered: dict[str, int | None] = {}
        for name in QUOTE_SERVICES:
            state = data.get(f"quote_{index}_{name}", "")
            if state == "included":
                services_offered[name] = None
            elif state == "option":
                services_offered[name] = int(_decimal(data, f"quote_{index}_{name}_price"))
        quotes[vendor] = (price, services_offered)
    return needed, quotes


@login_required
@require_GET
def simulator(request: HttpRequest) -> HttpResponse:
    """Compare a fixed plan, a metered plan and in-house staffing for a forecast, and vendors'
    quotes against the services needed. Nothing is stored: the inputs live in the URL."""
    data = {**SIMULATOR_DEFAULTS, **{key: value for key, value in request.GET.items() if value}}
    forecast = Forecast(
        contacts_by_channel={c: int(_decimal(data, f"contacts_{c}")) for c in SIMULATOR_CHANNELS},
        handle_minutes_by_channel={c: _decimal(data, f"minutes_{c}") for c in SIMULATOR_CHANNELS},
        coverage_hours_per_month=_decimal(data, "coverage_hours"),
    )
    staff = InHouse(
        monthly_salary=int(_decimal(data, "salary")),
        overhead_rate=_decimal(data, "overhead"),
        tools_per_agent=int(_decimal(data, "tools")),
        hiring_cost_per_agent=int(_decimal(data, "hiring")),
        training_hours_per_agent=_decimal(data, "training_hours"),
        working_hours_per_agent=_decimal(data, "working_hours") or Decimal(160),
        productive_share=_decimal(data, "productive_share") or Decimal("0.7"),
        amortization_months=int(_decimal(data, "amortization_months")) or 12,
    )
    comparison = compare(
        forecast=forecast,
        fixed=FixedPlan(
            monthly_fee=int(_decimal(data, "fixed_fee")),
            included_contacts=int(_decimal(data, "fixed_included")),
            overage_rate=_decimal(data, "fixed_overage"),
        ),
        metered=MeteredPlan(
            rates_by_channel={c: _decimal(data, f"rate_{c}") for c in SIMULATOR_CHANNELS},
            monthly_fee=int(_decimal(data, "metered_fee")),
        ),
        staff=staff,
    )
    needed, quotes = _quotes(request.GET)
    channel_labels = {c: _channel_label(c) for c in SIMULATOR_CHANNELS}
    groups = [
        (
            gettext("Forecast per month (contacts)"),
            [
                (f"contacts_{c}", channel_labels[c], data[f"contacts_{c}"])
                for c in SIMULATOR_CHANNELS
            ],
        ),
        (
            gettext("Minutes per contact"),
            [(f"minutes_{c}", channel_labels[c], data[f"minutes_{c}"]) for c in SIMULATOR_CHANNELS],
        ),
        (
            gettext("Coverage"),
            [
                (
                    "coverage_hours",
                    gettext("Hours the shop must be answered per month"),
                    data["coverage_hours"],
                ),
            ],
        ),
        (
            gettext("Fixed plan"),
            [
                ("fixed_fee", gettext("Monthly fee (yen)"), data["fixed_fee"]),
                ("fixed_included", gettext("Contacts included"), data["fixed_included"]),
                ("fixed_overage", gettext("Overage per contact (yen)"), data["fixed_overage"]),
            ],
        ),
        (
            gettext("Per-contact plan"),
            [
                *((f"rate_{c}", channel_labels[c], data[f"rate_{c}"]) for c in SIMULATOR_CHANNELS),
                ("metered_fee", gettext("Monthly base fee (yen)"), data["metered_fee"]),
            ],
        ),
        (
            gettext("In-house staff"),
            [
                ("salary", gettext("Monthly salary per person (yen)"), data["salary"]),
                (
                    "overhead",
                    gettext("Social insurance and benefits (share, 0.15 = 15%)"),
                    data["overhead"],
                ),
                ("tools", gettext("Tools per person per month (yen)"), data["tools"]),
                ("hiring", gettext("Hiring cost per person (yen)"), data["hiring"]),
                (
                    "training_hours",
                    gettext("Onboarding and training hours per person"),
                    data["training_hours"],
                ),
                (
                    "working_hours",
                    gettext("Working hours per person per month"),
                    data["working_hours"],
                ),
                (
                    "productive_share",
                    gettext("Share of hours spent on contacts (0.7 = 70%)"),
                    data["productive_share"],
                ),
                (
                    "amortization_months",
                    gettext("Spread hiring and training over (months)"),
                    data["amortization_months"],
                ),
            ],
        ),
    ]
    quote_forms = [
        {
            "index": index,
            "number": index + 1,
            "vendor": request.GET.get(f"quote_{index}_vendor", ""),
            "price": request.GET.get(f"quote_{index}_price", ""),
            "services": [
                {
                    "name": name,
                    "label": label,
                    "state": request.GET.get(f"quote_{index}_{name}", ""),
                    "price": request.GET.get(f"quote_{index}_{name}_price", ""),
                }
                for name, label in _service_labels().items()
            ],
        }
        for index in range(3)
    ]
    labels = _service_labels()
    findings = compare_quotes(needed=needed, quotes=quotes)
    return render(
        request,
        "billing/simulator.html",
        {
            "groups": groups,
            "quote_forms": quote_forms,
            "service_needs": [
                (name, label, name in needed) for name, label in _service_labels().items()
            ],
            "comparison": comparison,
            "chart": _chart(comparison),
            "services": [(name, labels[name]) for name in QUOTE_SERVICES],
            "findings": findings,
        },
    )


def _chart(comparison: Any) -> dict[str, Any]:
    """Polyline points of the three cost curves in a 600x260 SVG box."""
    curve = comparison.curve
    if not curve:
        return {}
    width, height, pad = 600, 260, 30
    top_volume = curve[-1][0] or 1
    top_cost = max(max(point[1:]) for point in curve) or 1

    def points(index: int) -> str:
        return " ".join(
            f"{pad + (v[0] * (width - 2 * pad)) // top_volume},"
            f"{height - pad - (v[index] * (height - 2 * pad)) // top_cost}"
            for v in curve
        )

    marker = pad + (comparison.volume * (width - 2 * pad)) // top_volume
    return {
        "width": width,
        "height": height,
        "fixed": points(1),
        "metered": points(2),
        "in_house": points(3),
        "marker_x": marker,
        "top_cost": top_cost,
        "top_volume": top_volume,
    }
