import pytest

from madoguchi.commerce.imports.orders_csv import run_import
from madoguchi.commerce.models import Order, OrderImport
from madoguchi.tenancy.scoping import in_shop

SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Shipping Name,Shipping Street,Shipping Address1,Shipping Address2,"
    "Shipping Company,Shipping City,Shipping Zip,Shipping Province,Shipping Country,"
    "Shipping Phone,Notes,Payment Method,Id,Shipping Province Name\n"
)


def shopify_row(
    name,
    qty,
    item,
    price,
    *,
    first=True,
    total="",
    created="2026-11-01 10:15:00 +0900",
    method="銀行振込",
    financial="pending",
):
    if not first:
        return f"{name},,,,,,,,,,,,,,,,{qty},{item},{price},,,,,,,,,,,,,,,,,,,,\n"
    return (
        f"{name},taro@example.jp,{financial},,unfulfilled,,no,JPY,{total},550,0,{total},,0,"
        f"ヤマト運輸,{created},{qty},{item},{price},,SKU-{item[:2]},true,true,pending,"
        f"山田 太郎,山田 太郎,,神宮前1-1-1,山田ビル201,,渋谷区,'150-0001,JP-13,JP,"
        f"'09012345678,,{method},5551234,東京都\n"
    )


def shopify_csv():
    return (
        SHOPIFY_HEADER
        + shopify_row("#1001", 2, "煎茶 100g", "1080", total="3790")
        + shopify_row("#1001", 1, "ほうじ茶", "1080", first=False)
        + shopify_row(
            "#1002", 1, "湯呑み", "2200", total="2750", method="クレジットカード", financial="paid"
        )
        + shopify_row("#1003", 1, "抹茶", "abc", total="1000")
        + shopify_row("#1004", 1, "玉露", "3240", total="3790", created="not a date")
        + shopify_row("#1005", 1, "玄米茶", "864", total="1414")
    )


def run(shop, content, profile="shopify", mapping=None):
    order_import = OrderImport.objects.create(
        shop=shop, profile=profile, mapping=mapping or {}, filename="orders.csv", content=content
    )
    return run_import(order_import)


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "utf-8-sig"])
def test_shopify_export_with_broken_rows(world, encoding):
    with in_shop(world.tea.id):
        result = run(world.tea, shopify_csv().encode(encoding))
        assert result.encoding == encoding.replace("utf-8-sig", "utf-8-sig")
        assert (result.status, result.total_rows, result.processed_rows) == ("finished", 5, 5)
        assert (result.created_count, result.error_count) == (3, 2)
        assert [error["row"] for error in result.errors] == [5, 6]
        assert result.errors[0]["message"] == "line 5: not a yen amount: 'abc'"
        assert result.errors[1]["message"] == "not a date: 'not a date'"
        first = Order.objects.get(number="1001")
        assert [(line.name, line.quantity, line.unit_price) for line in first.lines.all()] == [
            ("煎茶 100g", 2, 1080),
            ("ほうじ茶", 1, 1080),
        ]
        assert (first.total, first.tax_10, first.payment_method) == (3790, 344, "bank_transfer")
        assert (first.shipping_postal_code, first.shipping_prefecture) == ("150-0001", "東京都")
        assert first.shipping_address1 == "渋谷区神宮前1-1-1"
        assert first.shipping_phone == "09012345678"
        assert str(first.payment_due_on) == "2026-11-08"
        paid = Order.objects.get(number="1002")
        assert (paid.payment_method, paid.payment_status) == ("card", "paid")
        assert result.progress_percent == 100


def test_importing_again_updates_instead_of_duplicating(world):
    with in_shop(world.tea.id):
        run(world.tea, shopify_csv().encode())
        again = run(world.tea, shopify_csv().encode())
        assert (again.created_count, again.updated_count, again.error_count) == (0, 3, 2)
        assert Order.objects.count() == 3
    with in_shop(world.ceramics.id):
        assert Order.objects.count() == 0


def test_generic_mapping(world):
    content = (
        "受注番号,受注日,商品名,数量,単価,支払方法,お届け先カナ\n"
        "A-1,2026/11/03 09:00,煎茶,1,1080,銀行振込,ヤマダ タロウ\n"
        ",2026/11/03,煎茶,1,1080,銀行振込,\n"
        "A-2,2026/11/03,玉露,2,3240,代金引換,\n"
    ).encode("cp932")
    mapping = {
        "number": "受注番号",
        "placed_at": "受注日",
        "line_name": "商品名",
        "line_quantity": "数量",
        "line_price": "単価",
        "payment_method": "支払方法",
        "shipping_name_kana": "お届け先カナ",
    }
    with in_shop(world.tea.id):
        result = run(world.tea, content, profile="generic", mapping=mapping)
        assert (result.created_count, result.error_count) == (2, 1)
        assert result.errors == [{"row": 3, "message": "no order number"}]
        assert list(
            Order.objects.order_by("number").values_list(
                "number", "payment_method", "total", "shipping_name_kana"
            )
        ) == [("A-1", "bank_transfer", 1080, "ヤマダ タロウ"), ("A-2", "cod", 6480, "")]


def test_missing_columns_are_one_error(world):
    with in_shop(world.tea.id):
        result = run(world.tea, b"a,b\n1,2\n")
        assert result.error_count == 1
        assert result.errors[0]["message"].startswith("missing columns for: number")
