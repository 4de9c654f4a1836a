"""Staff pages of the knowledge app: articles with revisions and diffs, the help center's
settings and categories, FAQ candidates, the improvement list, and the composer's article
search and "reply to draft article" on the ticket page.

Strangers to the shop get 404 (`access_shop`, `access_article`); what a role may not do is
403 (`knowledge.permissions`).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.core.errors import NotFoundError, PermissionDeniedError
from madoguchi.core.service_forms import service_errors_on
from madoguchi.knowledge import permissions, selectors
from madoguchi.knowledge.candidates import faq_candidates_refresh
from madoguchi.knowledge.forms import (
    ArticleForm,
    CategoryForm,
    ImprovementForm,
    KnowledgeSettingsForm,
)
from madoguchi.knowledge.models import Article, FaqCandidate, ImprovementItem
from madoguchi.knowledge.services import (
    article_archive,
    article_create,
    article_from_message,
    article_publish,
    article_update,
    candidate_convert,
    candidate_dismiss,
    category_save,
    improvement_save,
    knowledge_settings_save,
)
from madoguchi.tenancy.access import Actor, access_shop, shop_staff
from madoguchi.tenancy.models import Shop


def _shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor, access_shop(actor=actor, slug=shop_slug)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDeniedError(message)


@login_required
@require_GET
def articles(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """List the shop's articles the actor reads, by status, language and words."""
    actor, shop = _shop(request, shop_slug)
    _require(permissions.may_read_articles(actor, shop.id), gettext_noop("Not allowed."))
    status = request.GET.get("status", "")
    status = status if status in Article.Status.values else ""
    language = request.GET.get("language", "")
    language = language if language in ("ja", "en") else ""
    query = request.GET.get("q", "")[:100]
    return render(
        request,
        "knowledge/articles.html",
        {
            "shop": shop,
            "articles": selectors.article_list(
                actor=actor, shop=shop, status=status, language=language, query=query
            ),
            "status": status,
            "language": language,
            "query": query,
            "statuses": Article.Status.choices,
            "may_create": permissions.may_create_drafts(actor, shop.id),
        },
    )


def _article_form_page(
    request: HttpRequest,
    shop: Shop,
    form: ArticleForm,
    article: Article | None,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "knowledge/article_form.html",
        {"shop": shop, "form": form, "article": article},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def article_new(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Start a draft article."""
    actor, shop = _shop(request, shop_slug)
    _require(
        permissions.may_create_drafts(actor, shop.id),
        gettext_noop("You may not change this shop's articles."),
    )
    internal = permissions.may_read_internal(actor, shop.id)
    if request.method == "POST":
        form = ArticleForm(request.POST, shop_id=shop.id, may_write_internal=internal)
        if form.is_valid():
            data = form.cleaned_data
            with service_errors_on(form):
                article = article_create(
                    actor=actor,
                    shop=shop,
                    title=data["title"],
                    body=data["body"],
                    language=data["language"],
                    visibility=data["visibility"],
                    category=data["category"],
                    note=data["note"],
                )
                messages.success(request, gettext("The draft was saved."))
                return redirect("knowledge:article", shop_slug=shop.slug, article_id=article.pk)
        return _article_form_page(request, shop, form, None, status=400)
    form = ArticleForm(shop_id=shop.id, may_write_internal=internal)
    return _article_form_page(request, shop, form, None)


@login_required
@require_GET
def article(request: HttpRequest, shop_slug: str, article_id: int) -> HttpResponse:
    """Show an article with its revision history and what the actor may do with it."""
    actor, shop = _shop(request, shop_slug)
    found = selectors.access_article(actor=actor, shop=shop, article_id=article_id)
    return render(
        request,
        "knowledge/article.html",
        {
            "shop": shop,
            "article": found,
            "revisions": list(selectors.revisions(article=found)),
            "may_edit": permissions.may_edit_article(actor, found),
            "may_publish": permissions.may_publish_article(actor, found),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def article_edit(request: HttpRequest, shop_slug: str, article_id: int) -> HttpResponse:
    """Edit an article; each save with changed text is a new revision."""
    actor, shop = _shop(request, shop_slug)
    found = selectors.access_article(actor=actor, shop=shop, article_id=article_id)
    _require(
        permissions.may_edit_article(actor, found), gettext_noop("You may not edit this article.")
    )
    internal = permissions.may_read_internal(actor, shop.id)
    if request.method == "POST":
        form = ArticleForm(request.POST, shop_id=shop.id, may_write_internal=internal)
        if form.is_valid():
            data = form.cleaned_data
            with service_errors_on(form):
                article_update(
                    actor=actor,
                    article=found,
                    title=data["title"],
                    body=data["body"],
                    language=data["language"],
                    visibility=data["visibility"],
                    category=data["category"],
                    note=data["note"],
                    expected_revision=data["expected_revision"] or found.revision_number,
                )
                messages.success(request, gettext("The article was saved."))
                return redirect("knowledge:article", shop_slug=shop.slug, article_id=found.pk)
        return _article_form_page(request, shop, form, found, status=400)
    form = ArticleForm(
        shop_id=shop.id,
        may_write_internal=internal,
        initial={
            "title": found.title,
            "body": found.body,
            "language": found.language,
            "visibility": found.visibility,
            "category": found.category_id,
            "expected_revision": found.revision_number,
        },
    )
    return _article_form_page(request, shop, form, found)


@login_required
@require_POST
def article_publish_view(request: HttpRequest, shop_slug: str, article_id: int) -> HttpResponse:
    actor, shop = _shop(request, shop_slug)
    found = selectors.access_article(actor=actor, shop=shop, article_id=article_id)
    article_publish(actor=actor, article=found)
    messages.success(request, gettext("The article was published."))
    return redirect("knowledge:article", shop_slug=shop.slug, article_id=found.pk)


@login_required
@require_POST
def article_archive_view(request: HttpRequest, shop_slug: str, article_id: int) -> HttpResponse:
    actor, shop = _shop(request, shop_slug)
    found = selectors.access_article(actor=actor, shop=shop, article_id=article_id)
    article_archive(actor=actor, article=found)
    messages.success(request, gettext("The article was archived."))
    return redirect("knowledge:article", shop_slug=shop.slug, article_id=found.pk)


@login_required
@require_GET
def revision(request: HttpRequest, shop_slug: str, article_id: int, number: int) -> HttpResponse:
    """Show one revision and what it changed against the one before."""
    actor, shop = _shop(request, shop_slug)
    found = selectors.access_article(actor=actor, shop=shop, article_id=article_id)
    shown, lines = selectors.revision_diff(article=found, number=number)
    return render(
        request,
        "knowledge/revision.html",
        {"shop": shop, "article": found, "revision": shown, "lines": lines},
    )


@login_required
@require_http_methods(["GET", "POST"])
def settings(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The help center's settings and the article categories (the shop's leads)."""
    actor, shop = _shop(request, shop_slug)
    _require(
        actor.is_lead_for(shop.id),
        gettext_noop("Only a supervisor or admin may change the knowledge settings."),
    )
    current = selectors.knowledge_settings(shop_id=shop.id)
    status = 200
    category_form = CategoryForm()
    if request.method == "POST":
        form = KnowledgeSettingsForm(request.POST, instance=current)
        if form.is_valid():
            with service_errors_on(form):
                knowledge_settings_save(
                    actor=actor,
                    shop=shop,
                    is_help_center_enabled=form.cleaned_data["is_help_center_enabled"],
                    clients_may_edit=form.cleaned_data["clients_may_edit"],
                )
                messages.success(request, gettext("The knowledge settings were saved."))
                return redirect("knowledge:settings", shop_slug=shop.slug)
        status = 400
    else:
        form = KnowledgeSettingsForm(instance=current)
    return render(
        request,
        "knowledge/settings.html",
        {
            "shop": shop,
            "form": form,
            "category_form": category_form,
            "categories": list(selectors.categories(shop_id=shop.id)),
        },
        status=status,
    )


@login_required
@require_POST
def category_create(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor, shop = _shop(request, shop_slug)
    _require(
        actor.is_lead_for(shop.id),
        gettext_noop("Only a supervisor or admin may change the knowledge settings."),
    )
    form = CategoryForm(request.POST)
    if form.is_valid():
        with service_errors_on(form, fields={"name": "name"}):
            category_save(
                actor=actor,
                shop=shop,
                name=form.cleaned_data["name"],
                position=form.cleaned_data["position"],
            )
            messages.success(request, gettext("The category was saved."))
            return redirect("knowledge:settings", shop_slug=shop.slug)
    return render(
        request,
        "knowledge/settings.html",
        {
            "shop": shop,
            "form": KnowledgeSettingsForm(instance=selectors.knowledge_settings(shop_id=shop.id)),
            "category_form": form,
            "categories": list(selectors.categories(shop_id=shop.id)),
        },
        status=400,
    )


@login_required
@require_GET
def candidates(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The open FAQ candidates with their tickets, and the decided ones (leads)."""
    actor, shop = _shop(request, shop_slug)
    _require(
        permissions.may_manage_candidates(actor, shop.id),
        gettext_noop("Only a supervisor or admin may decide on FAQ candidates."),
    )
    return render(
        request,
        "knowledge/candidates.html",
        {
            "shop": shop,
            "open": selectors.faq_candidates(shop_id=shop.id),
            "converted": selectors.faq_candidates(
                shop_id=shop.id, status=FaqCandidate.Status.CONVERTED
            )[:20],
            "dismissed": selectors.faq_candidates(
                shop_id=shop.id, status=FaqCandidate.Status.DISMISSED
            )[:20],
        },
    )


@login_required
@require_POST
def candidates_refresh(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor, shop = _shop(request, shop_slug)
    _require(
        permissions.may_manage_candidates(actor, shop.id),
        gettext_noop("Only a supervisor or admin may decide on FAQ candidates."),
    )
    found = faq_candidates_refresh(shop_id=shop.id)
    messages.success(
        request, gettext("The candidates were recomputed: %(count)d open.") % {"count": len(found)}
    )
    return redirect("knowledge:candidates", shop_slug=shop.slug)


@login_required
@require_POST
def candidate_convert_view(request: HttpRequest, shop_slug: str, candidate_id: int) -> HttpResponse:
    actor, shop = _shop(request, shop_slug)
    candidate = selectors.access_candidate(actor=actor, shop=shop, candidate_id=candidate_id)
    created = candidate_convert(actor=actor, candidate=candidate)
    messages.success(request, gettext("A draft article was made from the candidate."))
    return redirect("knowledge:article_edit", shop_slug=shop.slug, article_id=created.pk)


@login_required
@require_POST
def candidate_dismiss_view(request: HttpRequest, shop_slug: str, candidate_id: int) -> HttpResponse:
    actor, shop = _shop(request, shop_slug)
    candidate = selectors.access_candidate(actor=actor, shop=shop, candidate_id=candidate_id)
    candidate_dismiss(actor=actor, candidate=candidate)
    messages.success(request, gettext("The candidate was dismissed."))
    return redirect("knowledge:candidates", shop_slug=shop.slug)


def _owners(shop: Shop) -> list[tuple[int, str]]:
    return [(person.pk, str(person)) for person in shop_staff(shop_id=shop.id)]


def _improvement_save(
    request: HttpRequest,
    actor: Actor,
    shop: Shop,
    form: ImprovementForm,
    item: ImprovementItem | None,
) -> HttpResponse | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    owners = {person.pk: person for person in shop_staff(shop_id=shop.id)}
    with service_errors_on(form):
        improvement_save(
            actor=actor,
            shop=shop,
            item=item,
            title=data["title"],
            kind=data["kind"],
            status=data["status"],
            description=data["description"],
            owner=owners.get(data["owner"]) if data["owner"] else None,
            ticket_numbers=data["ticket_numbers"],
        )
        messages.success(request, gettext("The improvement item was saved."))
        return redirect("knowledge:improvements", shop_slug=shop.slug)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def improvements(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The improvement list (everyone of the shop reads it; its leads add and change items)."""
    actor, shop = _shop(request, shop_slug)
    _require(permissions.may_read_improvements(actor, shop.id), gettext_noop("Not allowed."))
    may_edit = permissions.may_edit_improvements(actor, shop.id)
    form = ImprovementForm(owners=_owners(shop)) if may_edit else None
    status = 200
    if request.method == "POST":
        _require(
            may_edit, gettext_noop("Only a supervisor or admin may change the improvement list.")
        )
        form = ImprovementForm(request.POST, owners=_owners(shop))
        saved = _improvement_save(request, actor, shop, form, None)
        if saved is not None:
            return saved
        status = 400
    wanted = request.GET.get("status", "")
    wanted = wanted if wanted in ImprovementItem.Status.values else ""
    return render(
        request,
        "knowledge/improvements.html",
        {
            "shop": shop,
            "items": selectors.improvement_items(shop_id=shop.id, status=wanted),
            "form": form,
            "status": wanted,
            "statuses": ImprovementItem.Status.choices,
            "may_edit": may_edit,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def improvement_edit(request: HttpRequest, shop_slug: str, item_id: int) -> HttpResponse:
    actor, shop = _shop(request, shop_slug)
    item = selectors.access_improvement(actor=actor, shop=shop, item_id=item_id)
    _require(
        permissions.may_edit_improvements(actor, shop.id),
        gettext_noop("Only a supervisor or admin may change the improvement list."),
    )
    status = 200
    if request.method == "POST":
        form = ImprovementForm(request.POST, owners=_owners(shop))
        saved = _improvement_save(request, actor, shop, form, item)
        if saved is not None:
            return saved
        status = 400
    else:
        form = ImprovementForm(
            owners=_owners(shop),
            initial={
                "title": item.title,
                "kind": item.kind,
                "status": item.status,
                "owner": item.owner_id,
                "description": item.description,
                "ticket_numbers": " ".join(
                    str(number) for number in sorted(item.tickets.values_list("number", flat=True))
                ),
            },
        )
    return render(
        request,
        "knowledge/improvement_edit.html",
        {"shop": shop, "item": item, "form": form},
        status=status,
    )


@login_required
@require_GET
def composer_search(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The composer's article search (an htmx fragment): published articles with their text,
    each with a button that puts it into the reply box (staff)."""
    actor, shop = _shop(request, shop_slug)
    _require(actor.is_staff_for(shop.id), gettext_noop("Not allowed."))
    query = request.GET.get("q", "")[:100]
    found = selectors.staff_article_search(actor=actor, shop=shop, query=query) if query else []
    return render(
        request,
        "knowledge/_composer_results.html",
        {"shop": shop, "articles": found, "query": query},
    )


@login_required
@require_POST
def article_from_reply(request: HttpRequest, shop_slug: str, message_id: int) -> HttpResponse:
    """Turn a staff reply into a draft article and open it for editing."""
    from madoguchi.conversations.models import Message

    actor, shop = _shop(request, shop_slug)
    message = (
        Message.objects.filter(shop=shop, pk=message_id, direction=Message.Direction.OUTBOUND)
        .select_related("ticket", "ticket__shop")
        .first()
    )
    if message is None:
        raise NotFoundError("Message not found")
    created = article_from_message(actor=actor, message=message)
    messages.success(request, gettext("A draft article was made from the reply."))
    return redirect("knowledge:article_edit", shop_slug=shop.slug, article_id=created.pk)
