"""A shop company invites an agency to work its shop: a signed, single-use code.

The shop company's admin creates an invitation (mode, optional period) and passes its code or link
to the agency; an admin of the agency pastes it, which creates the engagement. The code is the
invitation's id signed with `django.core.signing` (with its time), valid for a week; the row makes
it single-use and lets the shop take it back. Forged, expired, used and cancelled codes are refused.
"""

from __future__ import annotations

import datetime as dt

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import ValidationError
from madoguchi.tenancy import services
from madoguchi.tenancy.access import Actor, require_workspace_admin
from madoguchi.tenancy.models import Engagement, EngagementInvitation, Shop, Workspace

INVITATION_SALT = "madoguchi.tenancy.engagement-invitation"
INVITATION_LIFETIME = dt.timedelta(days=7)

INVITATION_INVALID = gettext_noop("This invitation code is not valid.")
INVITATION_EXPIRED = gettext_noop("This invitation code has expired.")
INVITATION_USED = gettext_noop("This invitation was already accepted.")
INVITATION_CANCELLED = gettext_noop("This invitation was cancelled.")


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def invitation_code(invitation: EngagementInvitation) -> str:
    """The signed code of an invitation (what the shop company passes to the agency)."""
    return signing.dumps({"invitation": invitation.id}, salt=INVITATION_SALT, compress=True)


@transaction.atomic
def engagement_invite(
    *,
    actor: Actor,
    shop: Shop,
    mode: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> tuple[EngagementInvitation, str]:
    """Invite an agency to work the shop (admins of the shop company): the invitation and its code.

    The code is valid for `INVITATION_LIFETIME` and once; `starts_on` empty means the day the agency
    accepts.
    """
    require_workspace_admin(actor, shop.workspace_id)
    if shop.archived_at is not None:
        raise ValidationError(services.SHOP_ARCHIVED)
    if mode not in Engagement.Mode.values:
        raise ValidationError(services.MODE_UNKNOWN)
    if starts_on is not None:
        services.check_period(starts_on, ends_on)
    elif ends_on is not None and ends_on < timezone.localdate():
        raise ValidationError(services.PERIOD_REVERSED)
    invitation = EngagementInvitation.objects.create(
        shop=shop,
        mode=mode,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor.user,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    record(
        actor=actor.user,
        action=actions.ENGAGEMENT_INVITED,
        target=invitation,
        shop=shop,
        changes={
            "mode": [None, mode],
            "starts_on": [None, _iso(starts_on)],
            "ends_on": [None, _iso(ends_on)],
            "expires_at": [None, _iso(invitation.expires_at)],
        },
    )
    return invitation, invitation_code(invitation)


@transaction.atomic
def engagement_invitation_cancel(
    *, actor: Actor, invitation: EngagementInvitation
) -> EngagementInvitation:
    """Take back an invitation no agency has accepted yet (admins of the shop company)."""
    require_workspace_admin(actor, invitation.shop.workspace_id)
    if invitation.accepted_at is not None:
        raise ValidationError(INVITATION_USED)
    if invitation.cancelled_at is not None:
        return invitation
    invitation.cancelled_at = timezone.now()
    invitation.save(update_fields=["cancelled_at"])
    record(
        actor=actor.user,
        action=actions.ENGAGEMENT_INVITATION_CANCELLED,
        target=invitation,
        shop=invitation.shop,
        changes={"cancelled_at": [None, _iso(invitation.cancelled_at)]},
    )
    return invitation


def invitation_for_code(code: str, *, lock: bool = False) -> EngagementInvitation:
    """Return the open invitation a code names; a forged, expired, used or cancelled code raises."""
    try:
        payload = signing.loads(code.strip(), salt=INVITATION_SALT, max_age=INVITATION_LIFETIME)
    except signing.SignatureExpired as error:
        raise ValidationError(INVITATION_EXPIRED) from error
    except signing.BadSignature as error:
        raise ValidationError(INVITATION_INVALID) from error
    invitation_id = payload.get("invitation") if isinstance(payload, dict) else None
    rows = EngagementInvitation.objects.select_related("shop", "shop__workspace")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(pk=invitation_id).first() if isinstance(invitation_id, int) else None
    if invitation is None:
        raise ValidationError(INVITATION_INVALID)
    if invitation.accepted_at is not None:
        raise ValidationError(INVITATION_USED)
    if invitation.cancelled_at is not None:
        raise ValidationError(INVITATION_CANCELLED)
    if invitation.expires_at <= timezone.now():
        raise ValidationError(INVITATION_EXPIRED)
    return invitation


@transaction.atomic
def engagement_invitation_accept(*, actor: Actor, code: str, agency: Workspace) -> Engagement:
    """Accept an invitation for the agency the actor is admin of: the agency now works the shop."""
    require_workspace_admin(actor, agency.id)
    if agency.kind != Workspace.Kind.AGENCY:
        raise ValidationError(services.INVITATION_NOT_AGENCY)
    invitation = invitation_for_code(code, lock=True)
    shop = invitation.shop
    if shop.archived_at is not None:
        raise ValidationError(services.SHOP_ARCHIVED)
    engagement = services.engagement_insert(
        actor_user=actor.user,
        agency=agency,
        shop=shop,
        mode=invitation.mode,
        starts_on=invitation.starts_on or timezone.localdate(),
        ends_on=invitation.ends_on,
    )
    invitation.accepted_at = timezone.now()
    invitation.engagement = engagement
    invitation.save(update_fields=["accepted_at", "engagement"])
    return engagement
