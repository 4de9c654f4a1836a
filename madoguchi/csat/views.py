"""The public survey page (no sign-in) and the staff's CSAT pages.

The survey page is found by the link's token (only its digest is stored). It keeps Django's
CSRF check: it is a page of this site, never embedded. Requests are counted per client address
(`core.rate_limits`); the referrer policy is same-origin, so the token never leaves for another
site in a Referer header (no-referrer would make browsers send `Origin: null`, which the CSRF
check refuses).
Staff of the survey's shop who open a customer's link are refused: they may not answer for the
customer.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.core.client_address import client_address
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.rate_limits import hit
from madoguchi.core.service_forms import service_errors_on
from madoguchi.csat.forms import CsatSettingsForm, SurveyForm
from madoguchi.csat.models import CsatSurvey
from madoguchi.csat.selectors import survey_for_token
from madoguchi.csat.services import (
    REFUSAL,
    SurveyClosedError,
    answer_refusal,
    csat_opt_out_set,
    csat_settings_for,
    csat_settings_save,
    survey_answer,
    token_digest,
)
from madoguchi.csat.wording import LANGUAGES, wording_for
from madoguchi.customers.selectors import access_customer
from madoguchi.tenancy.access import Actor, access_shop, actor_for_user, require_staff
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop

# Requests to survey pages per client address and minute (GET and POST).
RATE_LIMIT = 30
RATE_WINDOW = 60


def _survey_headers(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _language(request: HttpRequest, survey: CsatSurvey | None) -> str:
    asked = request.GET.get("lang", "")
    if asked in LANGUAGES:
        return asked
    return survey.language if survey is not None else "ja"


def _unavailable(
    request: HttpRequest, *, status: int, reason: str, shop: Shop | None
) -> HttpResponse:
    return render(request, "csat/unavailable.html", {"reason": reason, "shop": shop}, status=status)


def _is_shop_staff(request: HttpRequest, shop_id: int) -> bool:
    user = request.user
    return bool(user.is_authenticated and actor_for_user(user).is_staff_for(shop_id))


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """Show the survey (1-5 and a comment) and record the answer; a change within 7 days of the
    first answer replaces it."""
    address = client_address(request) or "unknown"
    found = survey_for_token(digest=token_digest(token)) if len(token) <= 100 else None
    with translation.override(_language(request, found)):
        if hit(f"csat:{address}", window=RATE_WINDOW) > RATE_LIMIT:
            return _survey_headers(
                _unavailable(request, status=429, reason="rate_limited", shop=None)
            )
        if found is None:
            return _survey_headers(_unavailable(request, status=404, reason="unknown", shop=None))
        if _is_shop_staff(request, found.shop_id):
            return _survey_headers(
                _unavailable(request, status=403, reason="staff", shop=found.shop)
            )
        with in_shop(found.shop_id):
            response = _survey_page(request, found, token)
        return _survey_headers(response)


def _survey_page(request: HttpRequest, survey: CsatSurvey, token: str) -> HttpResponse:
    now = timezone.now()
    wording = wording_for(csat_settings_for(shop_id=survey.shop_id), survey.language)
    refusal = answer_refusal(survey, now)
    status = 200
    form: SurveyForm | None = None
    if refusal:
        status = 410
    elif request.method == "POST":
        form = SurveyForm(request.POST)
        if form.is_valid():
            try:
                survey = survey_answer(
                    survey=survey,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    opt_out=bool(form.cleaned_data["opt_out"]),
                    now=now,
                )
            except SurveyClosedError as error:
                refusal = error.message
                status = 410
            else:
                return render(
                    request,
                    "csat/thanks.html",
                    {"survey": survey, "shop": survey.shop, "wording": wording, "token": token},
                )
        else:
            status = 400
    else:
        initial = {"score": str(survey.score)} if survey.score else {}
        if survey.comment:
            initial["comment"] = survey.comment
        form = SurveyForm(initial=initial)
    return render(
        request,
        "csat/survey.html",
        {
            "survey": survey,
            "shop": survey.shop,
            "wording": wording,
            "form": form,
            "refusal": gettext(refusal) if refusal else "",
            "change_deadline": survey.change_deadline(),
            "token": token,
            "language": translation.get_language(),
        },
        status=status,
    )


# Staff pages -----------------------------------------------------------------------------------


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Show the shop's CSAT survey settings; its supervisors and admins change them."""
    actor = _actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    require_staff(actor=actor, shop_id=shop.id)
    is_lead = actor.is_lead_for(shop.id)
    settings = csat_settings_for(shop_id=shop.id)
    form: CsatSettingsForm | None = None
    if request.method == "POST":
        if not is_lead:
            raise PermissionDeniedError(REFUSAL)
        form = CsatSettingsForm(request.POST)
        if form.is_valid():
            with service_errors_on(form):
                csat_settings_save(
                    actor=actor,
                    shop=shop,
                    is_enabled=bool(form.cleaned_data["is_enabled"]),
                    delay_minutes=form.cleaned_data["delay_minutes"],
                    wording=form.wording(),
                )
                messages.success(request, gettext("The CSAT survey settings were saved."))
                return redirect(reverse("csat:settings", args=[shop.slug]))
    elif is_lead:
        form = CsatSettingsForm(
            initial={
                "is_enabled": settings.is_enabled,
                "delay_minutes": settings.delay_minutes,
                **{name: getattr(settings, name) for name in CsatSettingsForm.WORDING},
            }
        )
    return render(
        request,
        "csat/settings.html",
        {
            "shop": shop,
            "settings": settings,
            "form": form,
            "wording_ja": wording_for(settings, "ja"),
            "wording_en": wording_for(settings, "en"),
        },
    )


@login_required
@require_POST
def opt_out(request: HttpRequest, shop_slug: str, customer_id: int) -> HttpResponse:
    """Stop or resume surveys to a customer (the shop's staff), then go back to the ticket."""
    actor = _actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    require_staff(actor=actor, shop_id=shop.id)
    customer = access_customer(actor=actor, shop_id=shop.id, customer_id=customer_id)
    is_opted_out = request.POST.get("opted_out") == "1"
    if csat_opt_out_set(actor=actor, customer=customer, is_opted_out=is_opted_out):
        messages.success(
            request,
            gettext("This customer gets no more surveys.")
            if is_opted_out
            else gettext("This customer gets surveys again."),
        )
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect(reverse("csat:settings", args=[shop.slug]))
