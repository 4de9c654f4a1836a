"""The process log's formatter: failures without the personal data they may carry (checklist 48).

A failure's message and arguments are often customer data (an address in a `ValueError`, a
parser quoting the mail it choked on, a database error quoting the row). Django's
`django.request` logger writes every unhandled exception with its traceback, so the standard
formatter would copy that data into the process log, which outlives retention and deletion.

`RedactingFormatter` writes where the failure happened (every frame's file, line and function,
of the exception and of its causes) and the exception types, never their messages or
arguments, and never locals or the request (Python's traceback carries no locals unless asked,
and the request Django attaches to the record is not part of the format). The support id on
the error page (`core.views.server_error`) links the user's report to the entry.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

WITHHELD = "(message withheld: it may carry personal data)"

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _exception_lines(exc: BaseException, seen: set[int]) -> list[str]:
    seen.add(id(exc))
    lines: list[str] = []
    cause = exc.__cause__
    context = None if exc.__suppress_context__ else exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += _exception_lines(cause, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and id(context) not in seen:
        lines += _exception_lines(context, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if exc.__traceback__ is not None:
        lines.append("Traceback (most recent call last):\n")
        frames = traceback.extract_tb(exc.__traceback__)
        for frame in frames:
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n')
    kind = type(exc)
    lines.append(f"{kind.__module__}.{kind.__qualname__}: {WITHHELD}\n")
    return lines


class RedactingFormatter(logging.Formatter):
    """A formatter whose tracebacks name frames and exception types only."""

    def formatException(self, ei: _ExcInfo) -> str:  # noqa: N802 (logging's name)
        exc = ei[1]
        if exc is None:
            return ""
        return "".join(_exception_lines(exc, set())).rstrip("\n")

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (logging's name)
        return stack_info

    def format(self, record: logging.LogRecord) -> str:
        # Another handler's formatter may have cached the full traceback on the record.
        cached = record.exc_text
        record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached
