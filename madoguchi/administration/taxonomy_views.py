"""The categories and tags page of a shop: supervisors and admins change them, operators read.

A shop the actor cannot see is a 404, its client (owner) gets a 403. Each change is one POST with
an `action`; an invalid one re-renders the page with the error beside what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_http_methods

from madoguchi.administration.shop_forms import CategoryForm, TagForm
from madoguchi.administration.shop_views import calendar_url
from madoguchi.conversations import taxonomy
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.service_forms import error_text
from madoguchi.operations.view_access import staff_shop
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop

UNKNOWN_ACTION = gettext_noop("Unknown action.")


@dataclass
class RowError:
    """A rename that failed: the row shows what was typed and why it was refused."""

    kind: str
    row_id: int
    name: str
    message: str


_TAXONOMY_ACTIONS = {
    "category_add",
    "category_rename",
    "category_deactivate",
    "category_activate",
    "category_delete",
    "tag_add",
    "tag_rename",
    "tag_delete",
}


@login_required
@require_http_methods(["GET", "POST"])
def taxonomy_page(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's categories and tags: leads add, rename and remove them; operators read."""
    actor, shop = staff_shop(request, shop_slug)
    can_edit = actor.is_lead_for(shop.id)
    category_form = CategoryForm(prefix="category")
    tag_form = TagForm(prefix="tag")
    row_error: RowError | None = None
    if request.method == "POST":
        if not can_edit:
            raise PermissionDeniedError(taxonomy.LEADS_ONLY)
        action = request.POST.get("action", "")
        if action not in _TAXONOMY_ACTIONS:
            raise ValidationError(UNKNOWN_ACTION)
        outcome = _taxonomy_action(request, actor, shop, action)
        if isinstance(outcome, HttpResponse):
            return outcome
        if isinstance(outcome, RowError):
            row_error = outcome
        elif isinstance(outcome, CategoryForm):
            category_form = outcome
        else:
            tag_form = outcome
    return render(
        request,
        "administration/shops/taxonomy.html",
        {
            "shop": shop,
            "is_lead": can_edit,
            "calendar_url": calendar_url(shop) if can_edit else None,
            "can_edit": can_edit,
            "categories": taxonomy.shop_categories(shop=shop),
            "tags": taxonomy.shop_tags(shop=shop),
            "category_form": category_form,
            "tag_form": tag_form,
            "row_error": row_error,
        },
    )


def _field_errors(form: forms.Form, field: str) -> str:
    return " ".join(str(error) for error in form.errors.get(field, []))


def _row_id(request: HttpRequest) -> int:
    raw = request.POST.get("id", "")
    if not raw.isdigit():
        raise ValidationError(UNKNOWN_ACTION)
    return int(raw)


def _taxonomy_action(
    request: HttpRequest, actor: Actor, shop: Shop, action: str
) -> HttpResponse | RowError | CategoryForm | TagForm:
    """Carry out one action: a redirect when done, else what the page shows with the error."""
    page = redirect(reverse("administration:taxonomy", args=[shop.slug]))
    kind, verb = action.split("_", 1)
    if verb == "add":
        form: CategoryForm | TagForm = (
            CategoryForm(request.POST, prefix="category")
            if kind == "category"
            else TagForm(request.POST, prefix="tag")
        )
        if not form.is_valid():
            return form
        try:
            if kind == "category":
                taxonomy.category_save(actor=actor, shop=shop, name=form.cleaned_data["name"])
            else:
                taxonomy.tag_save(actor=actor, shop=shop, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error_text(error))
            return form
        messages.success(request, gettext("Added %(name)s.") % {"name": form.cleaned_data["name"]})
        return page

    row_id = _row_id(request)
    if kind == "category":
        category = taxonomy.access_category(shop=shop, category_id=row_id)
        if verb in ("activate", "deactivate"):
            taxonomy.category_set_active(
                actor=actor, category=category, is_active=verb == "activate"
            )
            messages.success(request, gettext("Saved %(name)s.") % {"name": category.name})
        elif verb == "delete":
            if taxonomy.category_delete(actor=actor, category=category):
                messages.success(request, gettext("Deleted %(name)s.") % {"name": category.name})
            else:
                messages.info(
                    request,
                    gettext(
                        "%(name)s is in use, so it was deactivated instead: its tickets keep it,"
                        " new tickets cannot choose it."
                    )
                    % {"name": category.name},
                )
        else:
            category_form = CategoryForm(request.POST)
            name = str(request.POST.get("name", ""))
            if not category_form.is_valid():
                return RowError(kind, row_id, name, _field_errors(category_form, "name"))
            try:
                taxonomy.category_save(
                    actor=actor,
                    shop=shop,
                    category=category,
                    name=category_form.cleaned_data["name"],
                )
            except ValidationError as error:
                return RowError(kind, row_id, name, error_text(error))
            messages.success(request, gettext("Saved %(name)s.") % {"name": category.name})
        return page

    tag = taxonomy.access_tag(shop=shop, tag_id=row_id)
    if verb == "delete":
        try:
            taxonomy.tag_delete(actor=actor, tag=tag)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, gettext("Deleted %(name)s.") % {"name": tag.name})
        return page
    tag_form = TagForm(request.POST)
    name = str(request.POST.get("name", ""))
    if not tag_form.is_valid():
        return RowError(kind, row_id, name, _field_errors(tag_form, "name"))
    try:
        taxonomy.tag_save(actor=actor, shop=shop, tag=tag, name=tag_form.cleaned_data["name"])
    except ValidationError as error:
        return RowError(kind, row_id, name, error_text(error))
    messages.success(request, gettext("Saved %(name)s.") % {"name": tag.name})
    return page
