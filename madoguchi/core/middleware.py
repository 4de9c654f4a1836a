"""Map domain errors raised by services to HTTP responses."""

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from madoguchi.core.errors import ApplicationError, NotFoundError
from madoguchi.core.service_forms import error_text


class ApplicationErrorMiddleware:
    """Turn an `ApplicationError` into a page (or an htmx fragment) with its status code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFoundError):
            raise Http404(exception.message) from exception
        if not isinstance(exception, ApplicationError):
            return None
        template = (
            "core/error_fragment.html"
            if getattr(request, "htmx", False)
            else "core/error_page.html"
        )
        response = TemplateResponse(
            request, template, {"message": error_text(exception)}, status=exception.status_code
        )
        return response.render()
