"""Replies on web-form tickets continue by email: the mail connector's sender does the work."""

from __future__ import annotations

from madoguchi.connectors.mail.sending import reply_queue as mail_reply_queue
from madoguchi.conversations.models import Message


def reply_queue(message: Message) -> object:
    """Queue a reply on a web-form ticket as a mail to the customer's address."""
    return mail_reply_queue(message)
