"""The customer page of the operator UI."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

# The customer page lists the customer's tickets: a read through the conversations selectors,
# the one place where this app looks at tickets.
from madoguchi.conversations.selectors import customer_tickets
from madoguchi.customers.selectors import access_customer
from madoguchi.tenancy.access import Actor, access_shop


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
