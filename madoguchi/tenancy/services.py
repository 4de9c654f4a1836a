"""Writes of tenancy: the first workspace, workspaces, shops and engagements.

Only admins write. A workspace's admin changes the workspace and creates its shops (an agency's
admin creates a client's shop together with the client company and the engagement); an admin who
works a shop (its owner's or an engaged agency's) changes the shop's settings; the admins of either
side of an engagement change or end it (invitations from a shop company to an agency are in
`tenancy.invitations`). Every change is audited with before and after values.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import ConflictError, PermissionDeniedError, ValidationError
from madoguchi.tenancy.access import Actor, Role, require_workspace_admin
from madoguchi.tenancy.models import (
    Engagement,
    Membership,
    Shop,
    Workspace,
)

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

TICKET_PREFIX = re.compile(r"[A-Z0-9]{2,10}")
SETUP_LABEL = "madoguchi setup"

# The messages services raise are English msgids; pages show them translated (`gettext`).
PREFIX_INVALID = gettext_noop("A ticket prefix is 2 to 10 capital letters or digits (A-Z, 0-9).")
PREFIX_TAKEN = gettext_noop("Another shop uses this ticket prefix.")
NAME_REQUIRED = gettext_noop("Enter a name.")
TIME_ZONE_UNKNOWN = gettext_noop("Unknown time zone.")
LANGUAGE_UNKNOWN = gettext_noop("Unknown language.")
CLIENT_NAME_REQUIRED = gettext_noop("Enter the name of the client company.")
PERIOD_REVERSED = gettext_noop("The end date must not be before the start date.")
OVERLAPPING_ENGAGEMENT = gettext_noop("This agency already works this shop in that period.")
SHOP_ADMIN_ONLY = gettext_noop("Only an admin may change the shop's settings.")
ENGAGEMENT_ADMIN_ONLY = gettext_noop(
    "Only an admin of the agency or of the shop company may do this."
)
INVITATION_NOT_AGENCY = gettext_noop("Only a support agency can accept an invitation.")
MODE_UNKNOWN = gettext_noop("Unknown engagement mode.")
SHOP_ARCHIVED = gettext_noop("This shop is archived.")
ALREADY_SET_UP = gettext_noop("Madoguchi is already set up: a workspace or a user exists.")
EMAIL_INVALID = gettext_noop("Enter a valid email address.")
KIND_UNKNOWN = gettext_noop("The kind is agency or merchant.")
AGENCY_SHOP_IN_SETUP = gettext_noop(
    "An agency's client shops are created in the browser after setup."
)


# Checks shared by the pages and `madoguchi setup` -------------------------------------------------


def clean_name(raw: str, *, max_length: int = 200) -> str:
    """Return the name with its whitespace collapsed; an empty name is a ValidationError."""
    name = " ".join(raw.split())[:max_length]
    if not name:
        raise ValidationError(NAME_REQUIRED)
    return name


def clean_ticket_prefix(raw: str, *, shop_id: int | None = None) -> str:
    """Return the prefix in capitals (full-width letters folded); refuse a malformed or taken one.

    `shop_id` is the shop that may keep its own prefix.
    """
    prefix = unicodedata.normalize("NFKC", raw).strip().upper()
    if not TICKET_PREFIX.fullmatch(prefix):
        raise ValidationError(PREFIX_INVALID)
    taken = Shop.objects.filter(ticket_prefix=prefix)
    if shop_id is not None:
        taken = taken.exclude(pk=shop_id)
    if taken.exists():
        raise ValidationError(PREFIX_TAKEN)
    return prefix


def suggest_ticket_prefix(name: str) -> str:
    """Return a free prefix made of the name's Latin letters, else SHOP, numbered if taken."""
    letters = re.sub(r"[^A-Z0-9]", "", unicodedata.normalize("NFKC", name).upper())
    base = letters[:4] if len(letters) >= 2 else "SHOP"
    candidate, number = base, 1
    while Shop.objects.filter(ticket_prefix=candidate).exists():
        number += 1
        candidate = f"{base[: 10 - len(str(number))]}{number}"
    return candidate


def clean_time_zone(raw: str) -> str:
    name = raw.strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(TIME_ZONE_UNKNOWN) from error
    return name


def clean_language(raw: str) -> str:
    if raw not in {code for code, _ in settings.LANGUAGES}:
        raise ValidationError(LANGUAGE_UNKNOWN)
    return raw


def clean_email(raw: str) -> str:
    email = raw.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as error:
        raise ValidationError(EMAIL_INVALID) from error
    return email


def check_password(password: str, *, email: str, display_name: str) -> None:
    """Run the configured password validators; their messages are joined into one error."""
    from madoguchi.accounts.models import User

    try:
        password_validation.validate_password(
            password, user=User(email=email, display_name=display_name)
        )
    except DjangoValidationError as error:
        raise ValidationError(" ".join(error.messages)) from error


def new_workspaces_require_two_factor() -> bool:
    """Whether a new workspace starts with two-step sign-in required of all its staff
    (`MADOGUCHI["NEW_WORKSPACES_REQUIRE_TWO_FACTOR"]`, on by default; its admins may turn it
    off, audited)."""
    return bool(settings.MADOGUCHI.get("NEW_WORKSPACES_REQUIRE_TWO_FACTOR", True))


def _unique_slug(model: type[models.Model], name: str, fallback: str) -> str:
    """A slug from the name's Latin letters, else `fallback`; numbered until no row has it."""
    base = slugify(name)[:40].strip("-") or fallback
    candidate, number = base, 1
    while model._default_manager.filter(slug=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _workspace_fallback_slug() -> str:
    return f"ws-{Workspace.objects.count() + 1}"


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _moment(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def check_period(starts_on: dt.date, ends_on: dt.date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError(PERIOD_REVERSED)


def _check_no_overlap(
    *,
    agency_id: int,
    shop_id: int,
    starts_on: dt.date,
    ends_on: dt.date | None,
    exclude_id: int | None = None,
) -> None:
    others = Engagement.objects.filter(agency_id=agency_id, shop_id=shop_id)
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    overlapping = others.filter(models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=starts_on))
    if ends_on is not None:
        overlapping = overlapping.filter(starts_on__lte=ends_on)
    if overlapping.exists():
        raise ValidationError(OVERLAPPING_ENGAGEMENT)


# The first workspace ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupResult:
    workspace: Workspace
    admin: User
    shop: Shop | None


def is_set_up() -> bool:
    """Whether any workspace or user exists (then `workspace_setup` refuses)."""
    from madoguchi.accounts.models import User

    return Workspace.objects.exists() or User.objects.exists()


@transaction.atomic
def workspace_setup(
    *,
    workspace_name: str,
    kind: str,
    admin_email: str,
    admin_password: str,
    admin_name: str = "",
    shop_name: str = "",
    shop_prefix: str = "",
) -> SetupResult:
    """Create the first workspace and its admin on an empty database (`madoguchi setup`).

    A shop company (merchant) gets its first shop, named after the workspace unless `shop_name`
    says otherwise; an agency creates its clients' shops in the browser.
    """
    from madoguchi.accounts.models import User

    if is_set_up():
        raise ConflictError(ALREADY_SET_UP)
    if kind not in Workspace.Kind.values:
        raise ValidationError(KIND_UNKNOWN)
    name = clean_name(workspace_name)
    email = clean_email(admin_email)
    display_name = " ".join(admin_name.split())[:100] or email.split("@", 1)[0]
    check_password(admin_password, email=email, display_name=display_name)
    if kind == Workspace.Kind.AGENCY and (shop_name.strip() or shop_prefix.strip()):
        raise ValidationError(AGENCY_SHOP_IN_SETUP)

    admin = User.objects.create_user(email, admin_password, display_name=display_name)
    workspace = Workspace.objects.create(
        name=name,
        kind=kind,
        slug=_unique_slug(Workspace, name, _workspace_fallback_slug()),
        requires_two_factor=new_workspaces_require_two_factor(),
    )
    Membership.objects.create(user=admin, workspace=workspace, role=Role.ADMIN)
    record(
        actor=None,
        actor_label=SETUP_LABEL,
        action=actions.WORKSPACE_CREATED,
        target=workspace,
        changes={
            "name": [None, workspace.name],
            "kind": [None, workspace.kind],
            "admin": [None, admin.email],
        },
    )
    shop = None
    if kind == Workspace.Kind.MERCHANT:
        shop_display_name = clean_name(shop_name or name)
        prefix = (
            clean_ticket_prefix(shop_prefix)
            if shop_prefix.strip()
            else suggest_ticket_prefix(shop_display_name)
        )
        shop = _shop_insert(workspace=workspace, name=shop_display_name, ticket_prefix=prefix)
        _record_shop_created(actor_user=None, shop=shop, actor_label=SETUP_LABEL)
    return SetupResult(workspace=workspace, admin=admin, shop=shop)


# Workspaces ---------------------------------------------------------------------------------------


@transaction.atomic
def workspace_update(*, actor: Actor, workspace: Workspace, name: str) -> Workspace:
    """Rename a workspace (its admins only)."""
    require_workspace_admin(actor, workspace.id)
    new_name = clean_name(name)
    if new_name == workspace.name:
        return workspace
    before = workspace.name
    workspace.name = new_name
    workspace.save(update_fields=["name"])
    record(
        actor=actor.user,
        action=actions.WORKSPACE_UPDATED,
        target=workspace,
        changes={"name": [before, new_name]},
    )
    return workspace


# Shops --------------------------------------------------------------------------------------------


def _shop_insert(*, workspace: Workspace, name: str, ticket_prefix: str) -> Shop:
    slug = _unique_slug(Shop, name, ticket_prefix.lower())
    try:
        with transaction.atomic():
            return Shop.objects.create(
                workspace=workspace, name=name, slug=slug, ticket_prefix=ticket_prefix
            )
    except IntegrityError as error:  # another request took the prefix a moment ago
        raise ValidationError(PREFIX_TAKEN) from error


def _record_shop_created(*, actor_user: User | None, shop: Shop, actor_label: str = "") -> None:
    record(
        actor=actor_user,
        actor_label=actor_label,
        action=actions.SHOP_CREATED,
        target=shop,
        shop=shop,
        changes={
            "name": [None, shop.name],
            "ticket_prefix": [None, shop.ticket_prefix],
            "workspace": [None, shop.workspace.name],
        },
    )


def engagement_insert(
    *,
    actor_user: User | None,
    agency: Workspace,
    shop: Shop,
    mode: str,
    starts_on: dt.date,
    ends_on: dt.date | None,
) -> Engagement:
    """Insert an audited engagement after checking its mode, period and overlaps.

    The caller has authorised the actor (a new client shop, an accepted invitation).
    """
    if mode not in Engagement.Mode.values:
        raise ValidationError(MODE_UNKNOWN)
    check_period(starts_on, ends_on)
    _check_no_overlap(agency_id=agency.id, shop_id=shop.id, starts_on=starts_on, ends_on=ends_on)
    engagement = Engagement.objects.create(
        agency=agency, shop=shop, mode=mode, starts_on=starts_on, ends_on=ends_on
    )
    record(
        actor=actor_user,
        action=actions.ENGAGEMENT_CREATED,
        target=engagement,
        shop=shop,
        changes={
            "agency": [None, agency.name],
            "mode": [None, mode],
            "starts_on": [None, _day(starts_on)],
            "ends_on": [None, _day(ends_on)],
        },
    )
    return engagement


@transaction.atomic
def shop_create(
    *,
    actor: Actor,
    workspace: Workspace,
    name: str,
    ticket_prefix: str,
    client_name: str = "",
    mode: str = Engagement.Mode.OUTSOURCED,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> Shop:
    """Create a shop of `workspace` (its admins only).

    A shop company's shop is its own. An agency's admin creates a client's shop: the client company
    becomes a new workspace that owns the shop, and the agency works it through a new engagement
    (`mode`, from `starts_on`, today by default, until `ends_on`).
    """
    require_workspace_admin(actor, workspace.id)
    shop_name = clean_name(name)
    prefix = clean_ticket_prefix(ticket_prefix)
    if workspace.kind == Workspace.Kind.MERCHANT:
        shop = _shop_insert(workspace=workspace, name=shop_name, ticket_prefix=prefix)
        _record_shop_created(actor_user=actor.user, shop=shop)
        return shop

    company_name = " ".join(client_name.split())[:200]
    if not company_name:
        raise ValidationError(CLIENT_NAME_REQUIRED)
    first_day = starts_on or timezone.localdate()
    check_period(first_day, ends_on)
    client = Workspace.objects.create(
        name=company_name,
        kind=Workspace.Kind.MERCHANT,
        slug=_unique_slug(Workspace, company_name, _workspace_fallback_slug()),
        requires_two_factor=new_workspaces_require_two_factor(),
    )
    record(
        actor=actor.user,
        action=actions.WORKSPACE_CREATED,
        target=client,
        changes={"name": [None, client.name], "kind": [None, client.kind]},
    )
    shop = _shop_insert(workspace=client, name=shop_name, ticket_prefix=prefix)
    _record_shop_created(actor_user=actor.user, shop=shop)
    engagement_insert(
        actor_user=actor.user,
        agency=workspace,
        shop=shop,
        mode=mode,
        starts_on=first_day,
        ends_on=ends_on,
    )
    return shop


def require_shop_admin(*, actor: Actor, shop: Shop) -> None:
    """Raise unless the actor is an admin who works the shop (owner's or engaged agency's)."""
    if actor.role_for(shop.id) != Role.ADMIN:
        raise PermissionDeniedError(SHOP_ADMIN_ONLY)


@transaction.atomic
def shop_update(
    *,
    actor: Actor,
    shop: Shop,
    name: str,
    ticket_prefix: str,
    time_zone: str,
    default_language: str,
) -> Shop:
    """Change a shop's name, ticket prefix, time zone and default language (admins only)."""
    require_shop_admin(actor=actor, shop=shop)
    wanted: dict[str, Any] = {
        "name": clean_name(name),
        "ticket_prefix": clean_ticket_prefix(ticket_prefix, shop_id=shop.id),
        "time_zone": clean_time_zone(time_zone),
        "default_language": clean_language(default_language),
    }
    changes = {
        field: [getattr(shop, field), value]
        for field, value in wanted.items()
        if getattr(shop, field) != value
    }
    if not changes:
        return shop
    for field, (_, value) in changes.items():
        setattr(shop, field, value)
    try:
        with transaction.atomic():
            shop.save(update_fields=list(changes))
    except IntegrityError as error:
        raise ValidationError(PREFIX_TAKEN) from error
    record(actor=actor.user, action=actions.SHOP_UPDATED, target=shop, shop=shop, changes=changes)
    return shop


@transaction.atomic
def shop_archive(*, actor: Actor, shop: Shop) -> Shop:
    """Archive a shop: it leaves the menus and lists; its tickets, customers and orders stay."""
    require_shop_admin(actor=actor, shop=shop)
    if shop.archived_at is not None:
        return shop
    shop.archived_at = timezone.now()
    shop.save(update_fields=["archived_at"])
    record(
        actor=actor.user,
        action=actions.SHOP_ARCHIVED,
        target=shop,
        shop=shop,
        changes={"archived_at": [None, _moment(shop.archived_at)]},
    )
    return shop


@transaction.atomic
def shop_unarchive(*, actor: Actor, shop: Shop) -> Shop:
    """Bring an archived shop back into the menus and lists."""
    require_shop_admin(actor=actor, shop=shop)
    if shop.archived_at is None:
        return shop
    before = shop.archived_at
    shop.archived_at = None
    shop.save(update_fields=["archived_at"])
    record(
        actor=actor.user,
        action=actions.SHOP_UNARCHIVED,
        target=shop,
        shop=shop,
        changes={"archived_at": [_moment(before), None]},
    )
    return shop


# Engagements --------------------------------------------------------------------------------------


def may_change_engagement(*, actor: Actor, engagement: Engagement) -> bool:
    """Whether the actor is an admin of the agency or of the shop's owner."""
    roles = actor.workspace_roles
    return Role.ADMIN in (roles.get(engagement.agency_id), roles.get(engagement.shop.workspace_id))


@transaction.atomic
def engagement_create(
    *,
    actor: Actor,
    agency: Workspace,
    shop: Shop,
    mode: str,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
) -> Engagement:
    """Let an agency work a shop, for someone who is admin of both (otherwise: an invitation)."""
    require_workspace_admin(actor, agency.id)
    require_workspace_admin(actor, shop.workspace_id)
    if agency.kind != Workspace.Kind.AGENCY:
        raise ValidationError(INVITATION_NOT_AGENCY)
    return engagement_insert(
        actor_user=actor.user,
        agency=agency,
        shop=shop,
        mode=mode,
        starts_on=starts_on,
        ends_on=ends_on,
    )


@transaction.atomic
def engagement_update(
    *,
    actor: Actor,
    engagement: Engagement,
    mode: str,
    starts_on: dt.date,
    ends_on: dt.date | None,
) -> Engagement:
    """Change an engagement's mode and period (admins of the agency or of the shop company)."""
    if not may_change_engagement(actor=actor, engagement=engagement):
        raise PermissionDeniedError(ENGAGEMENT_ADMIN_ONLY)
    if mode not in Engagement.Mode.values:
        raise ValidationError(MODE_UNKNOWN)
    check_period(starts_on, ends_on)
    _check_no_overlap(
        agency_id=engagement.agency_id,
        shop_id=engagement.shop_id,
        starts_on=starts_on,
        ends_on=ends_on,
        exclude_id=engagement.id,
    )
    wanted: dict[str, Any] = {"mode": mode, "starts_on": starts_on, "ends_on": ends_on}
    changed = [field for field, value in wanted.items() if getattr(engagement, field) != value]
    if not changed:
        return engagement
    changes: dict[str, list[Any]] = {}
    for field in changed:
        before, after = getattr(engagement, field), wanted[field]
        if field == "mode":
            changes[field] = [before, after]
        else:
            changes[field] = [_day(before), _day(after)]
        setattr(engagement, field, after)
    engagement.save(update_fields=changed)
    record(
        actor=actor.user,
        action=actions.ENGAGEMENT_UPDATED,
        target=engagement,
        shop=engagement.shop,
        changes=changes,
    )
    return engagement


@transaction.atomic
def engagement_end(*, actor: Actor, engagement: Engagement, ends_on: dt.date) -> Engagement:
    """End an engagement on `ends_on`, its last day: the agency loses the shop the day after."""
    if not may_change_engagement(actor=actor, engagement=engagement):
        raise PermissionDeniedError(ENGAGEMENT_ADMIN_ONLY)
    check_period(engagement.starts_on, ends_on)
    before = engagement.ends_on
    if before == ends_on:
        return engagement
    engagement.ends_on = ends_on
    engagement.save(update_fields=["ends_on"])
    record(
        actor=actor.user,
        action=actions.ENGAGEMENT_ENDED,
        target=engagement,
        shop=engagement.shop,
        changes={"ends_on": [_day(before), _day(ends_on)]},
    )
    return engagement
