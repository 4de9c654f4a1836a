"""Operators made for the routing and reassignment tests."""

import datetime as dt
from collections.abc import Sequence

from madoguchi.accounts.models import User
from madoguchi.core.testing import factories
from madoguchi.core.testing.fixtures import World
from madoguchi.operations.models import OperatorProfile, Shift
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import unscoped


def tea_operator(
    world: World,
    *,
    languages: Sequence[str] = ("ja",),
    available: bool = True,
    on_shift_at: dt.datetime | None = None,
) -> User:
    """A new agency operator of the tea shop with an operator profile (available or offline).

    With `on_shift_at`, they have a shift from an hour before that moment to eight hours after.
    """
    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role=Membership.Role.OPERATOR
        )
        factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
        OperatorProfile.objects.create(
            workspace=world.agency,
            membership=membership,
            duty=OperatorProfile.Duty.AVAILABLE if available else OperatorProfile.Duty.OFFLINE,
            languages=list(languages),
        )
        if on_shift_at is not None:
            Shift.objects.create(
                workspace=world.agency,
                membership=membership,
                starts_at=on_shift_at - dt.timedelta(hours=1),
                ends_at=on_shift_at + dt.timedelta(hours=8),
            )
    user: User = membership.user
    return user
