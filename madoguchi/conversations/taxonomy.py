"""A shop's categories and tags: the writes of their settings page and the reads it shows.

Supervisors and admins of the shop add, rename and remove them; every change is audited. A
category that tickets (or anything else) still point at is deactivated instead of deleted, so
those tickets keep it while new ones cannot choose it. Tags are typed freely on tickets; one in
use cannot be deleted (its tickets would lose it silently), only renamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import Count, ForeignObjectRel, Q
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.models import Category, Tag, Ticket
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop

LEADS_ONLY = gettext_noop("Only a supervisor or an admin may change categories and tags.")
NAME_REQUIRED = gettext_noop("Enter a name.")
CATEGORY_EXISTS = gettext_noop("A category of this name exists.")
TAG_EXISTS = gettext_noop("A tag of this name exists.")
TAG_IN_USE = gettext_noop("This tag is on tickets; it can be renamed, but not deleted.")

NamedRow = TypeVar("NamedRow", Category, Tag)


def _require_lead(actor: Actor, shop: Shop) -> None:
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(LEADS_ONLY)


def _clean(raw: str, max_length: int) -> str:
    name = " ".join(raw.split())[:max_length]
    if not name:
        raise ValidationError(NAME_REQUIRED)
    return name


def is_referenced(row: models.Model) -> bool:
    """Whether any row of any model points at `row` (foreign keys and many-to-many alike).

    Read from the model's relations, so a reference added by another app later (a reply
    template's category, a routing rule) counts without this module knowing it.
    """
    for relation in row._meta.get_fields(include_hidden=True):
        # Hidden relations too: a reply template's `set_category` has no reverse accessor.
        if not isinstance(relation, ForeignObjectRel):
            continue
        related = relation.related_model
        assert isinstance(related, type) and issubclass(related, models.Model)
        lookup = relation.field.name
        # The base manager: the related rows belong to the same shop as `row`, whatever scope.
        if related._base_manager.filter(**{lookup: row}).exists():
            return True
    return False


# Categories ---------------------------------------------------------------------------------------


@transaction.atomic
def category_save(
    *, actor: Actor, shop: Shop, name: str, category: Category | None = None
) -> Category:
    """Add a category to the shop (`category` None) or rename one."""
    if category is not None and category.shop_id != shop.id:
        raise NotFoundError("Category not found")
    row = category or Category(shop=shop)
    return _named_save(
        actor=actor,
        row=row,
        name=_clean(name, 100),
        taken=CATEGORY_EXISTS,
        action=actions.CATEGORY_SAVED,
    )


def _named_save(*, actor: Actor, row: NamedRow, name: str, taken: str, action: str) -> NamedRow:
    """Save a shop's category or tag under `name`, unique in the shop (`taken` otherwise)."""
    _require_lead(actor, row.shop)
    if row.pk is not None and row.name == name:
        return row
    before = row.name if row.pk is not None else None
    if type(row).objects.filter(shop=row.shop, name=name).exists():
        raise ValidationError(taken)
    row.name = name
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as error:
        raise ValidationError(taken) from error
    record(
        actor=actor.user, action=action, target=row, shop=row.shop, changes={"name": [before, name]}
    )
    return row


@transaction.atomic
def category_set_active(*, actor: Actor, category: Category, is_active: bool) -> Category:
    """Deactivate a category (new tickets cannot choose it) or bring it back."""
    _require_lead(actor, category.shop)
    if category.is_active == is_active:
        return category
    category.is_active = is_active
    category.save(update_fields=["is_active"])
    record(
        actor=actor.user,
        action=actions.CATEGORY_SAVED,
        target=category,
        shop=category.shop,
        changes={"is_active": [not is_active, is_active]},
    )
    return category


@transaction.atomic
def category_delete(*, actor: Actor, category: Category) -> bool:
    """Delete an unused category and return True; a category in use is deactivated (False)."""
    _require_lead(actor, category.shop)
    if is_referenced(category):
        category_set_active(actor=actor, category=category, is_active=False)
        return False
    record(
        actor=actor.user,
        action=actions.CATEGORY_DELETED,
        target=category,
        shop=category.shop,
        changes={"name": [category.name, None], "is_active": [category.is_active, None]},
    )
    category.delete()
    return True


# Tags ---------------------------------------------------------------------------------------------


@transaction.atomic
def tag_save(*, actor: Actor, shop: Shop, name: str, tag: Tag | None = None) -> Tag:
    """Add a tag to the shop (`tag` None) or rename one (its tickets show the new name)."""
    if tag is not None and tag.shop_id != shop.id:
        raise NotFoundError("Tag not found")
    row = tag or Tag(shop=shop)
    return _named_save(
        actor=actor, row=row, name=_clean(name, 50), taken=TAG_EXISTS, action=actions.TAG_SAVED
    )


@transaction.atomic
def tag_delete(*, actor: Actor, tag: Tag) -> None:
    """Delete a tag no ticket carries."""
    _require_lead(actor, tag.shop)
    if is_referenced(tag):
        raise ValidationError(TAG_IN_USE)
    record(
        actor=actor.user,
        action=actions.TAG_DELETED,
        target=tag,
        shop=tag.shop,
        changes={"name": [tag.name, None]},
    )
    tag.delete()


# Reads --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxonomyRow:
    id: int
    name: str
    is_active: bool
    ticket_count: int


def shop_categories(*, shop: Shop) -> list[TaxonomyRow]:
    """The shop's categories by name with how many tickets carry each (the settings page)."""
    counts = dict(
        Ticket.objects.filter(shop=shop, category__isnull=False)
        .values_list("category_id")
        .annotate(count=Count("id"))
        .values_list("category_id", "count")
    )
    return [
        TaxonomyRow(row.id, row.name, row.is_active, counts.get(row.id, 0))
        for row in Category.objects.filter(shop=shop).order_by("name", "id")
    ]


def shop_tags(*, shop: Shop) -> list[TaxonomyRow]:
    """The shop's tags by name with how many tickets carry each."""
    rows = Tag.objects.filter(shop=shop).annotate(ticket_count=Count("tickets")).order_by("name")
    return [TaxonomyRow(row.id, row.name, True, row.ticket_count) for row in rows]


def access_category(*, shop: Shop, category_id: int) -> Category:
    category = Category.objects.filter(shop=shop, pk=category_id).select_related("shop").first()
    if category is None:
        raise NotFoundError("Category not found")
    return category


def access_tag(*, shop: Shop, tag_id: int) -> Tag:
    tag = Tag.objects.filter(shop=shop, pk=tag_id).select_related("shop").first()
    if tag is None:
        raise NotFoundError("Tag not found")
    return tag


def choosable_categories(*, shop_id: int, keep_id: int | None = None) -> models.QuerySet[Category]:
    """The categories a ticket or a template may be given: the active ones, plus `keep_id` (the
    one it already has, so that saving it unchanged keeps a deactivated category)."""
    return Category.objects.filter(Q(is_active=True) | Q(pk=keep_id), shop_id=shop_id).order_by(
        "name"
    )
