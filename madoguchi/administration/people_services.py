"""Invitations of the people pages: invite by mail, resend, revoke, accept.

Only an admin of the workspace invites its people (`require_workspace_admin`). The one
exception is a shop company without an admin yet (an agency created it with the client's
shop): an admin of the agency that works the shop invites its first admin
(`owner_invitation_send`), who then manages the company's people.

An invitation mail goes out after the commit; when it cannot be sent, the invitation stays
(with the error) and can be resent. Changing and deactivating members is in
`membership_services`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from madoguchi.accounts.models import User
from madoguchi.administration.models import Invitation
from madoguchi.administration.people_selectors import (
    has_active_admin,
    invitation_is_usable,
    owner_inviting_agency,
    roles_for,
    token_hash,
    worked_shops,
)
from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from madoguchi.operations.profiles import languages_clean, operator_languages_set
from madoguchi.tenancy.access import Actor, require_workspace_admin
from madoguchi.tenancy.models import Membership, Shop, ShopAssignment, Workspace
from madoguchi.tenancy.services import SHOP_ARCHIVED

logger = logging.getLogger(__name__)

Role = Membership.Role
INVITATION_LIFETIME = dt.timedelta(days=7)
MAIL_TIME_ZONE = ZoneInfo("Asia/Tokyo")
MAX_SEND_ERROR_CHARS = 500

OWNER_INVITER_ONLY = gettext_noop(
    "Only an admin of an agency that works this shop may invite the shop company's owner."
)
OWNER_HAS_ADMIN = gettext_noop(
    "%(company)s already has an admin: from now on its admin invites its people."
)
OWNER_IS_AGENCY_MEMBER = gettext_noop(
    "%(email)s is a member of your agency: invite the person who runs %(company)s."
)


class InvitationGoneError(ApplicationError):
    """The invitation was accepted, revoked or has expired: its link no longer works."""

    status_code = 410


@dataclass
class Delivery:
    """What became of an invitation mail: filled in after the commit (None until then)."""

    is_sent: bool | None = None
    error: str = ""


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    delivery: Delivery


def _new_token() -> tuple[str, str]:
    """A link token and its stored hash."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def _email_normalized(email: str) -> str:
    return email.strip().lower()


def role_checked(workspace: Workspace, role: str) -> Role:
    if role not in {str(choice) for choice in roles_for(workspace)}:
        raise ValidationError("This role does not exist in this workspace.")
    return Role(role)


def shop_ids_checked(workspace_id: int, shop_ids: Collection[int]) -> set[int]:
    wanted = set(shop_ids)
    worked = set(worked_shops(workspace_id=workspace_id).values_list("id", flat=True))
    if not wanted <= worked:
        raise ValidationError("Choose shops that this workspace works.")
    return wanted


def _member_exists(workspace_id: int, email: str) -> bool:
    return Membership.objects.filter(workspace_id=workspace_id, user__email__iexact=email).exists()


# --- invitations ---------------------------------------------------------------------------


def _invitation_mail(invitation: Invitation, link: str) -> EmailMessage:
    """The invitation mail, in Japanese (the UI's default language)."""
    with translation.override("ja"):
        context: dict[str, Any] = {
            "name": invitation.display_name,
            "workspace": invitation.workspace.name,
            "role": invitation.get_role_display(),
            "inviter": str(invitation.invited_by) if invitation.invited_by else "",
            "link": link,
            "expires_at": timezone.localtime(invitation.expires_at, MAIL_TIME_ZONE).strftime(
                "%Y-%m-%d %H:%M"
            ),
        }
        subject = gettext("Invitation to %(workspace)s on Madoguchi") % context
        body = render_to_string("administration/people/invitation_mail.txt", context)
    reply_to = [invitation.invited_by.email] if invitation.invited_by else []
    return EmailMessage(subject=subject, body=body, to=[invitation.email], reply_to=reply_to)


def _deliver(invitation_id: int, link: str, delivery: Delivery) -> None:
    """Send the invitation mail; record the outcome on the invitation and in `delivery`."""
    invitation = Invitation.objects.select_related("workspace", "invited_by").get(pk=invitation_id)
    try:
        _invitation_mail(invitation, link).send()
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("Invitation %s could not be mailed: %s", invitation_id, error)
        delivery.is_sent = False
        delivery.error = (str(error) or error.__class__.__name__)[:MAX_SEND_ERROR_CHARS]
        Invitation.objects.filter(pk=invitation_id).update(last_send_error=delivery.error)
        return
    delivery.is_sent = True
    Invitation.objects.filter(pk=invitation_id).update(
        last_sent_at=timezone.now(), last_send_error=""
    )


def _deliver_on_commit(invitation: Invitation, link: str) -> Delivery:
    delivery = Delivery()
    invitation_id = invitation.pk
    transaction.on_commit(lambda: _deliver(invitation_id, link, delivery))
    return delivery


@transaction.atomic
def invitation_send(
    *,
    actor: Actor,
    workspace: Workspace,
    email: str,
    role: str,
    accept_url: Callable[[str], str],
    is_trainee: bool = False,
    shop_ids: Collection[int] = (),
    languages: Sequence[str] = (),
) -> InvitationSent:
    """Invite `email` into the workspace; the mail with the link goes out after the commit.

    `accept_url` turns the link's token into the absolute URL of the accept page. Refused for
    an address that is already a member (active or not) or has an open invitation.
    """
    require_workspace_admin(actor, workspace.id)
    email = _email_normalized(email)
    chosen_role = role_checked(workspace, role)
    shops = shop_ids_checked(workspace.id, shop_ids)
    skills = languages_clean(languages)
    if _member_exists(workspace.id, email):
        raise ValidationError(
            "%(email)s is already a member of this workspace.", extra={"email": email}
        )
    if Invitation.objects.filter(
        workspace=workspace, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).exists():
        raise ValidationError(
            "An invitation to %(email)s is already open: resend or revoke it.",
            extra={"email": email},
        )
    invitation, token = _invitation_create(
        actor_user=actor.user,
        workspace=workspace,
        email=email,
        role=chosen_role,
        is_trainee=is_trainee and chosen_role == Role.OPERATOR,
        shop_ids=shops,
        languages=skills,
    )
    return InvitationSent(invitation, _deliver_on_commit(invitation, accept_url(token)))


def _invitation_create(
    *,
    actor_user: User | None,
    workspace: Workspace,
    email: str,
    role: Role,
    is_trainee: bool = False,
    shop_ids: Collection[int] = (),
    languages: Sequence[str] = (),
    display_name: str = "",
    shop: Shop | None = None,
) -> tuple[Invitation, str]:
    """Store an audited invitation (the caller checked everything); return it and its token.

    `shop` is the shop an owner's invitation was sent from: its audit entry goes with the shop.
    """
    token, hashed = _new_token()
    now = timezone.now()
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        display_name=display_name,
        role=role,
        is_trainee=is_trainee,
        languages=list(languages),
        invited_by=actor_user,
        token_hash=hashed,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    invitation.shops.set(sorted(shop_ids))
    changes: dict[str, Any] = {
        "email": [None, email],
        "role": [None, str(role)],
        "is_trainee": [None, invitation.is_trainee],
        "shop_ids": [None, sorted(shop_ids)],
        "languages": [None, list(languages)],
    }
    if display_name:
        changes["display_name"] = [None, display_name]
    record(
        actor=actor_user,
        action=actions.INVITATION_SENT,
        target=invitation,
        shop=shop,
        changes=changes,
    )
    return invitation, token


@transaction.atomic
def owner_invitation_send(
    *,
    actor: Actor,
    shop: Shop,
    email: str,
    accept_url: Callable[[str], str],
    display_name: str = "",
) -> InvitationSent:
    """Invite the shop company's first admin, for an admin of an agency that works the shop.

    An agency that creates a client's shop creates the client company with nobody in it; the
    person who runs it joins as its admin (they see the shop and its tickets, and invite their
    own people from then on). Once the company has an active admin, the agency may no longer
    invite into it. A new invitation replaces the company's open admin invitation (its link
    stops working), so a mistyped address can be corrected and a lost mail sent again.
    """
    agency = owner_inviting_agency(actor=actor, shop=shop)
    if agency is None:
        raise PermissionDeniedError(OWNER_INVITER_ONLY)
    if shop.archived_at is not None:
        raise ValidationError(SHOP_ARCHIVED)
    email = _email_normalized(email)
    # Locks: the company serialises two owner invitations; the open invitations, one with
    # its acceptance (which locks the invitation), so the admin check below sees a new admin.
    company = Workspace.objects.select_for_update().get(pk=shop.workspace_id)
    earlier = list(
        Invitation.objects.select_for_update().filter(
            Q(role=Role.ADMIN) | Q(email=email),
            workspace=company,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        )
    )
    if has_active_admin(workspace_id=company.id):
        raise ValidationError(OWNER_HAS_ADMIN, extra={"company": company.name})
    if _member_exists(company.id, email):
        raise ValidationError(
            "%(email)s is already a member of this workspace.", extra={"email": email}
        )
    if Membership.objects.filter(
        workspace_id=agency.id, is_active=True, user__email__iexact=email
    ).exists():
        raise ValidationError(
            OWNER_IS_AGENCY_MEMBER, extra={"email": email, "company": company.name}
        )
    for replaced in earlier:
        _revoke(actor.user, replaced, shop=shop)
    invitation, token = _invitation_create(
        actor_user=actor.user,
        workspace=company,
        email=email,
        role=Role.ADMIN,
        display_name=" ".join(display_name.split())[:100],
        shop=shop,
    )
    return InvitationSent(invitation, _deliver_on_commit(invitation, accept_url(token)))


def _locked_open(invitation: Invitation) -> Invitation:
    locked: Invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .get(pk=invitation.pk)
    )
    if not locked.is_open:
        raise ValidationError("This invitation was already accepted or revoked.")
    return locked


@transaction.atomic
def invitation_resend(
    *, actor: Actor, invitation: Invitation, accept_url: Callable[[str], str]
) -> InvitationSent:
    """Send the invitation again with a new link and a new expiry; the old link stops working."""
    require_workspace_admin(actor, invitation.workspace_id)
    invitation = _locked_open(invitation)
    if _member_exists(invitation.workspace_id, invitation.email):
        raise ValidationError(
            "%(email)s is already a member of this workspace.", extra={"email": invitation.email}
        )
    token, hashed = _new_token()
    old_expiry = invitation.expires_at
    invitation.token_hash = hashed
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    invitation.save(update_fields=["token_hash", "expires_at"])
    record(
        actor=actor.user,
        action=actions.INVITATION_RESENT,
        target=invitation,
        changes={"expires_at": [old_expiry.isoformat(), invitation.expires_at.isoformat()]},
    )
    return InvitationSent(invitation, _deliver_on_commit(invitation, accept_url(token)))


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    """Take an open invitation back; its link stops working."""
    require_workspace_admin(actor, invitation.workspace_id)
    return _revoke(actor.user, _locked_open(invitation))


def _revoke(
    actor_user: User | None, invitation: Invitation, *, shop: Shop | None = None
) -> Invitation:
    """Revoke a locked open invitation, audited."""
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(
        actor=actor_user,
        action=actions.INVITATION_REVOKED,
        target=invitation,
        shop=shop,
        changes={"revoked_at": [None, invitation.revoked_at.isoformat()]},
    )
    return invitation


def _usable_locked(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("workspace", "invited_by")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None:
        raise NotFoundError("This invitation link does not work.")
    if not invitation_is_usable(invitation):
        raise InvitationGoneError("This invitation link does not work.")
    return invitation


def _join(invitation: Invitation, user: User) -> Membership:
    """Make the invited person a member as the invitation says, and close the invitation."""
    if Membership.objects.filter(workspace_id=invitation.workspace_id, user=user).exists():
        raise ConflictError("You are already a member of this workspace.")
    membership = Membership.objects.create(
        user=user,
        workspace_id=invitation.workspace_id,
        role=invitation.role,
        is_trainee=invitation.is_trainee,
    )
    # An engagement may have ended since the invitation: only shops still worked are assigned.
    worked = set(worked_shops(workspace_id=invitation.workspace_id).values_list("id", flat=True))
    shop_ids = sorted(set(invitation.shops.values_list("id", flat=True)) & worked)
    ShopAssignment.objects.bulk_create(
        [ShopAssignment(membership=membership, shop_id=shop_id) for shop_id in shop_ids]
    )
    if invitation.languages:
        operator_languages_set(
            actor=invitation.invited_by, membership=membership, languages=invitation.languages
        )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record(
        actor=user,
        action=actions.INVITATION_ACCEPTED,
        target=invitation,
        changes={
            "membership_id": [None, membership.pk],
            "role": [None, membership.role],
            "is_trainee": [None, membership.is_trainee],
            "shop_ids": [None, shop_ids],
        },
    )
    return membership


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """The signed-in person accepts the invitation sent to their email address."""
    invitation = _usable_locked(token)
    if user.email.lower() != invitation.email:
        raise PermissionDeniedError("This invitation was sent to another email address.")
    return _join(invitation, user)


@transaction.atomic
def invitation_accept_as_new(*, token: str, display_name: str, password: str) -> User:
    """Create the invited person's account (the form validated the password) and join.

    The caller signs the new user in.
    """
    invitation = _usable_locked(token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ConflictError("An account with this email address exists: sign in to accept.")
    user = User.objects.create_user(
        email=invitation.email, password=password, display_name=display_name.strip()
    )
    _join(invitation, user)
    return user


@transaction.atomic
def invitation_account_reopen(*, token: str) -> User:
    """Let an invited person whose account was deactivated sign in again to accept.

    The account had no active membership left (deactivated everywhere); the link proves the
    mail reached its owner, and signing in still needs their password. Reopening grants
    nothing: without an active membership the account sees no shop until it accepts.
    """
    invitation = _usable_locked(token)
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        raise NotFoundError("This invitation link does not work.")
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        record(
            actor=None,
            actor_label=invitation.email,
            action=actions.INVITATION_ACCOUNT_REOPENED,
            target=user,
            changes={"is_active": [False, True], "invitation_id": invitation.pk},
        )
    return user
