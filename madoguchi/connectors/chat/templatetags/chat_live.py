"""`{% chat_cursor %}`: the cursor the operator page's chat socket resumes from."""

from __future__ import annotations

from django import template

from madoguchi.connectors.chat.replay import operator_head

register = template.Library()


@register.simple_tag
def chat_cursor() -> int:
    """Return the newest message id now: the page shows nothing newer, the socket replays it."""
    return operator_head()
