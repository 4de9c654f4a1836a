"""Collision warnings on a ticket: a reply written over someone else's newer reply.

The reply form carries the id of the newest message the operator saw when the page was rendered
(`seen_message_id`). Sending checks, under the ticket's row lock, whether another person's reply
to the customer came after it; if so the reply is not sent and the operator is asked to confirm.
Only replies of other staff (or of the shop owner) count: customer messages arrive while one
writes, above all in chat, and show live on the page; internal notes and automatic replies never
reach the customer in the operator's name.
"""

from __future__ import annotations

from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.errors import ConflictError
from madoguchi.tenancy.access import Actor


class ReplyConflictError(ConflictError):
    """Someone else replied after the message the operator saw; `newer` holds their replies."""

    def __init__(self, newer: list[Message]) -> None:
        super().__init__("Someone else replied to the customer after you opened the ticket.")
        self.newer = newer


def newer_replies(*, ticket: Ticket, seen_message_id: int, user_id: int | None) -> list[Message]:
    """Return replies to the customer by other people stored after `seen_message_id`, oldest
    first."""
    replies = (
        Message.objects.filter(
            ticket_id=ticket.id,
            id__gt=seen_message_id,
            direction=Message.Direction.OUTBOUND,
            author_user__isnull=False,
        )
        .select_related("author_user")
        .order_by("id")
    )
    if user_id is not None:
        replies = replies.exclude(author_user_id=user_id)
    return list(replies)


def reply_conflict_check(*, actor: Actor, ticket: Ticket, seen_message_id: int | None) -> None:
    """Raise ReplyConflictError when another person replied after `seen_message_id`.

    None skips the check (callers without a page: approvals, automations, the API).
    """
    if seen_message_id is None:
        return
    user_id = actor.user.id if actor.user is not None else None
    newer = newer_replies(ticket=ticket, seen_message_id=seen_message_id, user_id=user_id)
    if newer:
        raise ReplyConflictError(newer)
