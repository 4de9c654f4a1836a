"""Small builders for commerce tests (real rows through the services)."""

import datetime as dt
from zoneinfo import ZoneInfo

from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_create
from madoguchi.customers.models import Customer

TOKYO = ZoneInfo("Asia/Tokyo")


def make_order(
    shop,
    number,
    total,
    *,
    kana="",
    name="山田太郎",
    day=dt.date(2026, 11, 1),
    method="bank_transfer",
    customer=None,
    rate=10,
):
    if customer is None:
        customer = Customer.objects.create(shop=shop, name=name, name_kana=kana)
    return order_create(
        shop=shop,
        data=OrderInput(
            number=str(number),
            placed_at=dt.datetime.combine(day, dt.time(10, 0), tzinfo=TOKYO),
            payment_method=method,
            lines=[LineInput(name="煎茶", unit_price=total, tax_rate=rate)],
            customer=customer,
            address=AddressInput(
                postal_code="150-0001",
                prefecture="東京都",
                address1="渋谷区神宮前1-1-1",
                name=name,
                name_kana=kana,
            ),
            payment_due_on=day + dt.timedelta(days=7),
        ),
    )
