import datetime as dt

from madoguchi.audit.models import AuditEntry
from madoguchi.commerce.deposits import deposit_confirm, deposit_dismiss, deposits_reconcile
from madoguchi.commerce.models import Deposit, Order, Payment
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.events.models import Event
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

DAY = dt.date(2026, 11, 5)


def deposit(shop, amount, name, key, day=DAY):
    return Deposit.objects.create(
        shop=shop, dedup_key=key, received_on=day, amount=amount, remitter_name=name
    )


def reconcile(shop):
    deposits_reconcile(shop=shop)
    return {d.dedup_key: d for d in Deposit.objects.filter(shop=shop)}


def test_exact_amount_and_name_is_applied_with_event_and_audit(world):
    with in_shop(world.tea.id):
        order = make_order(world.tea, 10001, 5400, kana="やまだ たろう")
        deposit(world.tea, 5400, "ﾔﾏﾀﾞ ﾀﾛｳ", "a")
        states = reconcile(world.tea)
        order.refresh_from_db()
        assert states["a"].match_state == "applied"
        assert (order.payment_status, order.amount_paid) == ("paid", 5400)
        assert Event.objects.filter(type="order.paid", payload__order_id=order.id).count() == 1
        assert list(order.status_changes.values_list("field", "old_value", "new_value")) == [
            ("status", "", "pending"),
            ("payment_status", "", "unpaid"),
            ("payment_status", "unpaid", "paid"),
        ]
    with unscoped("test"):
        entry = AuditEntry.objects.get(action="order.payment_recorded")
        assert entry.changes["automatic"] is True and entry.actor_label == "reconciler"


def test_fee_deducted_number_typed_and_combined_payments(world):
    with in_shop(world.tea.id):
        fee_order = make_order(world.tea, 10001, 5400, kana="サトウ ユウキ")
        numbered = make_order(world.tea, 10002, 3000, kana="")
        first = make_order(world.tea, 10003, 2000, kana="イトウ ショウタ")
        second = make_order(world.tea, 10004, 1500, customer=first.customer, kana="イトウ ショウタ")
        deposit(world.tea, 5400 - 440, "ｻﾄｳ ﾕｳｷ", "fee")
        deposit(world.tea, 3000, "10002ﾀﾅｶ", "number")
        deposit(world.tea, 3500, "ｲﾄｳ ｼﾖｳﾀ", "combined")
        states = reconcile(world.tea)
        assert {key: d.match_state for key, d in states.items()} == {
            "fee": "applied",
            "number": "applied",
            "combined": "applied",
        }
        payments = {
            (p.order.number, p.amount, p.fee_absorbed)
            for p in Payment.objects.select_related("order")
        }
        assert payments == {
            ("10001", 4960, 440),
            ("10002", 3000, 0),
            ("10003", 2000, 0),
            ("10004", 1500, 0),
        }
        assert set(Order.objects.values_list("payment_status", flat=True)) == {"paid"}
        assert fee_order and numbered and second


def test_name_only_amount_only_partial_and_ambiguous_wait_for_review(world):
    with in_shop(world.tea.id):
        make_order(world.tea, 10001, 5400, kana="ヤマダ タロウ")
        make_order(world.tea, 10002, 3240, kana="スズキ ハナコ")
        make_order(world.tea, 10003, 3240, kana="スズキ ハナコ")
        make_order(world.tea, 10004, 8000, kana="キムラ リョウ")
        deposit(world.tea, 1000, "ﾔﾏﾀﾞ ﾀﾛｳ", "name_only")
        deposit(world.tea, 8000, "ｵｶﾀﾞ ｹﾝﾀ", "amount_only")
        deposit(world.tea, 3240, "ｽｽﾞｷ ﾊﾅｺ", "ambiguous")
        deposit(world.tea, 4000, "ｷﾑﾗ ﾘﾖｳ", "partial")
        deposit(world.tea, 77777, "ﾀﾞﾚｶ", "nothing")
        states = reconcile(world.tea)
        assert {key: d.match_state for key, d in states.items()} == {
            "name_only": "review",
            "amount_only": "review",
            "ambiguous": "review",
            "partial": "review",
            "nothing": "unmatched",
        }
        assert Payment.objects.count() == 0
        ranked = [
            [sorted(o.number for o in c.orders.all()) for c in states["ambiguous"].candidates.all()]
        ]
        assert ranked == [[["10002"], ["10003"]]]
        top = states["amount_only"].candidates.get(rank=1)
        assert (top.score, top.reasons) == (40, ["amount"])


def test_a_person_confirms_or_dismisses_from_the_review_queue(world):
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        order = make_order(world.tea, 10004, 8000, kana="キムラ リョウ")
        deposit(world.tea, 4000, "ｷﾑﾗ ﾘﾖｳ", "partial")
        deposit(world.tea, 4000, "ｷﾑﾗ ﾘﾖｳ", "rest", day=DAY + dt.timedelta(days=1))
        deposit(world.tea, 120, "ﾘｿｸ", "interest")
        deposits_reconcile(shop=world.tea)
        partial = Deposit.objects.get(dedup_key="partial")
        deposit_confirm(actor=actor, deposit=partial, order_ids=[order.id])
        order.refresh_from_db()
        assert (order.payment_status, order.amount_paid) == ("partially_paid", 4000)
        # The rest now matches name and the amount still due: applied automatically.
        Deposit.objects.filter(dedup_key="rest").update(match_state="pending")
        deposits_reconcile(shop=world.tea)
        order.refresh_from_db()
        assert (order.payment_status, order.amount_paid) == ("paid", 8000)
        deposit_dismiss(actor=actor, deposit=Deposit.objects.get(dedup_key="interest"))
        assert Deposit.objects.get(dedup_key="interest").match_state == "dismissed"
    with unscoped("test"):
        assert AuditEntry.objects.filter(action="deposit.confirmed").count() == 1
        assert AuditEntry.objects.filter(action="deposit.dismissed").count() == 1


def test_a_number_pointing_elsewhere_blocks_the_name_match(world):
    with in_shop(world.tea.id):
        make_order(world.tea, 10001, 5400, kana="ヤマダ タロウ")
        make_order(world.tea, 10002, 2000, kana="ヤマダ タロウ")
        deposit(world.tea, 5400, "10002ﾔﾏﾀﾞﾀﾛｳ", "conflict")
        states = reconcile(world.tea)
        assert states["conflict"].match_state == "review"


def test_a_misspelt_name_ranks_its_order_first_but_is_not_applied(world):
    with in_shop(world.tea.id):
        make_order(world.tea, 10001, 5400, kana="ヤマダ タロウ")
        make_order(world.tea, 10002, 5400, kana="スズキ ハナコ")
        deposit(world.tea, 5400, "ﾔﾏﾀﾞ ﾀﾛﾇ", "typo")
        states = reconcile(world.tea)
        assert states["typo"].match_state == "review"
        ranked = [
            (c.score, c.reasons, [o.number for o in c.orders.all()])
            for c in states["typo"].candidates.all()
        ]
        assert ranked == [
            (75, ["similar_name", "amount"], ["10001"]),
            (40, ["amount"], ["10002"]),
        ]
        assert Payment.objects.count() == 0
