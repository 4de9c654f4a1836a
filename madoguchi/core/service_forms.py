"""A service's refusal on the form that asked for it.

A view that calls a service for a bound form catches the service's `ValidationError` or
`ConflictError` here: the form is rendered again with what was typed and the refusal in the
UI language, beside the field the error names (`ApplicationError.field`), else above the form.
Only an error that escapes (403, 404) reaches the full-page handler in `core.middleware`.

    if form.is_valid():
        with service_errors_on(form, fields={"number": "order_number"}):
            order = order_create(...)
            return redirect(...)
    return render(request, "...", {"form": form})
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext

from madoguchi.core.errors import ApplicationError, ConflictError, ValidationError

# A form shows the errors about its input; a refusal of the actor (403) or a missing object
# (404) is not the form's to fix and keeps its page.
FORM_ERRORS: tuple[type[ApplicationError], ...] = (ValidationError, ConflictError)


def error_text(error: ApplicationError) -> str:
    """Return the error's message translated into the active language, parameters filled in."""
    text = gettext(error.message)
    return text % error.extra if error.extra else text


def add_service_error(
    form: forms.BaseForm,
    error: ApplicationError,
    *,
    fields: Mapping[str, str] | None = None,
) -> None:
    """Add the error to the form: on the field it names (mapped through `fields`, a service
    keyword to the form's field name), else as an error of the whole form."""
    field = error.field
    if field is not None and fields is not None:
        field = fields.get(field, field)
    form.add_error(field if field in form.fields else None, error_text(error))


class service_errors_on:  # noqa: N801 - used as a context manager, named like one
    """Turn a form error raised inside the block into an error on `form`; `refused` tells."""

    def __init__(self, form: forms.BaseForm, *, fields: Mapping[str, str] | None = None) -> None:
        self.form = form
        self.fields = fields
        self.refused = False

    def __enter__(self) -> service_errors_on:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if isinstance(exc, FORM_ERRORS):
            add_service_error(self.form, exc, fields=self.fields)
            self.refused = True
            return True
        return False


class service_errors_flashed:  # noqa: N801 - used as a context manager, named like one
    """For a button without inputs to keep: show a refusal as an error message on the page
    the view redirects to, instead of a page of its own."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.refused = False

    def __enter__(self) -> service_errors_flashed:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if isinstance(exc, FORM_ERRORS):
            messages.error(self.request, error_text(exc))
            self.refused = True
            return True
        return False
