"""What a durable row keeps of a failure."""

from django.utils import translation

from madoguchi.core.errors import ValidationError, stored_error_text
from madoguchi.core.templatetags.madoguchi_ui import stored_message


def test_a_sentence_of_ours_is_kept_as_its_source_and_shown_translated() -> None:
    error = ValidationError("This shop is archived: it accepts no new contacts.")
    stored = stored_error_text(error)
    assert stored == "This shop is archived: it accepts no new contacts."
    with translation.override("ja"):
        assert stored_message(stored) != stored


def test_other_failures_keep_their_type_and_text() -> None:
    assert stored_error_text(KeyError("x")) == "KeyError: 'x'"
    assert stored_error_text(ValidationError("%(n)s left", extra={"n": 3})) == "3 left"
