"""The cart connection pages (Shopify, EC-CUBE) of a shop, for its supervisors and admins.

A shop the actor cannot see is a 404; a visible shop is a 403 for other roles. A secret we
generate is shown in the answer to the request that made it and never again: it is rendered
directly (no redirect, nothing kept in the session).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.commerce import connections as services
from madoguchi.commerce.connection_forms import ConnectionCreateForm, ConnectionEditForm
from madoguchi.commerce.models import CommerceConnection
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.service_forms import error_text
from madoguchi.tenancy.access import Actor, access_shop, require_staff
from madoguchi.tenancy.models import Shop


def _lead_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(_("Only a supervisor or admin may manage cart connections."))
    return actor, shop


def _webhook_url(request: HttpRequest, connection: CommerceConnection) -> str:
    return request.build_absolute_uri(reverse("commerce:webhook", args=[connection.token]))


def _edit_form(connection: CommerceConnection, data: Any = None) -> ConnectionEditForm:
    initial = {"store_domain": connection.store_domain, "is_active": connection.is_active}
    return ConnectionEditForm(data, initial=initial, platform=connection.platform)


def _detail(
    request: HttpRequest,
    shop: Shop,
    connection: CommerceConnection,
    *,
    form: ConnectionEditForm | None = None,
    new_secret: str = "",
    error: str = "",
) -> HttpResponse:
    context = {
        "shop": shop,
        "row": services.connection_row(connection=connection),
        "connection": connection,
        "webhook_url": _webhook_url(request, connection),
        "form": form or _edit_form(connection),
        "new_secret": new_secret,
        "error": error,
        "is_shopify": connection.platform == CommerceConnection.Platform.SHOPIFY,
    }
    response = render(request, "commerce/connection_detail.html", context)
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def connection_list(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's connections, and a form to connect a store."""
    actor, shop = _lead_shop(request, shop_slug)
    form = ConnectionCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        try:
            saved = services.commerce_connection_create(
                actor=actor,
                shop=shop,
                platform=cleaned["platform"],
                store_domain=cleaned["store_domain"],
                webhook_secret=cleaned["webhook_secret"],
            )
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("The store was connected."))
            if saved.generated_secret:
                return _detail(request, shop, saved.connection, new_secret=saved.generated_secret)
            return HttpResponseRedirect(
                reverse("commerce:connection", args=[shop.slug, saved.connection.pk])
            )
    context = {
        "shop": shop,
        "rows": services.commerce_connections(shop=shop),
        "form": form,
    }
    return render(request, "commerce/connection_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def connection_detail(request: HttpRequest, shop_slug: str, connection_id: int) -> HttpResponse:
    """One connection: its webhook URL, last delivery and error; change it."""
    actor, shop = _lead_shop(request, shop_slug)
    connection = services.access_commerce_connection(
        actor=actor, shop=shop, connection_id=connection_id
    )
    if request.method == "GET":
        return _detail(request, shop, connection)
    form = _edit_form(connection, request.POST)
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            services.commerce_connection_update(
                actor=actor,
                connection=connection,
                store_domain=cleaned["store_domain"],
                is_active=bool(cleaned["is_active"]),
                webhook_secret=cleaned.get("webhook_secret") or "",
            )
        except ValidationError as error:
            form.add_error(None, error_text(error))
            connection.refresh_from_db()
        else:
            messages.success(request, _("The connection was saved."))
            return HttpResponseRedirect(
                reverse("commerce:connection", args=[shop.slug, connection.pk])
            )
    return _detail(request, shop, connection, form=form)


@login_required
@require_POST
def connection_rotate(request: HttpRequest, shop_slug: str, connection_id: int) -> HttpResponse:
    """Renew the webhook URL and/or the generated secret; a new secret is shown once, here."""
    actor, shop = _lead_shop(request, shop_slug)
    connection = services.access_commerce_connection(
        actor=actor, shop=shop, connection_id=connection_id
    )
    renew = request.POST.get("renew", "")
    try:
        saved = services.commerce_connection_rotate(
            actor=actor,
            connection=connection,
            token=renew in ("token", "both"),
            secret=renew in ("secret", "both"),
        )
    except ValidationError as error:
        connection.refresh_from_db()
        return _detail(request, shop, connection, error=error_text(error))
    if renew in ("token", "both"):
        messages.success(request, _("The webhook URL was renewed: the old one no longer works."))
    if saved.generated_secret:
        messages.success(request, _("The secret was renewed."))
        return _detail(request, shop, saved.connection, new_secret=saved.generated_secret)
    return HttpResponseRedirect(reverse("commerce:connection", args=[shop.slug, connection.pk]))


@login_required
@require_POST
def connection_delete(request: HttpRequest, shop_slug: str, connection_id: int) -> HttpResponse:
    actor, shop = _lead_shop(request, shop_slug)
    connection = services.access_commerce_connection(
        actor=actor, shop=shop, connection_id=connection_id
    )
    try:
        services.commerce_connection_delete(actor=actor, connection=connection)
    except ValidationError as error:
        return _detail(request, shop, connection, error=error_text(error))
    messages.success(request, _("The connection was deleted."))
    return HttpResponseRedirect(reverse("commerce:connections", args=[shop.slug]))
