"""Accounts pages: sign-in (password, then the authenticator's code), sign-out, password reset
and change, profile, two-step sign-in set-up, and the workspace's security settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import FormView
from django_otp.plugins.otp_static.models import StaticDevice

from madoguchi.accounts import ip_allowlist, qr, selectors, services, throttling
from madoguchi.accounts.forms import (
    LOCKED_MESSAGE,
    AuthenticatorConfirmForm,
    EmailAuthenticationForm,
    IpAllowlistForm,
    PasswordConfirmForm,
    PasswordResetRequestForm,
    ProfileForm,
    SignInCodeForm,
    WorkspaceSecurityForm,
)
from madoguchi.accounts.models import User
from madoguchi.accounts.selectors import Step
from madoguchi.accounts.sessions import client_address, session_keep_end_others
from madoguchi.core.errors import NotFoundError, PermissionDeniedError
from madoguchi.core.service_forms import service_errors_on

CODE_ATTEMPTS_SESSION_KEY = "accounts.code_attempts"
CODE_ATTEMPT_LIMIT = 5
RECOVERY_CODES_SESSION_KEY = "accounts.recovery_codes"
REGENERATE_PREFIX = "regenerate"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _with_language(response: HttpResponse, language: str) -> HttpResponse:
    """Use `language` for this response and, through the language cookie, the next pages."""
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


# Signing in and out ----------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """The password step; users with an authenticator continue at the code step."""

    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: EmailAuthenticationForm) -> HttpResponse:  # type: ignore[override]
        user = form.get_user()
        address = client_address(self.request)
        refusing = ip_allowlist.refusing_workspaces(user, address)
        if refusing:  # the workspace's allowlist: no session from this address
            ip_allowlist.ip_refused_record(
                user=user,
                address=address,
                workspace_ids=refusing,
                path=self.request.path,
                step="sign_in",
            )
            return ip_allowlist.refused_page(self.request, address)
        response = super().form_valid(form)
        self.request.session.pop(CODE_ATTEMPTS_SESSION_KEY, None)
        if selectors.sign_in_step(user, is_verified=False) == Step.VERIFY:
            query = urlencode({"next": self.get_success_url()})
            response = HttpResponseRedirect(f"{reverse('accounts:sign_in_code')}?{query}")
        return _with_language(response, user.language or settings.LANGUAGE_CODE)


@require_http_methods(["GET", "POST"])
@login_required
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """The second step: the authenticator's code or a recovery code (each works once)."""
    user = _user(request)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if selectors.sign_in_step(user, is_verified=selectors.is_verified(user)) != Step.VERIFY:
        return redirect(next_url)
    form = SignInCodeForm(request.POST or None)
    address = client_address(request)
    if request.method == "POST" and form.is_valid():
        # Counted before the check, as the password is (security case 66): a parallel burst of
        # codes, in one session or many, gets at most the account's limit checked.
        hold = services.sign_in_hold(email=user.email, address=address)
        if hold is None:
            logout(request)
            messages.error(request, LOCKED_MESSAGE)
            return redirect("accounts:login")
        device = services.second_factor_match(user=user, code=form.cleaned_data["code"])
        if device is not None:
            hold.release()
            django_otp.login(request, device)
            request.session.pop(CODE_ATTEMPTS_SESSION_KEY, None)
            if isinstance(device, StaticDevice):
                left = selectors.recovery_codes_left(user)
                messages.warning(
                    request,
                    gettext("You signed in with a recovery code; %(count)s are left.")
                    % {"count": left},
                )
            return redirect(next_url)
        services.sign_in_code_failed(user=user, ip_address=address)  # the hold is its count
        attempts = request.session.get(CODE_ATTEMPTS_SESSION_KEY, 0) + 1
        request.session[CODE_ATTEMPTS_SESSION_KEY] = attempts
        if attempts >= CODE_ATTEMPT_LIMIT:
            logout(request)
            messages.error(
                request, gettext("Too many wrong codes. Sign in again with your password.")
            )
            return redirect("accounts:login")
        form.add_error("code", gettext("The code is not correct. Try the current code again."))
    return render(request, "accounts/sign_in_code.html", {"form": form, "next": next_url})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


# Password reset by mail ------------------------------------------------------------------------


class PasswordResetView(FormView):  # type: ignore[type-arg]
    """Ask for a reset link; the answer is the same for every address (no enumeration)."""

    template_name = "accounts/password_reset_form.html"
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: PasswordResetRequestForm) -> HttpResponse:
        if not throttling.password_reset_allowed(address=client_address(self.request)):
            form.add_error(
                None,
                gettext("Too many reset requests from your network. Try again in an hour."),
            )
            return self.form_invalid(form)
        services.password_reset_request(
            email=form.cleaned_data["email"], base_url=self.request.build_absolute_uri("/")
        )
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:  # type: ignore[type-arg]
        response = super().form_valid(form)
        services.user_password_reset_done(user=form.user, ip_address=client_address(self.request))
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


# The signed-in user's own account --------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change the password (the current one is asked); this session stays, the others end."""

    template_name = "accounts/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)  # saves, keeps this session with a new key
        services.user_password_changed(user=form.user, ip_address=client_address(self.request))
        session_keep_end_others(self.request, form.user)
        messages.success(
            self.request,
            gettext("Your password was changed. Your other sessions were signed out."),
        )
        return response


@require_http_methods(["GET", "POST"])
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ProfileForm(
        request.POST or None,
        initial={"display_name": user.display_name, "language": user.language},
    )
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        services.user_profile_update(
            user=user,
            display_name=form.cleaned_data["display_name"],
            language=language,
            ip_address=client_address(request),
        )
        translation.activate(language)
        messages.success(request, gettext("Your profile was saved."))
        return _with_language(redirect("accounts:profile"), language)
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "two_factor_enabled": selectors.confirmed_device(user) is not None,
        },
    )


# Two-step sign-in ------------------------------------------------------------------------------


@require_http_methods(["GET"])
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """The state of the user's two-step sign-in, with regenerate and turn-off."""
    user = _user(request)
    if selectors.confirmed_device(user) is None:
        return redirect("accounts:two_factor_setup")
    return _two_factor_page(request, user, disable_form=PasswordConfirmForm(user=user))


def _two_factor_page(
    request: HttpRequest, user: User, *, disable_form: PasswordConfirmForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "accounts/two_factor.html",
        {
            "codes_left": selectors.recovery_codes_left(user),
            "is_required": selectors.two_factor_required(user),
            "disable_form": disable_form,
            "regenerate_form": PasswordConfirmForm(user=user, prefix=REGENERATE_PREFIX),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Scan the QR code (or type the secret), confirm with a code; then the recovery codes."""
    user = _user(request)
    if selectors.confirmed_device(user) is not None:
        return redirect("accounts:two_factor")
    device = services.authenticator_pending(user=user)
    form = AuthenticatorConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.two_factor_enable(
            user=user,
            device=device,
            code=form.cleaned_data["code"],
            ip_address=client_address(request),
        )
        if codes is not None:
            device.refresh_from_db()  # confirmed now
            django_otp.login(request, device)
            session_keep_end_others(request, user)
            request.session[RECOVERY_CODES_SESSION_KEY] = codes
            return redirect("accounts:recovery_codes")
        form.add_error(
            "code", gettext("The code is not correct. Check the time of your device and retry.")
        )
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": qr.svg(device.config_url),
            "secret": qr.secret_text(device.bin_key),
            "is_required": selectors.two_factor_required(user),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """Show new recovery codes once (GET after set-up); POST makes a new set."""
    user = _user(request)
    if request.method == "POST":
        form = PasswordConfirmForm(request.POST, user=user, prefix=REGENERATE_PREFIX)
        if not form.is_valid():
            messages.error(request, gettext("The password is not correct."))
            return redirect("accounts:two_factor")
        codes = services.recovery_codes_regenerate(user=user, ip_address=client_address(request))
        session_keep_end_others(request, user)
        request.session[RECOVERY_CODES_SESSION_KEY] = codes
        return redirect("accounts:recovery_codes")
    codes = request.session.pop(RECOVERY_CODES_SESSION_KEY, None)
    if not codes:
        return redirect("accounts:two_factor")
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@require_POST
@login_required
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PasswordConfirmForm(request.POST, user=user)
    if selectors.confirmed_device(user) is None:
        return redirect("accounts:two_factor_setup")
    if not form.is_valid():
        return _two_factor_page(request, user, disable_form=form, status=400)
    services.two_factor_disable(user=user, ip_address=client_address(request))
    session_keep_end_others(request, user)
    messages.success(request, gettext("Two-step sign-in was turned off."))
    return redirect("accounts:profile")


# Workspace security ----------------------------------------------------------------------------


def _actor(request: HttpRequest) -> Any:
    return request.actor  # type: ignore[attr-defined]


def _security_page(
    request: HttpRequest,
    *,
    bound: IpAllowlistForm | None = None,
    bound_slug: str = "",
    status: int = 200,
) -> HttpResponse:
    """The security page; `bound` is the allowlist form of workspace `bound_slug` as typed."""
    securities = selectors.workspace_securities(_actor(request))
    if not securities:
        raise NotFoundError("Workspace not found")
    items = [
        (
            security,
            WorkspaceSecurityForm(
                initial={"requires_two_factor": security.workspace.requires_two_factor}
            ),
            bound
            if bound is not None and security.workspace.slug == bound_slug
            else IpAllowlistForm(
                initial={"ip_allowlist": "\n".join(security.workspace.staff_ip_allowlist or [])}
            ),
        )
        for security in securities
    ]
    return render(
        request,
        "accounts/workspace_security.html",
        {"items": items, "current_address": client_address(request) or ""},
        status=status,
    )


@require_http_methods(["GET"])
@login_required
def workspace_security(request: HttpRequest) -> HttpResponse:
    """The security settings of each workspace the user leads (supervisors read only)."""
    return _security_page(request)


@require_POST
@login_required
def workspace_ip_allowlist_edit(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Save the networks the workspace's staff may work from (admins only)."""
    security = selectors.access_workspace_security(actor=_actor(request), slug=workspace_slug)
    if not security.can_edit:
        raise PermissionDeniedError(gettext("Only an admin of the workspace may change this."))
    form = IpAllowlistForm(request.POST)
    if form.is_valid():
        with service_errors_on(form) as refusal:
            ip_allowlist.workspace_ip_allowlist_set(
                user=_user(request),
                workspace=security.workspace,
                text=form.cleaned_data["ip_allowlist"],
                ip_address=client_address(request),
            )
        if not refusal.refused:
            messages.success(request, gettext("The security settings were saved."))
            return redirect("accounts:workspace_security")
    return _security_page(request, bound=form, bound_slug=workspace_slug, status=400)


@require_POST
@login_required
def workspace_security_edit(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    security = selectors.access_workspace_security(actor=_actor(request), slug=workspace_slug)
    if not security.can_edit:
        raise PermissionDeniedError(gettext("Only an admin of the workspace may change this."))
    form = WorkspaceSecurityForm(request.POST)
    form.is_valid()  # a checkbox: always valid
    services.workspace_security_set(
        user=_user(request),
        workspace=security.workspace,
        requires_two_factor=form.cleaned_data.get("requires_two_factor", False),
        ip_address=client_address(request),
    )
    messages.success(request, gettext("The security settings were saved."))
    return redirect("accounts:workspace_security")
