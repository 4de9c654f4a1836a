"""The customer pages of the operator UI: the customer page and the customer picker."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

# The customer page lists the customer's tickets: a read through the conversations selectors,
# the one place where this app looks at tickets.
from madoguchi.conversations.selectors import customer_tickets
from madoguchi.core.client_address import client_address
from madoguchi.core.service_forms import service_errors_on
from madoguchi.customers.forms import CustomerNoteForm, RevealForm
from madoguchi.customers.masking import identity_masked, sees_contacts
from madoguchi.customers.models import Customer
from madoguchi.customers.panels import customer_panels
from madoguchi.customers.selectors import access_customer, customer_search
from madoguchi.customers.services import (
    customer_note_update,
    customer_pii_reveal,
    customer_view_record,
    customers_search_record,
)
from madoguchi.tenancy.access import Actor, access_shop, require_staff
from madoguchi.tenancy.models import Shop

PICKER_LIMIT = 10
MAX_QUERY_CHARS = 100


@login_required
@require_GET
def customer_detail(request: HttpRequest, shop_slug: str, pk: int) -> HttpResponse:
    """Show a customer: contact identities, memo, every ticket they opened in the shop (with
    its channel) and the panels other apps add (their orders)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    customer = access_customer(actor=actor, shop_id=shop.id, customer_id=pk)
    customer_view_record(
        actor=actor, shop=shop, customer=customer, ip_address=client_address(request)
    )
    return _render_detail(request, actor, shop, customer)


@login_required
@require_POST
def customer_reveal(request: HttpRequest, shop_slug: str, pk: int) -> HttpResponse:
    """Show the customer's masked contacts once, for a reason that is audited; the page it
    answers shows them, a reload masks them again."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    customer = access_customer(actor=actor, shop_id=shop.id, customer_id=pk)
    form = RevealForm(request.POST)
    if form.is_valid():
        with service_errors_on(form):
            customer_pii_reveal(
                actor=actor,
                shop=shop,
                customer=customer,
                reason=form.cleaned_data["reason"],
                ip_address=client_address(request),
            )
            return _render_detail(request, actor, shop, customer, is_revealed=True)
    return _render_detail(request, actor, shop, customer, reveal_form=form, status=400)


@login_required
@require_POST
def customer_note_edit(request: HttpRequest, shop_slug: str, pk: int) -> HttpResponse:
    """Save the staff's memo on a customer (staff of the shop; clients only read it)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    customer = access_customer(actor=actor, shop_id=shop.id, customer_id=pk)
    require_staff(actor=actor, shop_id=shop.id)
    form = CustomerNoteForm(request.POST)
    if form.is_valid():
        with service_errors_on(form):
            customer_note_update(actor=actor, customer=customer, note=form.cleaned_data["note"])
            messages.success(request, gettext("The memo was saved."))
            return redirect("customers:detail", shop_slug=shop.slug, pk=customer.pk)
    return _render_detail(request, actor, shop, customer, note_form=form, status=400)


def _render_detail(
    request: HttpRequest,
    actor: Actor,
    shop: Shop,
    customer: Customer,
    *,
    note_form: CustomerNoteForm | None = None,
    reveal_form: RevealForm | None = None,
    is_revealed: bool = False,
    status: int = 200,
) -> HttpResponse:
    is_staff = actor.is_staff_for(shop.id)
    if note_form is None and is_staff:
        note_form = CustomerNoteForm(initial={"note": customer.note})
    shows_contacts = is_revealed or sees_contacts(actor, shop.id)
    identities = [
        (identity, identity.display_value if shows_contacts else identity_masked(identity))
        for identity in customer.identities.all()
    ]
    return render(
        request,
        "customers/detail.html",
        {
            "shop": shop,
            "customer": customer,
            "identities": identities,
            "shows_contacts": shows_contacts,
            "is_revealed": is_revealed,
            "reveal_form": reveal_form or RevealForm(),
            "tickets": list(customer_tickets(customer_id=customer.id, shop_id=shop.id)),
            "is_staff": is_staff,
            "note_form": note_form if is_staff else None,
            "panels": _panels_html(request, actor, customer),
        },
        status=status,
    )


def _panels_html(request: HttpRequest, actor: Actor, customer: Customer) -> SafeString:
    """The other apps' sections of the page, each rendered by its own template."""
    return format_html_join(
        "\n",
        '<div class="panel customer-panel" data-panel="{}">{}</div>',
        (
            (panel.key, render_to_string(panel.template, dict(panel.context), request=request))
            for panel in customer_panels(actor=actor, customer=customer)
        ),
    )


@login_required
@require_GET
def customer_picker(request: HttpRequest) -> HttpResponse:
    """Find a shop's customers by name, kana, email or phone, to open a ticket for one.

    `?shop=<slug>&q=<text>`; htmx gets the result list, a plain request the whole page.
    """
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=request.GET.get("shop", ""))
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    customers = list(
        customer_search(shop_id=shop.id, query=query, limit=PICKER_LIMIT).prefetch_related(
            "identities"
        )
    )
    # A list: every contact masked, for everyone (the customer's page shows them whole).
    contacts = {
        customer.pk: [identity_masked(identity) for identity in customer.identities.all()]
        for customer in customers
    }
    customers_search_record(
        actor=actor, shop=shop, customers=customers, ip_address=client_address(request)
    )
    htmx = getattr(request, "htmx", None)
    partial = htmx is not None and bool(htmx) and not htmx.history_restore_request
    template = "customers/_picker_results.html" if partial else "customers/picker.html"
    response = render(
        request,
        template,
        {
            "shop": shop,
            "query": query,
            "results": [(customer, contacts[customer.pk]) for customer in customers],
            "limit": PICKER_LIMIT,
        },
    )
    patch_vary_headers(response, ("HX-Request",))
    return response
