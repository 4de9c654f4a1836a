"""The must-show: a generated month of 1,000 orders and their deposits, reconciled."""

import datetime as dt

from madoguchi.commerce.deposits import deposits_import_zengin, deposits_reconcile
from madoguchi.commerce.models import Deposit
from madoguchi.commerce.simulation import evaluate, generate_month
from madoguchi.tenancy.scoping import in_shop


def test_a_month_of_deposits_is_reconciled_without_a_wrong_match(world):
    with in_shop(world.tea.id):
        month = generate_month(shop=world.tea, order_count=1000)
        deposits_import_zengin(
            shop=world.tea,
            data=month.zengin_file,
            filename="nyukin.txt",
            received_on=month.created_on + dt.timedelta(days=1),
        )
        result = deposits_reconcile(shop=world.tea)
        counts = evaluate(month=month, shop=world.tea)
    print(counts)
    # The seeded month: 774 deposits, 659 with enough evidence to apply without a person.
    assert (counts["deposits"], counts["matchable"]) == (774, 659)
    assert (counts["matchable_applied_correctly"], counts["matchable_in_review"]) == (649, 10)
    assert (counts["other_in_review"], counts["other_unmatched"]) == (75, 40)
    assert counts["applied_wrong"] == 0
    assert counts["matchable"] > 600
    assert counts["matchable_applied_correctly"] * 100 >= counts["matchable"] * 98
    # Every matchable deposit not applied waits in review; none is lost as "unmatched".
    assert counts["matchable_unmatched"] == 0
    assert (
        counts["matchable_applied_correctly"] + counts["matchable_in_review"] == counts["matchable"]
    )
    assert result.applied + result.review + result.unmatched == counts["deposits"]
    with in_shop(world.tea.id):
        assert Deposit.objects.filter(match_state="pending").count() == 0
