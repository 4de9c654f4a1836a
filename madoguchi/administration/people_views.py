"""People of a workspace: the list, invitations, a person's role, shops and skills, deactivation.

Admins change people; supervisors see the pages read-only (a change is a 403); anybody else,
and a person of another workspace, gets a 404. The accept page of an invitation is public: the
link's token is the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.accounts.models import User
from madoguchi.administration.membership_services import (
    membership_deactivate,
    membership_reactivate,
    membership_update,
)
from madoguchi.administration.models import Invitation
from madoguchi.administration.people_forms import AcceptAsNewForm, InvitationForm, PersonForm
from madoguchi.administration.people_selectors import (
    access_invitation,
    access_people_workspace,
    access_person,
    invitation_for_token,
    invitation_is_usable,
    people_page,
    people_workspaces,
    person_row,
    roles_for,
    worked_shops,
)
from madoguchi.administration.people_services import (
    InvitationGoneError,
    InvitationSent,
    invitation_accept,
    invitation_accept_as_new,
    invitation_account_reopen,
    invitation_resend,
    invitation_revoke,
    invitation_send,
)
from madoguchi.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from madoguchi.core.service_forms import error_text
from madoguchi.tenancy.access import Actor, require_workspace_admin
from madoguchi.tenancy.models import Membership

Role = Membership.Role
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _workspace_param(request: HttpRequest) -> int | None:
    value = request.GET.get("workspace")
    if value is None:
        return None
    if not value.isdigit():
        raise NotFoundError("Workspace not found")
    return int(value)


def _people_url(workspace_id: int) -> str:
    return f"{reverse('administration:people')}?workspace={workspace_id}"


def _person_url(membership: Membership) -> str:
    return reverse("administration:person", args=[membership.pk])


def accept_url(request: HttpRequest) -> Callable[[str], str]:
    """Turn an invitation's token into the absolute URL of its accept page."""

    def url(token: str) -> str:
        return request.build_absolute_uri(reverse("administration:invitation_accept", args=[token]))

    return url


def _is_admin(actor: Actor, workspace_id: int) -> bool:
    return actor.workspace_roles.get(workspace_id) == Role.ADMIN


def report_delivery(request: HttpRequest, sent: InvitationSent) -> None:
    """Tell the admin whether the mail went out (it is sent when the invitation is saved)."""
    email = sent.invitation.email
    if sent.delivery.is_sent:
        messages.success(
            request, gettext("The invitation was mailed to %(email)s.") % {"email": email}
        )
    elif sent.delivery.is_sent is False:
        messages.error(
            request,
            gettext(
                "The invitation to %(email)s was saved, but the mail could not be sent"
                " (%(error)s). Check the mail settings, then resend it."
            )
            % {"email": email, "error": sent.delivery.error},
        )
    else:
        messages.info(
            request,
            gettext("The invitation to %(email)s was saved; the mail is on its way.")
            % {"email": email},
        )


@login_required
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    """The workspace's people and open invitations (admins act, supervisors read)."""
    actor = _actor(request)
    workspace = access_people_workspace(actor=actor, workspace_id=_workspace_param(request))
    workspaces = people_workspaces(actor)
    return render(
        request,
        "administration/people/list.html",
        {
            "page": people_page(workspace=workspace),
            "workspace": workspace,
            "workspaces": workspaces if len(workspaces) > 1 else [],
            "is_admin": _is_admin(actor, workspace.id),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def people_invite(request: HttpRequest) -> HttpResponse:
    """Invite a person by email (admins only)."""
    actor = _actor(request)
    workspace = access_people_workspace(actor=actor, workspace_id=_workspace_param(request))
    require_workspace_admin(actor, workspace.id)
    form = InvitationForm(
        request.POST or None,
        roles=roles_for(workspace),
        shops=list(worked_shops(workspace_id=workspace.id)),
        initial={"role": Role.OPERATOR, "languages": ["ja"]},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sent = invitation_send(
                actor=actor,
                workspace=workspace,
                email=data["email"],
                role=data["role"],
                is_trainee=data["is_trainee"],
                shop_ids=data["shops"],
                languages=data["languages"],
                accept_url=accept_url(request),
            )
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            report_delivery(request, sent)
            return redirect(_people_url(workspace.id))
    return render(
        request,
        "administration/people/invite.html",
        {"workspace": workspace, "form": form, "people_url": _people_url(workspace.id)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def person(request: HttpRequest, membership_id: int) -> HttpResponse:
    """A person's role, trainee flag, shops and languages; admins change them here."""
    actor = _actor(request)
    membership = access_person(actor=actor, membership_id=membership_id)
    workspace = membership.workspace
    is_admin = _is_admin(actor, workspace.id)
    if request.method == "POST" and not is_admin:
        raise PermissionDeniedError("Only an admin of the workspace may do this.")
    row = person_row(membership=membership)
    form: PersonForm | None = None
    if is_admin:
        form = PersonForm(
            request.POST or None,
            roles=roles_for(workspace),
            shops=list(worked_shops(workspace_id=workspace.id)),
            initial={
                "role": membership.role,
                "is_trainee": membership.is_trainee,
                "shops": [shop.id for shop in row.shops],
                "languages": row.languages,
            },
        )
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = membership_update(
                actor=actor,
                membership=membership,
                role=data["role"],
                is_trainee=data["is_trainee"],
                shop_ids=data["shops"],
                languages=data["languages"],
            )
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, gettext("The changes were saved."))
            _report_handed_back(request, saved.tickets_handed_back)
            return redirect(_person_url(membership))
    return render(
        request,
        "administration/people/person.html",
        {
            "workspace": workspace,
            "membership": membership,
            "row": row,
            "form": form,
            "is_admin": is_admin,
            "is_self": membership.user_id == request.user.pk,
            "people_url": _people_url(workspace.id),
        },
    )


def _report_handed_back(request: HttpRequest, count: int) -> None:
    if count:
        messages.info(
            request,
            ngettext(
                "%(count)d open ticket went back to the queue.",
                "%(count)d open tickets went back to the queue.",
                count,
            )
            % {"count": count},
        )


@login_required
@require_POST
def person_deactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Deactivate a person: sessions end, open tickets go back to the queue (admins only)."""
    actor = _actor(request)
    membership = access_person(actor=actor, membership_id=membership_id)
    try:
        saved = membership_deactivate(actor=actor, membership=membership)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request,
            gettext("%(name)s was deactivated and signed out.")
            % {"name": membership.user.display_name or membership.user.email},
        )
        _report_handed_back(request, saved.tickets_handed_back)
    return redirect(_person_url(membership))


@login_required
@require_POST
def person_reactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Make a deactivated person active again (admins only)."""
    actor = _actor(request)
    membership = access_person(actor=actor, membership_id=membership_id)
    try:
        membership_reactivate(actor=actor, membership=membership)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request,
            gettext("%(name)s is active again.")
            % {"name": membership.user.display_name or membership.user.email},
        )
    return redirect(_person_url(membership))


@login_required
@require_POST
def invitation_resend_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Mail the invitation again with a new link (the old one stops working)."""
    actor = _actor(request)
    invitation = access_invitation(actor=actor, invitation_id=invitation_id)
    try:
        sent = invitation_resend(actor=actor, invitation=invitation, accept_url=accept_url(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        report_delivery(request, sent)
    return redirect(_people_url(invitation.workspace_id))


@login_required
@require_POST
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Take an open invitation back."""
    actor = _actor(request)
    invitation = access_invitation(actor=actor, invitation_id=invitation_id)
    try:
        invitation_revoke(actor=actor, invitation=invitation)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request,
            gettext("The invitation to %(email)s was revoked.") % {"email": invitation.email},
        )
    return redirect(_people_url(invitation.workspace_id))


# --- the public accept page --------------------------------------------------------------------


def _unusable(request: HttpRequest, *, status: int) -> HttpResponse:
    return render(request, "administration/people/invitation_unusable.html", status=status)


def _accept_page(
    request: HttpRequest, invitation: Invitation, state: str, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"invitation": invitation, "state": state, **extra}
    return render(request, "administration/people/accept.html", context, status=status)


def _joined(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    messages.success(
        request,
        gettext("Welcome to %(workspace)s. You joined as %(role)s.")
        % {"workspace": invitation.workspace.name, "role": invitation.get_role_display()},
    )
    return redirect(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: a new person sets a name and password; a known one signs in first.

    An unknown link is a 404 and a used, revoked or expired one a 410, with one clear page.
    """
    invitation = invitation_for_token(token)
    if invitation is None:
        return _unusable(request, status=404)
    if not invitation_is_usable(invitation):
        return _unusable(request, status=410)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    signed_in = request.user if request.user.is_authenticated else None
    if signed_in is not None and (existing is None or signed_in.pk != existing.pk):
        return _accept_page(request, invitation, "other_user", status=403)
    try:
        if existing is not None:
            return _accept_as_member(request, invitation, token, existing, signed_in)
        return _accept_as_new(request, invitation, token)
    except InvitationGoneError:
        return _unusable(request, status=410)
    except NotFoundError:
        return _unusable(request, status=404)


def _accept_as_member(
    request: HttpRequest,
    invitation: Invitation,
    token: str,
    existing: User,
    signed_in: Any,
) -> HttpResponse:
    if signed_in is None:
        if existing.is_active:
            return redirect_to_login(request.get_full_path())
        if request.method == "POST":
            invitation_account_reopen(token=token)
            return redirect_to_login(request.get_full_path())
        return _accept_page(request, invitation, "reopen")
    if request.method == "POST":
        try:
            invitation_accept(token=token, user=signed_in)
        except (ConflictError, PermissionDeniedError) as error:
            return _accept_page(request, invitation, "refused", status=409, error=error_text(error))
        return _joined(request, invitation)
    return _accept_page(request, invitation, "confirm")


def _accept_as_new(request: HttpRequest, invitation: Invitation, token: str) -> HttpResponse:
    form = AcceptAsNewForm(
        request.POST or None,
        email=invitation.email,
        initial={"display_name": invitation.display_name},
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept_as_new(
                token=token,
                display_name=form.cleaned_data["display_name"],
                password=form.cleaned_data["password1"],
            )
        except ConflictError:
            # Someone made the account meanwhile (another tab): sign in to accept.
            return redirect_to_login(request.get_full_path())
        login(request, user, backend=MODEL_BACKEND)
        return _joined(request, invitation)
    return _accept_page(request, invitation, "new", form=form)
