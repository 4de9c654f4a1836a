from typing import Any

from django.db import models


class TicketQuerySet(models.QuerySet[Any]):
    def unsolved(self) -> "TicketQuerySet":
        return self.filter(status__in=("new", "open", "pending", "on_hold"))

    def assigned_to(self, user_id: int) -> "TicketQuerySet":
        return self.filter(assignee_id=user_id)

    def unassigned(self) -> "TicketQuerySet":
        return self.filter(assignee__isnull=True)

    def by_activity(self) -> "TicketQuerySet":
        return self.order_by("-last_activity_at", "-id")
