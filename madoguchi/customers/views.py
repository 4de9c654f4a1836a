"""The customer pages of the operator UI: the customer page and the customer picker."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

# The customer page lists the customer's tickets: a read through the conversations selectors,
# the one place where this app looks at tickets.
from madoguchi.conversations.selectors import customer_tickets
from madoguchi.customers.selectors import access_customer, customer_search
from madoguchi.tenancy.access import Actor, access_shop

PICKER_LIMIT = 10
MAX_QUERY_CHARS = 100


@login_required
@require_GET
def customer_detail(request: HttpRequest, shop_slug: str, pk: int) -> HttpResponse:
    """Show a customer: contact identities, note and every ticket they opened in the shop."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    customer = access_customer(actor=actor, shop_id=shop.id, customer_id=pk)
    return render(
        request,
        "customers/detail.html",
        {
            "shop": shop,
            "customer": customer,
            "identities": list(customer.identities.all()),
            "tickets": list(customer_tickets(customer_id=customer.id, shop_id=shop.id)),
            "is_staff": actor.is_staff_for(shop.id),
        },
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
    htmx = getattr(request, "htmx", None)
    partial = htmx is not None and bool(htmx) and not htmx.history_restore_request
    template = "customers/_picker_results.html" if partial else "customers/picker.html"
    response = render(
        request,
        template,
        {"shop": shop, "query": query, "customers": customers, "limit": PICKER_LIMIT},
    )
    patch_vary_headers(response, ("HX-Request",))
    return response
