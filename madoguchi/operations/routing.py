"""Choose an operator for a new ticket: round-robin or least-load among eligible operators.

Pure functions over `Candidate` values so fairness can be tested over thousands of tickets;
`services.route_ticket` builds the candidates from shifts, duty status, skills and open counts.

A live channel (chat) is only answered by someone who is there: its connector registers a
presence source (`register_presence_source`, from its `ready()`), and routing then gives that
channel's tickets to the operators the source says are connected to the shop now (to anyone
eligible when nobody is: a message left while the chat was unattended is not stranded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# (shop id, now) -> the ids of the users connected to that shop's live channel now.
PresenceSource = Callable[[int, dt.datetime], frozenset[int]]
_presence_sources: dict[str, PresenceSource] = {}


def register_presence_source(channel: str, source: PresenceSource) -> None:
    """Make tickets of `channel` go only to operators `source` reports as connected."""
    _presence_sources[channel] = source


def online_users(*, channel: str, shop_id: int, now: dt.datetime) -> frozenset[int] | None:
    """Return who is connected to the shop's `channel` now; None for a channel without presence
    (mail, forms: anyone eligible may take the ticket later)."""
    source = _presence_sources.get(channel)
    return None if source is None else source(shop_id, now)


@dataclass(frozen=True)
class Candidate:
    user_id: int
    is_on_duty: bool
    languages: frozenset[str]
    open_tickets: int


def eligible(
    candidates: Sequence[Candidate],
    *,
    language: str,
    max_open: int | None,
    requires_language: bool = True,
    requires_on_duty: bool = True,
    online: frozenset[int] | None = None,
) -> list[Candidate]:
    """Return the candidates who may take the ticket now, ordered by user id.

    `online` (see `online_users`): when given and one of the eligible is connected, only the
    connected may take it; when nobody is, the ticket is a message left while the live channel
    was unattended and goes to the eligible like any other ticket, so it is never stranded.
    """
    chosen = [
        candidate
        for candidate in candidates
        if (candidate.is_on_duty or not requires_on_duty)
        and (not requires_language or language in candidate.languages)
        and (max_open is None or candidate.open_tickets < max_open)
    ]
    if online is not None:
        connected = [candidate for candidate in chosen if candidate.user_id in online]
        chosen = connected or chosen
    return sorted(chosen, key=lambda candidate: candidate.user_id)


def pick_round_robin(candidates: Sequence[Candidate], *, last_user_id: int | None) -> int | None:
    """Return the first eligible user after `last_user_id` in id order, wrapping around."""
    if not candidates:
        return None
    ordered = sorted(candidate.user_id for candidate in candidates)
    if last_user_id is None:
        return ordered[0]
    return next((user_id for user_id in ordered if user_id > last_user_id), ordered[0])


def pick_least_load(candidates: Sequence[Candidate], *, last_user_id: int | None) -> int | None:
    """Return the user with the fewest open tickets; ties go round-robin after `last_user_id`."""
    if not candidates:
        return None
    fewest = min(candidate.open_tickets for candidate in candidates)
    tied = [candidate for candidate in candidates if candidate.open_tickets == fewest]
    return pick_round_robin(tied, last_user_id=last_user_id)
