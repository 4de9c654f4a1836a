"""Response headers every page gets: the CSP nonce for templates, and no caching of pages.

The Content-Security-Policy itself is django-csp's (`CONTENT_SECURITY_POLICY` in settings): a
nonce per request, drawn only when a template asks for it. Responses that set their own policy
(the public web form, downloads) keep theirs.

`NoStoreMiddleware`: every page, fragment, JSON answer and download may carry personal data,
so none may be kept by the browser or a shared cache (`Cache-Control: no-store, private`, ASVS
8.2.1). Static files are served by WhiteNoise before this middleware runs and keep their long
cache lifetime; a view that sets its own Cache-Control keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


def csp_nonce(request: HttpRequest) -> dict[str, object]:
    """Give templates `csp_nonce` (the name django-htmx's `htmx_script` reads), drawn lazily."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}


class NoStoreMiddleware:
    """Mark every dynamic response `Cache-Control: no-store, private` unless it set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
