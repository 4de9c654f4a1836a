"""Hold a signed-in user at the second sign-in step until it is done.

A user with an authenticator is signed in by their password first and then by its code: until
the code step (`django_otp.login`) every page sends them to it. Staff of a workspace that
requires a second factor and have none are sent to set one up. Only those pages, signing out,
the language switch, static files and the health check stay open. Websockets get the same
rule from `accounts.websockets`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from madoguchi.accounts.selectors import Step, is_verified, sign_in_step

ALWAYS_OPEN_URL_NAMES = ("accounts:logout", "set_language", "healthz")
STEP_URL_NAMES = {
    Step.VERIFY: ("accounts:sign_in_code",),
    Step.SET_UP: ("accounts:two_factor_setup", "accounts:recovery_codes"),
}
STEP_PAGE = {Step.VERIFY: "accounts:sign_in_code", Step.SET_UP: "accounts:two_factor_setup"}


class SignInStepMiddleware:
    """Redirect an authenticated user with a pending step (after OTPMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def _open_paths(self) -> dict[Step, frozenset[str]]:
        always = {reverse(name) for name in ALWAYS_OPEN_URL_NAMES}
        return {
            step: frozenset(always | {reverse(name) for name in names})
            for step, names in STEP_URL_NAMES.items()
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or request.path.startswith(str(settings.STATIC_URL)):
            return self.get_response(request)
        step = sign_in_step(user, is_verified=is_verified(user))
        if step is None:
            return self.get_response(request)
        # The step's own pages show no menu: its links (and the counts it loads) would only
        # come back here.
        request.sign_in_step_pending = True  # type: ignore[attr-defined]
        if request.path in self._open_paths[step]:
            return self.get_response(request)
        target = reverse(STEP_PAGE[step])
        if "HX-Request" in request.headers:
            return HttpResponseClientRedirect(target)  # the whole page, not a swapped fragment
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(target)
