"""Choose an operator for a new ticket: round-robin or least-load among eligible operators.

Pure functions over `Candidate` values so fairness can be tested over thousands of tickets;
`services.route_ticket` builds the candidates from shifts, duty status, skills and open counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
) -> list[Candidate]:
    """Return the candidates who may take the ticket now, ordered by user id."""
    chosen = [
        candidate
        for candidate in candidates
        if (candidate.is_on_duty or not requires_on_duty)
        and (not requires_language or language in candidate.languages)
        and (max_open is None or candidate.open_tickets < max_open)
    ]
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
