"""The channels a shop can be reached on, and how each one is doing: filled by the connectors.

Each connector registers a `ChannelKind` in its `ready()`: a label, the name of its settings
page (which takes the shop's slug) and a function returning the shop's `ChannelState` from its
own rows (connected or not, a short summary, when something last came in, the last error). The
channels overview page lists them in `order`; core imports none of the connectors.

A status function runs inside the request's shop scope and costs one or two queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.functional import Promise

if TYPE_CHECKING:
    from madoguchi.tenancy.models import Shop


@dataclass(frozen=True)
class ChannelState:
    """What the overview shows for one channel of one shop."""

    is_connected: bool
    summary: str = ""
    last_received_at: dt.datetime | None = None
    last_error: str = ""
    last_error_at: dt.datetime | None = None


@dataclass(frozen=True)
class ChannelKind:
    """A channel on the overview; `settings_url_name` takes the shop's slug.

    `is_lead_only` says that its settings page is for supervisors and admins only: other staff
    see the state without a link.
    """

    key: str
    label: str | Promise
    settings_url_name: str
    status: Callable[[Shop], ChannelState]
    order: int = 100
    is_lead_only: bool = False


_KINDS: dict[str, ChannelKind] = {}


def register_channel(kind: ChannelKind) -> None:
    """Add a channel to the overview (idempotent per key: the last registration wins)."""
    _KINDS[kind.key] = kind


def registered_channels() -> list[ChannelKind]:
    """Every registered channel, in overview order."""
    return sorted(_KINDS.values(), key=lambda kind: (kind.order, kind.key))


def latest_error(*candidates: tuple[str, dt.datetime | None]) -> tuple[str, dt.datetime | None]:
    """The most recent of several (error, at) pairs that carry an error; ("", None) if none."""
    errors = [(error, at) for error, at in candidates if error]
    if not errors:
        return "", None
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return max(errors, key=lambda pair: pair[1] or never)
