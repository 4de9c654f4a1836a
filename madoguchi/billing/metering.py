"""Billable contacts of a shop in a period, read from the shop's event log.

The default definition (ADR 0024): a ticket with at least one staff reply
(`message.replied`) in the period is one contact. Tickets merged into another count once, as
the ticket they were merged into (`ticket.merged`). A ticket tagged with one of the contract's
excluded tags at the end of the period (spam) never counts (`ticket.tags_changed`). Automatic
replies (`message.auto_replied`) and bounces (`mail.bounced`) are not staff replies, so they
never make a contact. A chat that was quiet longer than the contract's `reopen_after_days` and
then answered again is a new contact: a chat ticket counts once per conversation session with
a reply in the period. The channel of a contact is the channel its ticket was opened on.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from madoguchi.events.models import Event
from madoguchi.tenancy.scoping import in_shop

CHAT = "chat"


@dataclass(frozen=True)
class Usage:
    """Billable contacts of one period by channel."""

    by_channel: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_channel.values())


def _resolve(ticket_id: int, merged_into: dict[int, int]) -> int:
    seen = {ticket_id}
    while ticket_id in merged_into:
        ticket_id = merged_into[ticket_id]
        if ticket_id in seen:  # a cycle would be a bug elsewhere; stop rather than spin
            break
        seen.add(ticket_id)
    return ticket_id


def _sessions_with_reply(
    times: Iterable[tuple[dt.datetime, bool]],
    *,
    start: dt.datetime,
    end: dt.datetime,
    quiet: dt.timedelta,
) -> int:
    """Count the sessions (runs of activity without a gap over `quiet`) that have a reply in
    [start, end); `times` are (occurred_at, is_reply) in time order."""
    count = 0
    previous: dt.datetime | None = None
    counted_this_session = False
    for at, is_reply in times:
        if previous is not None and at - previous > quiet:
            counted_this_session = False
        previous = at
        if is_reply and start <= at < end and not counted_this_session:
            count += 1
            counted_this_session = True
    return count


def metered_usage(
    *,
    shop_id: int,
    start: dt.datetime,
    end: dt.datetime,
    reopen_after_days: int = 7,
    excluded_tags: frozenset[str] = frozenset(),
) -> Usage:
    """Return the billable contacts of the shop with a staff reply in [start, end)."""
    with in_shop(shop_id):
        events = Event.objects.filter(shop_id=shop_id)
        merged_into: dict[int, int] = {}
        for payload in events.filter(type="ticket.merged", occurred_at__lt=end).values_list(
            "payload", flat=True
        ):
            merged_into[int(payload["source_id"])] = int(payload["target_id"])
        replied = set(
            events.filter(
                type="message.replied", occurred_at__gte=start, occurred_at__lt=end
            ).values_list("ticket_id", flat=True)
        )
        replied.discard(None)
        keys = {_resolve(ticket_id, merged_into) for ticket_id in replied}
        if not keys:
            return Usage(by_channel={})
        members: dict[int, set[int]] = defaultdict(set)  # key ticket -> tickets merged into it
        for ticket_id in set(merged_into) | keys:
            key = _resolve(ticket_id, merged_into)
            if key in keys:
                members[key].add(ticket_id)
        for key in keys:
            members[key].add(key)
        channels = dict(
            events.filter(type="ticket.created", ticket_id__in=keys).values_list(
                "ticket_id", "payload__channel"
            )
        )
        tags: dict[int, set[str]] = defaultdict(set)
        if excluded_tags:
            tag_events = events.filter(
                type="ticket.tags_changed", ticket_id__in=keys, occurred_at__lt=end
            ).order_by("occurred_at", "id")
            for ticket_id, payload in tag_events.values_list("ticket_id", "payload"):
                tags[ticket_id] |= set(payload.get("added", []))
                tags[ticket_id] -= set(payload.get("removed", []))
        chat_keys = {key for key in keys if channels.get(key) == CHAT}
        activity: dict[int, list[tuple[dt.datetime, bool]]] = defaultdict(list)
        if chat_keys:
            member_to_key = {member: key for key in chat_keys for member in members[key]}
            rows = events.filter(
                type__in=("message.received", "message.replied"),
                ticket_id__in=list(member_to_key),
                occurred_at__lt=end,
            ).order_by("occurred_at", "id")
            for ticket_id, event_type, at in rows.values_list("ticket_id", "type", "occurred_at"):
                activity[member_to_key[ticket_id]].append((at, event_type == "message.replied"))
    counts: Counter[str] = Counter()
    quiet = dt.timedelta(days=reopen_after_days)
    for key in keys:
        if tags[key] & excluded_tags:
            continue
        channel = channels.get(key) or "other"
        if key in chat_keys and reopen_after_days:
            counts[channel] += _sessions_with_reply(
                activity[key], start=start, end=end, quiet=quiet
            )
        else:
            counts[channel] += 1
    return Usage(by_channel={channel: n for channel, n in sorted(counts.items()) if n})
