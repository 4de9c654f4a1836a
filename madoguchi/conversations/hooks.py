"""Let other apps react to a stored customer message without conversations importing them.

Apps register a hook from `AppConfig.ready` (commerce links the orders a message mentions).
Hooks run after the commit, in the message's shop scope; a failing hook is logged and never
undoes or blocks the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

from madoguchi.conversations.models import Message
from madoguchi.tenancy.scoping import in_shop

logger = logging.getLogger(__name__)

InboundHook = Callable[[Message], object]

_INBOUND_HOOKS: list[InboundHook] = []


def register_inbound_hook(hook: InboundHook) -> None:
    """Call `hook(message)` after each new customer message is committed."""
    if hook not in _INBOUND_HOOKS:
        _INBOUND_HOOKS.append(hook)


def run_inbound_hooks_on_commit(message_id: int, shop_id: int) -> None:
    """Schedule the registered hooks for this message once the transaction commits."""
    if _INBOUND_HOOKS:
        transaction.on_commit(lambda: _run(message_id, shop_id))


def _run(message_id: int, shop_id: int) -> None:
    with in_shop(shop_id):
        message = Message.objects.select_related("ticket__shop").filter(pk=message_id).first()
        if message is None:
            return
        for hook in list(_INBOUND_HOOKS):
            try:
                with transaction.atomic():
                    hook(message)
            except Exception:
                logger.exception("Inbound hook %s failed for message %s", hook, message_id)
