"""Operations pages of a shop: reply templates, the after-hours reply, the approval queue.

Each view parses input, fetches what the user names through an `access_*` function, calls one
service and renders; strangers to the shop get 404, its client (owner) 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from madoguchi.conversations.selectors import access_ticket, reply_delivery_notice
from madoguchi.conversations.taxonomy import choosable_categories
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.core.service_forms import error_text
from madoguchi.operations.forms import (
    AfterHoursForm,
    DraftReturnForm,
    DraftReviewForm,
    ReplyTemplateForm,
)
from madoguchi.operations.models import ReplyTemplate
from madoguchi.operations.replies import (
    after_hours_settings_save,
    reply_draft_approve,
    reply_draft_return,
    reply_template_save,
    template_render,
    text_diff,
)
from madoguchi.operations.reply_selectors import (
    access_reply_draft,
    access_reply_template,
    after_hours_settings,
    approval_queue,
    shop_templates,
)
from madoguchi.operations.view_access import lead_shop, request_actor, staff_shop
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop


def _is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _page(request: HttpRequest, template: str, shop: Shop, context: dict[str, Any]) -> HttpResponse:
    """Render an operations page; the menu offers the approval queue to supervisors only."""
    is_lead = request_actor(request).is_lead_for(shop.id)
    return render(request, template, {"shop": shop, "is_lead": is_lead, **context})


def _lead_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    return lead_shop(request, shop_slug, "Only a supervisor may approve replies.")


# Templates --------------------------------------------------------------------------------------


def _template_form(
    shop: Shop, data: object = None, template: ReplyTemplate | None = None
) -> ReplyTemplateForm:
    initial = {"language": shop.default_language, "is_active": True}
    if template is not None:
        initial = {
            "name": template.name,
            "language": template.language,
            "body": template.body,
            "set_status": template.set_status,
            "set_tags": ", ".join(template.set_tags),
            "set_category": template.set_category_id,
            "is_active": template.is_active,
        }
    # A deactivated category is offered only to the template that already sets it.
    categories = choosable_categories(
        shop_id=shop.id, keep_id=template.set_category_id if template is not None else None
    )
    return ReplyTemplateForm(data, categories=categories, initial=initial)


def _save_template(
    request: HttpRequest,
    actor: Actor,
    shop: Shop,
    form: ReplyTemplateForm,
    template: ReplyTemplate | None,
) -> HttpResponse | None:
    if not form.is_valid():
        return None
    cleaned = form.cleaned_data
    try:
        reply_template_save(
            actor=actor,
            shop=shop,
            template=template,
            name=cleaned["name"],
            language=cleaned["language"],
            body=cleaned["body"],
            set_status=cleaned["set_status"] or "",
            set_tags=form.tag_names(),
            set_category=cleaned["set_category"],
            is_active=bool(cleaned["is_active"]),
        )
    except ValidationError as error:
        form.add_error(None, error_text(error))
        return None
    messages.success(request, gettext("The template was saved."))
    return redirect(reverse("operations:templates", args=[shop.slug]))


@login_required
@require_http_methods(["GET", "POST"])
def template_list(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """List the shop's reply templates and add one."""
    actor, shop = staff_shop(request, shop_slug)
    form = _template_form(shop, request.POST if request.method == "POST" else None)
    if request.method == "POST" and (done := _save_template(request, actor, shop, form, None)):
        return done
    return _page(
        request,
        "operations/template_list.html",
        shop,
        {"templates": list(shop_templates(shop_id=shop.id)), "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, shop_slug: str, template_id: int) -> HttpResponse:
    """Change one reply template."""
    actor, shop = staff_shop(request, shop_slug)
    template = access_reply_template(actor=actor, shop_id=shop.id, template_id=template_id)
    data = request.POST if request.method == "POST" else None
    form = _template_form(shop, data, template)
    if request.method == "POST" and (done := _save_template(request, actor, shop, form, template)):
        return done
    return _page(
        request, "operations/template_edit.html", shop, {"template": template, "form": form}
    )


@login_required
@require_GET
def template_fill(request: HttpRequest, shop_slug: str, number: int) -> HttpResponse:
    """Fill the reply box with a template for this ticket (htmx); plain requests go to the page."""
    actor = request_actor(request)
    ticket = access_ticket(actor=actor, shop_slug=shop_slug, number=number)
    require_staff(actor=actor, shop_id=ticket.shop_id)
    raw = request.GET.get("template", "")
    ticket_url = reverse("conversations:ticket", args=[ticket.shop.slug, ticket.number])
    if not raw.isdigit():
        if not raw:
            return render(
                request, "operations/_reply_body.html", {"body": "", "template": None, "empty": []}
            )
        raise NotFoundError("Template not found")
    template = access_reply_template(actor=actor, shop_id=ticket.shop_id, template_id=int(raw))
    if not _is_htmx(request):
        return redirect(f"{ticket_url}?template={template.id}")
    rendered = template_render(template=template, ticket=ticket, operator=actor)
    context = {"body": rendered.text, "template": template, "empty": rendered.empty_labels}
    return render(request, "operations/_reply_body.html", context)


# After-hours reply ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def after_hours(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Switch the shop's after-hours reply on or off and edit its text (others read it)."""
    actor, shop = staff_shop(request, shop_slug)
    current = after_hours_settings(shop_id=shop.id)
    if request.method == "POST":
        if not actor.is_lead_for(shop.id):
            raise PermissionDeniedError(
                gettext_noop("Only a supervisor or admin may change the after-hours reply.")
            )
        form = AfterHoursForm(request.POST)
        if form.is_valid():
            try:
                after_hours_settings_save(
                    actor=actor,
                    shop=shop,
                    is_enabled=bool(form.cleaned_data["is_enabled"]),
                    body=form.cleaned_data["body"] or "",
                )
            except ValidationError as error:
                form.add_error(None, error_text(error))
            else:
                messages.success(request, gettext("The after-hours reply was saved."))
                return redirect(reverse("operations:after_hours", args=[shop.slug]))
    else:
        initial = {"is_enabled": current.is_enabled, "body": current.body} if current else {}
        form = AfterHoursForm(initial=initial)
    return _page(request, "operations/after_hours.html", shop, {"form": form, "current": current})


# Approval queue ---------------------------------------------------------------------------------


@login_required
@require_GET
def approvals(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """List the trainees' replies waiting for a supervisor of the shop."""
    _, shop = _lead_shop(request, shop_slug)
    return _page(
        request,
        "operations/approvals.html",
        shop,
        {"drafts": list(approval_queue(shop_id=shop.id))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def draft_review(request: HttpRequest, shop_slug: str, draft_id: int) -> HttpResponse:
    """Read a trainee's reply, edit it (the difference is shown), approve it or send it back."""
    actor, shop = _lead_shop(request, shop_slug)
    draft = access_reply_draft(actor=actor, shop_id=shop.id, draft_id=draft_id)
    review_form = DraftReviewForm(initial={"body": draft.body_text})
    return_form = DraftReturnForm()
    diff = None
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "return":
        return_form = DraftReturnForm(request.POST)
        if return_form.is_valid():
            try:
                reply_draft_return(
                    actor=actor, draft=draft, comment=return_form.cleaned_data["comment"]
                )
            except ValidationError as error:
                return_form.add_error(None, error_text(error))
            else:
                messages.success(request, gettext("The reply was sent back to its author."))
                return redirect(reverse("operations:approvals", args=[shop.slug]))
    elif request.method == "POST":
        review_form = DraftReviewForm(request.POST)
        if review_form.is_valid():
            body = review_form.cleaned_data["body"].replace("\r\n", "\n").strip()
            diff = text_diff(draft.body_text, body)
            if action == "approve":
                try:
                    sent = reply_draft_approve(actor=actor, draft=draft, body_text=body)
                except (ValidationError, PermissionDeniedError) as error:
                    review_form.add_error(None, error_text(error))
                else:
                    # Approved is not delivered: say what the channel did with it.
                    messages.success(request, gettext("The reply was approved."))
                    level, notice = reply_delivery_notice(message_id=sent.id)
                    messages.add_message(request, level, notice)
                    return redirect(reverse("operations:approvals", args=[shop.slug]))
    return _page(
        request,
        "operations/draft_review.html",
        shop,
        {
            "draft": draft,
            "review_form": review_form,
            "return_form": return_form,
            "diff": diff,
            "is_edited": diff is not None and any(line.kind != "same" for line in diff),
        },
    )
