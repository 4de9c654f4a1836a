"""Writes of a person's working profile: the languages they answer in (routing by skill).

Profiles are workspace rows (`OperatorProfile`, one per membership): this module enters the
membership's workspace scope itself, because it also runs for a person accepting an
invitation, whose request scope does not hold the workspace yet.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import ValidationError
from madoguchi.operations.models import OperatorProfile
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_workspace

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

# The languages a person may be skilled in; ticket languages use the same codes.
LANGUAGE_CHOICES = (
    ("ja", _("Japanese")),
    ("en", _("English")),
    ("zh", _("Chinese")),
    ("ko", _("Korean")),
)
LANGUAGE_CODES = tuple(code for code, _label in LANGUAGE_CHOICES)


def languages_clean(languages: Sequence[str]) -> list[str]:
    """Return the codes in the order of `LANGUAGE_CHOICES`, without repeats; refuse others."""
    unknown = set(languages) - set(LANGUAGE_CODES)
    if unknown:
        raise ValidationError("Unknown language.")
    return [code for code in LANGUAGE_CODES if code in languages]


def languages_by_membership(
    *, workspace_id: int, membership_ids: Collection[int]
) -> dict[int, list[str]]:
    """Return the languages of the workspace's memberships that have a profile, by id."""
    with in_workspace(workspace_id):
        rows = OperatorProfile.objects.filter(membership_id__in=list(membership_ids)).values_list(
            "membership_id", "languages"
        )
        return {membership_id: list(languages or []) for membership_id, languages in rows}


@transaction.atomic
def operator_languages_set(
    *, actor: User | None, membership: Membership, languages: Sequence[str]
) -> OperatorProfile:
    """Set the languages the person answers in; audited when they change.

    The caller decided that `actor` may (the people pages: an admin of the person's workspace;
    an invitation the person accepts: the languages its admin chose). `actor` is recorded.
    """
    wanted = languages_clean(languages)
    with in_workspace(membership.workspace_id):
        profile, _created = OperatorProfile.objects.select_for_update().get_or_create(
            membership=membership, defaults={"workspace_id": membership.workspace_id}
        )
        old = list(profile.languages)
        if old != wanted:
            profile.languages = wanted
            profile.save(update_fields=["languages"])
            record(
                actor=actor,
                action=actions.OPERATOR_LANGUAGES_CHANGED,
                target=profile,
                changes={"languages": [old, wanted]},
            )
    return profile
