"""The search page: the header's search box lands here (GET /search/?q=...)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from madoguchi.core.client_address import client_address
from madoguchi.search.forms import SearchForm
from madoguchi.search.selectors import SearchFilters, search
from madoguchi.search.services import search_customers_shown_record
from madoguchi.tenancy.access import Actor, access_shop, visible_shops


@login_required
@require_GET
def search_results(request: HttpRequest) -> HttpResponse:
    """Show the tickets, customers and orders matching the query, grouped by kind."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shops = visible_shops(actor)
    form = SearchForm(request.GET or None, shop_choices=[(shop.slug, shop.name) for shop in shops])
    results = None
    query = ""
    if form.is_valid():
        data = form.cleaned_data
        query = data["q"].strip()
        shop = access_shop(actor=actor, slug=data["shop"]) if data["shop"] else None
        filters = SearchFilters(
            shop_id=shop.id if shop else None,
            status=data["status"],
            channel=data["channel"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
        if query:
            results = search(actor=actor, query=query, filters=filters)
            search_customers_shown_record(
                user=request.user,
                query=query,
                hits=results.customers.hits,
                ip_address=client_address(request),
            )
    return render(
        request,
        "search/results.html",
        {"form": form, "results": results, "search_query": query, "shops": shops},
    )
