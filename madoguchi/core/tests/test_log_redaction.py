"""Checklist 48: a failure's personal data never reaches the process log (core.log_format)."""

from __future__ import annotations

import io
import logging
import re
import sys
from typing import Any

import pytest
from django.urls import reverse

from madoguchi.core.log_format import WITHHELD, RedactingFormatter

pytestmark = pytest.mark.django_db

EMAIL = "taro.yamada@example.jp"
PHONE = "090-1234-5678"
ADDRESS = "東京都千代田区丸の内1-1-1"


def _console() -> logging.Handler:
    handlers = [h for h in logging.getLogger().handlers if h.name == "console"]
    assert handlers, "the settings' console handler is configured on the root logger"
    return handlers[0]


def test_a_failure_with_personal_data_leaves_only_frames_and_types_in_the_process_log(
    english: Any, world: Any, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> Any:
        try:
            raise KeyError(EMAIL)
        except KeyError as lookup:
            raise ValueError(f"no order for {EMAIL} / {PHONE}", {"address": ADDRESS}) from lookup

    monkeypatch.setattr("madoguchi.conversations.views.inbox_page", broken)
    handler = _console()
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        english.raise_request_exception = False
        english.force_login(world.operator_tea)
        response = english.get(reverse("conversations:inbox"), {"q": EMAIL})
    finally:
        handler.setStream(previous)
    assert response.status_code == 500
    log = stream.getvalue()
    support_id = re.search(r'data-testid="support-id">([0-9a-f]{12})<', response.content.decode())
    assert support_id is not None
    # Support still finds the failure and where it happened...
    assert support_id.group(1) in log
    assert "Traceback (most recent call last)" in log
    assert "builtins.ValueError" in log and "builtins.KeyError" in log
    assert "in broken" in log
    assert "direct cause" in log
    # ...but none of the customer's data, from the message, the args, the cause or the request.
    for leak in (EMAIL, PHONE, ADDRESS, "taro", "address"):
        assert leak not in log


def test_the_formatter_never_repeats_a_traceback_another_handler_cached() -> None:
    try:
        raise RuntimeError(f"card of {EMAIL}")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    record.exc_text = logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
    assert EMAIL in record.exc_text
    text = RedactingFormatter("%(message)s").format(record)
    assert EMAIL not in text
    assert WITHHELD in text
    assert "builtins.RuntimeError" in text
    # The other handler's text is left as it was for that handler.
    assert EMAIL in record.exc_text
