"""Let other apps react to a stored customer message without conversations importing them.

Apps register a hook from `AppConfig.ready` (commerce links the orders a message mentions).
Hooks run after the commit, in the message's shop scope; a failing hook is logged and never
undoes or blocks the message. A per-message hook runs in its own transaction per message; a
batch hook is called once per shop with all new messages of the committed transaction (a batch
of mails), so it can read what it needs once, and keeps each message's work apart itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

from madoguchi.conversations.models import Message
from madoguchi.core.commit_batches import on_commit_batched
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop

logger = logging.getLogger(__name__)

InboundHook = Callable[[Message], object]
InboundBatchHook = Callable[[list[Message]], object]

_INBOUND_HOOKS: list[InboundHook] = []
_INBOUND_BATCH_HOOKS: list[InboundBatchHook] = []


def register_inbound_hook(hook: InboundHook) -> None:
    """Call `hook(message)` after each new customer message is committed."""
    if hook not in _INBOUND_HOOKS:
        _INBOUND_HOOKS.append(hook)


def register_inbound_batch_hook(hook: InboundBatchHook) -> None:
    """Call `hook(messages)` after commit with the new customer messages of one shop, in order.

    The hook runs outside a transaction of its own: it must isolate each message's work (its
    own `transaction.atomic()`) so that one message's failure does not undo the others.
    """
    if hook not in _INBOUND_BATCH_HOOKS:
        _INBOUND_BATCH_HOOKS.append(hook)


def run_inbound_hooks_on_commit(message_id: int, shop_id: int) -> None:
    """Schedule the registered hooks for this message once the transaction commits.

    All messages of one transaction (a batch of mails) are read back in one query per shop.
    """
    if _INBOUND_HOOKS or _INBOUND_BATCH_HOOKS:
        on_commit_batched("conversations.inbound_hooks", (shop_id, message_id), _run)


def _run(items: list[tuple[int, int]]) -> None:
    by_shop: dict[int, list[int]] = {}
    for shop_id, message_id in items:
        by_shop.setdefault(shop_id, []).append(message_id)
    for shop_id, message_ids in by_shop.items():
        with in_shop(shop_id):
            found = Message.objects.select_related("ticket").in_bulk(message_ids)
            messages = [found[message_id] for message_id in message_ids if message_id in found]
            if messages:
                shop = Shop.objects.get(pk=shop_id)
                for message in messages:
                    message.ticket.shop = shop  # one object for the shop's messages
            for message in messages:
                _run_hooks(message)
            for batch_hook in list(_INBOUND_BATCH_HOOKS):
                try:
                    batch_hook(messages)
                except Exception:
                    logger.exception("Inbound batch hook %s failed in shop %s", batch_hook, shop_id)


def _run_hooks(message: Message) -> None:
    for hook in list(_INBOUND_HOOKS):
        try:
            with transaction.atomic():
                hook(message)
        except Exception:
            logger.exception("Inbound hook %s failed for message %s", hook, message.id)
