"""Hand a person's open tickets back to the queue when they stop working some shops.

Deactivating a person, or taking shops from them, must not leave tickets assigned to someone
who can no longer open them. Each ticket is unassigned as `ticket_update` unassigns one: a
`ticket.assigned` event (new_user_id None, reason "handed-back") and a `ticket.assigned`
audit entry, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from django.db import transaction

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.models import Ticket
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import shop_scope

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

HANDED_BACK = "handed-back"


@transaction.atomic
def tickets_hand_back(*, actor_user: User | None, user: User, shop_ids: Collection[int]) -> int:
    """Unassign `user`'s unsolved tickets in `shop_ids`; return how many went back to the queue.

    The caller decided that these shops are no longer the user's (their membership ended or
    lost the shops), so this enters exactly those shops' scope itself: it also runs from
    commands and tasks. `actor_user` None records the system as the actor.
    """
    if not shop_ids:
        return 0
    actor_kind = ActorKind.OPERATOR if actor_user is not None else ActorKind.SYSTEM
    with shop_scope(tuple(sorted(shop_ids))):
        tickets = list(
            Ticket.objects.select_for_update()
            .filter(shop_id__in=shop_ids, assignee_id=user.pk)
            .unsolved()
            .order_by("id")
        )
        shops = Shop.objects.in_bulk({ticket.shop_id for ticket in tickets})
        for ticket in tickets:
            ticket.shop = shops[ticket.shop_id]
            event_append(
                shop=ticket.shop,
                ticket=ticket,
                type="ticket.assigned",
                actor_kind=actor_kind,
                actor_user=actor_user,
                payload={"old_user_id": user.pk, "new_user_id": None, "reason": HANDED_BACK},
            )
            ticket.assignee = None
            ticket.save(update_fields=["assignee", "updated_at"])
            record(
                actor=actor_user,
                actor_label="" if actor_user is not None else HANDED_BACK,
                action=actions.TICKET_ASSIGNED,
                target=ticket,
                shop=ticket.shop,
                changes={"assignee": [user.pk, None]},
            )
    return len(tickets)
