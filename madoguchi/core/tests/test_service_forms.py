"""A service's refusal lands on the form that asked, in the UI language."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.utils import translation

from madoguchi.core.errors import (
    ApplicationError,
    ConflictError,
    PermissionDeniedError,
    ValidationError,
)
from madoguchi.core.service_forms import (
    add_service_error,
    error_text,
    service_errors_flashed,
    service_errors_on,
)

# Sentences of the catalogs (commerce), so the Japanese is known.
EXISTS = "Order %(number)s already exists."
NO_NUMBER = "An order needs a number."


class OrderForm(forms.Form):
    order_number = forms.CharField()
    note = forms.CharField(required=False)


def _bound() -> OrderForm:
    form = OrderForm({"order_number": "10045", "note": "急ぎ"})
    assert form.is_valid()
    return form


def test_error_text_is_translated_with_its_parameters() -> None:
    error = ConflictError(EXISTS, extra={"number": "10045"})
    with translation.override("ja"):
        assert error_text(error) == "注文番号 10045 はすでに登録されています。"
    with translation.override("en"):
        assert error_text(error) == "Order 10045 already exists."
    assert str(error) == "Order 10045 already exists."


def test_an_error_naming_a_field_goes_beside_it_through_the_mapping() -> None:
    form = _bound()
    with translation.override("ja"):
        add_service_error(
            form,
            ConflictError(EXISTS, extra={"number": "10045"}, field="number"),
            fields={"number": "order_number"},
        )
    assert form.errors == {"order_number": ["注文番号 10045 はすでに登録されています。"]}
    assert form["order_number"].value() == "10045"


def test_an_error_naming_no_field_of_the_form_is_an_error_of_the_whole_form() -> None:
    form = _bound()
    with translation.override("ja"):
        add_service_error(form, ValidationError(NO_NUMBER, field="number"))
    assert form.non_field_errors() == ["注文番号を入力してください。"]


def test_the_block_keeps_going_until_a_refusal_which_it_puts_on_the_form() -> None:
    form = _bound()
    reached = []
    with translation.override("ja"), service_errors_on(form) as outcome:
        reached.append("before")
        raise ValidationError(NO_NUMBER, field="order_number")
    assert reached == ["before"]
    assert outcome.refused is True
    assert form.errors == {"order_number": ["注文番号を入力してください。"]}


def test_without_a_refusal_nothing_is_added() -> None:
    form = _bound()
    with service_errors_on(form) as outcome:
        pass
    assert outcome.refused is False and form.errors == {}


@pytest.mark.parametrize(
    "error",
    [PermissionDeniedError("Only a supervisor may."), ApplicationError("x"), KeyError("x")],
)
def test_other_errors_are_not_the_forms_to_show(error) -> None:
    form = _bound()
    with pytest.raises(type(error)), service_errors_on(form):
        raise error
    assert form.errors == {}


def test_a_button_refusal_is_flashed_in_the_ui_language() -> None:
    request = RequestFactory().post("/")
    request.session = {}  # type: ignore[attr-defined]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    with translation.override("ja"), service_errors_flashed(request) as outcome:
        raise ConflictError(EXISTS, extra={"number": "7"})
    assert outcome.refused is True
    assert [str(message) for message in get_messages(request)] == [
        "注文番号 7 はすでに登録されています。"
    ]


@pytest.mark.django_db
def test_an_error_that_escapes_to_the_page_is_translated_with_its_parameters(world) -> None:
    from madoguchi.core.middleware import ApplicationErrorMiddleware

    request = RequestFactory().get("/")
    request.user = world.operator_tea
    middleware = ApplicationErrorMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    with translation.override("ja"):
        response = middleware.process_exception(
            request, ConflictError(EXISTS, extra={"number": "10045"})
        )
    assert response is not None and response.status_code == 409
    page = response.content.decode()
    assert '<p class="error-box__message">注文番号 10045 はすでに登録されています。</p>' in page
