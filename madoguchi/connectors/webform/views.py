"""The hosted contact form (public, embeddable) and its settings page for the shop's staff.

The public page has no CSRF token: it is embedded in the shop's own site, where a third-party
cookie would not reach it, and it changes nothing of a signed-in user. Abuse is held back by a
honeypot, per-IP and per-address rate limits (the client address by `core.client_address`,
counted in the shared cache) and size and type limits.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from madoguchi.connectors.webform import services
from madoguchi.connectors.webform.forms import ContactForm, WebFormSettingsForm, limits
from madoguchi.connectors.webform.models import WebForm
from madoguchi.core.client_address import client_address
from madoguchi.core.errors import NotFoundError, PermissionDeniedError
from madoguchi.core.service_forms import service_errors_on
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

LANGUAGES = ("ja", "en")


def _frame_headers(
    response: HttpResponse, web_form: WebForm | None, nonce: str | None = None
) -> HttpResponse:
    origins = " ".join(web_form.origin_list) if web_form is not None else ""
    # No script runs here, except the help-article suggestions' own file when the page drew a
    # nonce for it (knowledge's `help_suggestions` tag).
    scripts = f"'nonce-{nonce}'" if nonce else "'none'"
    response["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {scripts}; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors 'self' {origins}".strip()
    )
    response["Referrer-Policy"] = "same-origin"
    return response


def _client_ip(request: HttpRequest) -> str:
    return client_address(request) or ""


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def public_form(request: HttpRequest, public_key: str) -> HttpResponse:
    language = request.GET.get("lang", "ja")
    language = language if language in LANGUAGES else "ja"
    with unscoped("public web form: the form is found by its public key"):
        web_form = (
            WebForm.objects.filter(public_key=public_key, is_enabled=True)
            .select_related("shop")
            .first()
        )
    with translation.override(language):
        if web_form is None:
            response = render(request, "webform/unavailable.html", status=404)
            return _frame_headers(response, None)
        if web_form.shop.archived_at is not None:
            # Say so before the customer writes anything: nothing would reach the shop.
            context = {"shop": web_form.shop}
            response = render(request, "webform/unavailable.html", context, status=410)
            return _frame_headers(response, web_form)
        with in_shop(web_form.shop_id):
            response = _public_form(request, web_form, language)
        return _frame_headers(response, web_form, getattr(request, "_csp_nonce", None))


def _page(
    request: HttpRequest,
    web_form: WebForm,
    form: ContactForm,
    language: str,
    *,
    status: int = 200,
    notice: str = "",
) -> HttpResponse:
    context = {
        "web_form": web_form,
        "shop": web_form.shop,
        "form": form,
        "language": language,
        "notice": notice,
        "limits": limits(),
        "file_mb": limits()["file"] // (1024 * 1024),
        "total_mb": limits()["total"] // (1024 * 1024),
    }
    return render(request, "webform/public.html", context, status=status)


def _thanks(request: HttpRequest, web_form: WebForm, reference: str) -> HttpResponse:
    context = {"web_form": web_form, "shop": web_form.shop, "reference": reference}
    return render(request, "webform/thanks.html", context)


def _public_form(request: HttpRequest, web_form: WebForm, language: str) -> HttpResponse:
    if request.method == "GET":
        return _page(request, web_form, ContactForm(web_form=web_form), language)
    size = int(request.META.get("CONTENT_LENGTH") or 0)
    if size > limits()["total"] + 1024 * 1024:
        notice = _("What you sent is too large: attachments may be at most %(mb)d MB in total.") % {
            "mb": limits()["total"] // (1024 * 1024)
        }
        return _page(
            request, web_form, ContactForm(web_form=web_form), language, status=413, notice=notice
        )
    form = ContactForm(request.POST, web_form=web_form)
    if form.is_spam:
        # Bots get the usual answer and nothing is stored.
        return _thanks(request, web_form, "")
    refused = services.rate_limited(
        form=web_form, ip_address=_client_ip(request), email=request.POST.get("email", "")
    )
    if refused:
        notice = _(
            "We have received many messages from you in a short time. "
            "Please wait a while and send it again."
        )
        return _page(request, web_form, form, language, status=429, notice=notice)
    is_valid = form.is_valid()
    form.check_files(request.FILES.getlist("attachments"))
    if not is_valid or form.errors:
        notice = _("Your message was not sent yet. Please correct the marked fields.")
        return _page(request, web_form, form, language, status=400, notice=notice)
    submission = services.submission_store(
        form=web_form,
        data={key: str(value or "") for key, value in form.cleaned_data.items()},
        files=form.checked_files,
        ip_address=_client_ip(request),
        privacy_consent=form.cleaned_data["privacy_consent"],
    )
    try:
        ticket = services.submission_process(submission_id=submission.id)
    except Exception:  # stored: it is processed again later, the customer is done
        services.submission_retry_later(submission)
        return _thanks(request, web_form, "")
    return _thanks(request, web_form, ticket.reference if ticket else "")


def _staff_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Shop not found")
    return actor, shop


@login_required
@require_http_methods(["GET", "POST"])
def settings_edit(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's web form: its address, the embed snippet and (for its leads) the settings."""
    actor, shop = _staff_shop(request, shop_slug)
    web_form = services.web_form_for(shop)
    can_edit = actor.is_lead_for(shop.id)
    form: WebFormSettingsForm | None = None
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDeniedError(
                gettext_noop("Only a supervisor or admin may change the web form.")
            )
        form = WebFormSettingsForm(request.POST, instance=WebForm.objects.get(pk=web_form.pk))
        if form.is_valid():
            with service_errors_on(form):
                services.web_form_update(actor=actor, shop=shop, values=form.settings_values())
                messages.success(request, _("The web form settings were saved."))
                return HttpResponseRedirect(reverse("webform:settings", args=[shop.slug]))
        status = 400
    elif can_edit:
        form = WebFormSettingsForm(instance=web_form)
    public_url = request.build_absolute_uri(reverse("webform:public", args=[web_form.public_key]))
    context = {
        "shop": shop,
        "web_form": web_form,
        "form": form,
        "can_edit": can_edit,
        "public_url": public_url,
        "snippet": (
            f'<iframe src="{public_url}" title="お問い合わせ" width="100%" height="900" '
            f'style="border:0" loading="lazy"></iframe>'
        ),
    }
    return render(request, "webform/settings.html", context, status=status)
