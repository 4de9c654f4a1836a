"""Workspace and shops, shop settings, engagements and the invitations of agencies.

Admins change; supervisors read. A shop the actor cannot see is a 404 and a visible shop whose
page the role may not use a 403 (`operations.view_access`); a workspace page checks the actor's
membership: none is a 404, a role that may not use the page a 403. On the shop page, an admin of
an agency that works the shop invites the shop company's first admin (`owner_invite`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.administration.people_selectors import owner_invitation_state
from madoguchi.administration.people_services import OWNER_INVITER_ONLY, owner_invitation_send
from madoguchi.administration.people_views import accept_url, report_delivery
from madoguchi.administration.shop_forms import (
    AcceptForm,
    EngagementEndForm,
    EngagementForm,
    InvitationForm,
    OwnerInvitationForm,
    ShopSettingsForm,
    WorkspaceForm,
    invitation_code_from,
    shop_create_form,
)
from madoguchi.administration.shop_services import shop_settings_save
from madoguchi.conversations.storage_quota import shop_storage_limit, shop_storage_used
from madoguchi.core.errors import ApplicationError, PermissionDeniedError, ValidationError
from madoguchi.core.service_forms import error_text
from madoguchi.operations.view_access import lead_shop, request_actor
from madoguchi.tenancy import invitations, services
from madoguchi.tenancy.access import Actor, Role, require_workspace_admin
from madoguchi.tenancy.models import Engagement, Shop, Workspace
from madoguchi.tenancy.selectors import (
    access_engagement,
    access_invitation,
    admin_agencies,
    engagement_state,
    leads_some_workspace,
    open_invitations,
    shop_engagements,
    workspace_overviews,
)

LEADS_ONLY = gettext_noop("Only an admin or a supervisor may open the shop's settings.")
WORKSPACE_LEADS_ONLY = gettext_noop(
    "Only an admin or a supervisor of a workspace may open this page."
)
OWNER_ADMIN_ONLY = gettext_noop("Only an admin of the shop company may invite an agency.")
AGENCY_ADMIN_ONLY = gettext_noop("Only an admin of a support agency may accept an invitation.")

# Where a service's message belongs on the form (elsewhere: above the form).
_ERROR_FIELDS = {
    services.NAME_REQUIRED: "name",
    services.PREFIX_INVALID: "ticket_prefix",
    services.PREFIX_TAKEN: "ticket_prefix",
    services.TIME_ZONE_UNKNOWN: "time_zone",
    services.LANGUAGE_UNKNOWN: "default_language",
    services.CLIENT_NAME_REQUIRED: "client_name",
    services.PERIOD_REVERSED: "ends_on",
    services.OVERLAPPING_ENGAGEMENT: None,
}


def _form_error(form: forms.Form, error: ApplicationError) -> None:
    field = _ERROR_FIELDS.get(error.message)
    form.add_error(field if field in form.fields else None, error_text(error))


def _lead_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    return lead_shop(request, shop_slug, LEADS_ONLY)


def _is_shop_admin(actor: Actor, shop: Shop) -> bool:
    return actor.role_for(shop.id) == Role.ADMIN


def _is_owner_admin(actor: Actor, shop: Shop) -> bool:
    return actor.workspace_roles.get(shop.workspace_id) == Role.ADMIN


def _shop_url(shop: Shop) -> str:
    return reverse("administration:shop_edit", args=[shop.slug])


def calendar_url(shop: Shop) -> str | None:
    """The operations calendar of the shop (business hours, 24/365), once that page exists."""
    try:
        return reverse("operations:calendar", args=[shop.slug])
    except NoReverseMatch:
        return None


# Workspace ----------------------------------------------------------------------------------------


@login_required
@require_GET
def workspace(request: HttpRequest) -> HttpResponse:
    """The workspaces the user leads: their shops, the shops they work, what admins may add."""
    actor = request_actor(request)
    if not leads_some_workspace(actor):
        raise PermissionDeniedError(WORKSPACE_LEADS_ONLY)
    overviews = workspace_overviews(actor)
    return render(
        request,
        "administration/shops/workspace.html",
        {
            "overviews": overviews,
            "accepts_invitations": any(o.is_admin and o.is_agency for o in overviews),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def workspace_edit(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """Rename a workspace (its admins)."""
    actor = request_actor(request)
    current = require_workspace_admin(actor, workspace_id)
    if request.method == "POST":
        form = WorkspaceForm(request.POST)
        if form.is_valid():
            try:
                services.workspace_update(
                    actor=actor, workspace=current, name=form.cleaned_data["name"]
                )
            except ValidationError as error:
                _form_error(form, error)
            else:
                messages.success(request, gettext("The workspace was saved."))
                return redirect(reverse("administration:workspace"))
    else:
        form = WorkspaceForm(initial={"name": current.name})
    return render(
        request,
        "administration/shops/workspace_edit.html",
        {"workspace": current, "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def shop_new(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """Add a shop: a shop company's own, or an agency's client shop with its engagement."""
    actor = request_actor(request)
    owner = require_workspace_admin(actor, workspace_id)
    form = shop_create_form(owner, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            shop = services.shop_create(
                actor=actor,
                workspace=owner,
                name=data["name"],
                ticket_prefix=data["ticket_prefix"],
                client_name=data.get("client_name", ""),
                mode=data.get("mode") or Engagement.Mode.OUTSOURCED,
                starts_on=data.get("starts_on"),
                ends_on=data.get("ends_on"),
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(
                request, gettext("The shop %(name)s was created.") % {"name": shop.name}
            )
            starts_on = data.get("starts_on")
            if starts_on and starts_on > timezone.localdate():
                # The agency sees the shop from the engagement's first day.
                return redirect(reverse("administration:workspace"))
            return redirect(_shop_url(shop))
    return render(
        request,
        "administration/shops/shop_new.html",
        {"workspace": owner, "form": form, "is_agency": owner.kind == Workspace.Kind.AGENCY},
    )


# Shop settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngagementRow:
    engagement: Engagement
    state: str
    can_change: bool


def _settings_form(shop: Shop, data: Any = None) -> ShopSettingsForm:
    return ShopSettingsForm(
        data,
        initial={
            "name": shop.name,
            "ticket_prefix": shop.ticket_prefix,
            "time_zone": shop.time_zone,
            "default_language": shop.default_language,
        },
    )


def _storage(shop: Shop) -> dict[str, int]:
    """The shop's stored files against the deployment's limit (0: none)."""
    used, limit = shop_storage_used(shop.id), shop_storage_limit()
    return {"used": used, "limit": limit, "percent": used * 100 // limit if limit else 0}


def _shop_page(
    request: HttpRequest,
    actor: Actor,
    shop: Shop,
    *,
    form: ShopSettingsForm | None = None,
    owner_form: OwnerInvitationForm | None = None,
) -> HttpResponse:
    today = timezone.localdate()
    engagements = [
        EngagementRow(
            engagement,
            engagement_state(engagement, today=today),
            services.may_change_engagement(actor=actor, engagement=engagement),
        )
        for engagement in shop_engagements(actor=actor, shop=shop)
    ]
    is_owner_admin = _is_owner_admin(actor, shop)
    owner = owner_invitation_state(actor=actor, shop=shop)
    return render(
        request,
        "administration/shops/shop_edit.html",
        {
            "shop": shop,
            "is_lead": True,
            "form": form if form is not None else _settings_form(shop),
            "is_admin": _is_shop_admin(actor, shop),
            "engagements": engagements,
            "is_owner_admin": is_owner_admin,
            "invitations": open_invitations(shop=shop) if is_owner_admin else [],
            "calendar_url": calendar_url(shop),
            "storage": _storage(shop),
            "owner": owner,
            "owner_form": owner_form if owner_form is not None else OwnerInvitationForm(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def shop_edit(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's settings (admins change them), its engagements and open invitations."""
    actor, shop = _lead_shop(request, shop_slug)
    is_admin = _is_shop_admin(actor, shop)
    form = _settings_form(shop)
    if request.method == "POST":
        if not is_admin:
            raise PermissionDeniedError(services.SHOP_ADMIN_ONLY)
        form = _settings_form(shop, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                shop_settings_save(
                    actor=actor,
                    shop=shop,
                    name=data["name"],
                    ticket_prefix=data["ticket_prefix"],
                    time_zone=data["time_zone"],
                    default_language=data["default_language"],
                )
            except ValidationError as error:
                _form_error(form, error)
            else:
                messages.success(request, gettext("The shop's settings were saved."))
                return redirect(_shop_url(shop))
        shop.refresh_from_db()  # the page's title shows the saved name, not the typed one
    return _shop_page(request, actor, shop, form=form)


@login_required
@require_POST
def owner_invite(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """An admin of an agency that works the shop invites the shop company's first admin.

    Anyone else who may open the shop page gets a 403; once the company has an admin, the
    form re-renders with why the agency may no longer invite into it.
    """
    actor, shop = _lead_shop(request, shop_slug)
    if owner_invitation_state(actor=actor, shop=shop) is None:
        raise PermissionDeniedError(OWNER_INVITER_ONLY)
    owner_form = OwnerInvitationForm(request.POST)
    if owner_form.is_valid():
        try:
            sent = owner_invitation_send(
                actor=actor,
                shop=shop,
                email=owner_form.cleaned_data["email"],
                display_name=owner_form.cleaned_data["display_name"],
                accept_url=accept_url(request),
            )
        except ValidationError as error:
            owner_form.add_error(None, error_text(error))
        else:
            report_delivery(request, sent)
            return redirect(_shop_url(shop))
    return _shop_page(request, actor, shop, owner_form=owner_form)


@login_required
@require_POST
def shop_archive(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Archive the shop: it leaves the menus and lists; nothing is deleted."""
    actor, shop = _lead_shop(request, shop_slug)
    services.shop_archive(actor=actor, shop=shop)
    messages.success(request, gettext("The shop was archived. Its data stays."))
    return redirect(_shop_url(shop))


@login_required
@require_POST
def shop_unarchive(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Bring an archived shop back."""
    actor, shop = _lead_shop(request, shop_slug)
    services.shop_unarchive(actor=actor, shop=shop)
    messages.success(request, gettext("The shop is back in the menus."))
    return redirect(_shop_url(shop))


# Engagements --------------------------------------------------------------------------------------


def _engagement_page(
    request: HttpRequest,
    shop: Shop,
    engagement: Engagement,
    *,
    can_change: bool,
    form: EngagementForm | None = None,
    end_form: EngagementEndForm | None = None,
) -> HttpResponse:
    if form is None:
        form = EngagementForm(
            initial={
                "mode": engagement.mode,
                "starts_on": engagement.starts_on,
                "ends_on": engagement.ends_on,
            }
        )
    if end_form is None:
        end_form = EngagementEndForm(
            initial={"ends_on": engagement.ends_on or timezone.localdate()}
        )
    return render(
        request,
        "administration/shops/engagement_edit.html",
        {
            "shop": shop,
            "is_lead": True,
            "calendar_url": calendar_url(shop),
            "engagement": engagement,
            "state": engagement_state(engagement),
            "can_change": can_change,
            "form": form,
            "end_form": end_form,
        },
    )


def _engagement(
    request: HttpRequest, shop_slug: str, engagement_id: int
) -> tuple[Actor, Shop, Engagement, bool]:
    actor, shop = _lead_shop(request, shop_slug)
    engagement = access_engagement(actor=actor, shop=shop, engagement_id=engagement_id)
    return (
        actor,
        shop,
        engagement,
        services.may_change_engagement(actor=actor, engagement=engagement),
    )


@login_required
@require_http_methods(["GET", "POST"])
def engagement_edit(request: HttpRequest, shop_slug: str, engagement_id: int) -> HttpResponse:
    """An engagement's mode and period (admins of either side change them)."""
    actor, shop, engagement, can_change = _engagement(request, shop_slug, engagement_id)
    if request.method != "POST":
        return _engagement_page(request, shop, engagement, can_change=can_change)
    if not can_change:
        raise PermissionDeniedError(services.ENGAGEMENT_ADMIN_ONLY)
    form = EngagementForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.engagement_update(
                actor=actor,
                engagement=engagement,
                mode=data["mode"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, gettext("The engagement was saved."))
            return redirect(_shop_url(shop))
    return _engagement_page(request, shop, engagement, can_change=can_change, form=form)


@login_required
@require_POST
def engagement_end(request: HttpRequest, shop_slug: str, engagement_id: int) -> HttpResponse:
    """End an engagement on a given last day."""
    actor, shop, engagement, can_change = _engagement(request, shop_slug, engagement_id)
    if not can_change:
        raise PermissionDeniedError(services.ENGAGEMENT_ADMIN_ONLY)
    end_form = EngagementEndForm(request.POST)
    if end_form.is_valid():
        try:
            services.engagement_end(
                actor=actor, engagement=engagement, ends_on=end_form.cleaned_data["ends_on"]
            )
        except ValidationError as error:
            end_form.add_error("ends_on", error_text(error))
        else:
            messages.success(request, gettext("The engagement ends on the day you chose."))
            return redirect(_shop_url(shop))
    return _engagement_page(request, shop, engagement, can_change=can_change, end_form=end_form)


# Engagement invitations ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def engagement_invite(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop company invites an agency: a code and a link to pass on, valid for a week."""
    actor, shop = _lead_shop(request, shop_slug)
    if not _is_owner_admin(actor, shop):
        raise PermissionDeniedError(OWNER_ADMIN_ONLY)
    form = InvitationForm(
        request.POST if request.method == "POST" else None,
        initial={"mode": Engagement.Mode.OUTSOURCED},
    )
    context: dict[str, Any] = {
        "shop": shop,
        "is_lead": True,
        "calendar_url": calendar_url(shop),
        "form": form,
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation, code = invitations.engagement_invite(
                actor=actor,
                shop=shop,
                mode=data["mode"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            accept = reverse("administration:engagement_accept")
            context.update(
                invitation=invitation,
                code=code,
                link=request.build_absolute_uri(f"{accept}?{urlencode({'code': code})}"),
            )
    return render(request, "administration/shops/engagement_invite.html", context)


@login_required
@require_POST
def invitation_cancel(request: HttpRequest, shop_slug: str, invitation_id: int) -> HttpResponse:
    """Take back an invitation that no agency accepted yet."""
    actor, shop = _lead_shop(request, shop_slug)
    if not _is_owner_admin(actor, shop):
        raise PermissionDeniedError(OWNER_ADMIN_ONLY)
    invitation = access_invitation(shop=shop, invitation_id=invitation_id)
    try:
        invitations.engagement_invitation_cancel(actor=actor, invitation=invitation)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, gettext("The invitation was cancelled."))
    return redirect(_shop_url(shop))


@login_required
@require_http_methods(["GET", "POST"])
def engagement_accept(request: HttpRequest) -> HttpResponse:
    """An agency admin accepts a shop company's invitation: the agency then works the shop."""
    actor = request_actor(request)
    agencies = admin_agencies(actor)
    if not agencies:
        raise PermissionDeniedError(AGENCY_ADMIN_ONLY)
    if request.method == "POST":
        form = AcceptForm(request.POST, agencies=agencies)
        if form.is_valid():
            agency = next(a for a in agencies if a.id == form.cleaned_data["agency"])
            try:
                engagement = invitations.engagement_invitation_accept(
                    actor=actor, code=form.cleaned_data["code"], agency=agency
                )
            except ValidationError as error:
                form.add_error("code", error_text(error))
            else:
                messages.success(
                    request,
                    gettext("%(agency)s now works %(shop)s.")
                    % {"agency": agency.name, "shop": engagement.shop.name},
                )
                return redirect(reverse("administration:workspace"))
        code = str(form.data.get("code", ""))
    else:
        code = request.GET.get("code", "")
        form = AcceptForm(initial={"code": code}, agencies=agencies)
    preview, preview_error = None, ""
    if code.strip():
        try:
            preview = invitations.invitation_for_code(invitation_code_from(code))
        except ValidationError as error:
            preview_error = error_text(error)
    return render(
        request,
        "administration/shops/engagement_accept.html",
        {"form": form, "preview": preview, "preview_error": preview_error},
    )
