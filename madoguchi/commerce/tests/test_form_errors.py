"""A refused order, shipment, request, import or payment shows its form again, in Japanese,
with what was typed; the other shop's operator still gets 404."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.commerce.models import Deposit, DepositImport, Order, Shipment
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.tenancy.scoping import in_shop, unscoped

TODAY = timezone.localdate()
NEW_ORDER = "/commerce/tea/orders/new/"


@pytest.fixture
def tea_order(world):
    with in_shop(world.tea.id):
        return make_order(world.tea, 10045, 5400, day=TODAY - dt.timedelta(days=2))


@pytest.fixture
def operator(client, world):
    client.force_login(world.operator_tea)
    return client


def _order_post(**changes):
    data = {
        "number": "10046",
        "source": "fax",
        "payment_method": "bank_transfer",
        "lines": "煎茶 100g, 1080, 2, 8",
        "shipping_fee": "550",
        "name": "山田 太郎",
        "postal_code": "150-0001",
        "address1": "渋谷区神宮前1-1-1",
        "note": "午前中指定",
    }
    data.update(changes)
    return data


def _field_errors(page, name):
    """The error texts shown in the field wrapper of the input `name`."""
    match = re.search(
        rf'<div class="field[^"]*has-error[^"]*">(?:(?!<div class="field).)*?name="{name}"'
        rf"(?:(?!<div class=\"field).)*",
        page,
        re.S,
    )
    assert match, f"no error on {name}"
    return re.findall(r'<p class="field__error" role="alert">([^<]*)</p>', match.group(0))


def test_an_existing_order_number_is_shown_on_the_number_field_with_the_typing_kept(
    operator, world, tea_order
):
    response = operator.post(NEW_ORDER, _order_post(number="10045"))
    assert response.status_code == 200
    page = response.content.decode()
    assert _field_errors(page, "number") == ["注文番号 10045 はすでに登録されています。"]
    assert 'name="number" value="10045"' in page
    assert 'name="address1" value="渋谷区神宮前1-1-1"' in page
    assert 'name="shipping_fee" value="550"' in page
    assert '<option value="fax" selected>' in page
    assert "煎茶 100g, 1080, 2, 8</textarea>" in page
    assert "午前中指定</textarea>" in page
    assert "already exists" not in page
    with in_shop(world.tea.id):
        assert Order.objects.count() == 1


def test_a_wrong_tax_rate_is_shown_on_the_lines_field(operator, world):
    response = operator.post(NEW_ORDER, _order_post(lines="煎茶 100g, 1080, 2, 5"))
    assert response.status_code == 200
    page = response.content.decode()
    assert _field_errors(page, "lines") == ["煎茶 100g：税率は 8 または 10 で入力してください。"]
    assert "煎茶 100g, 1080, 2, 5</textarea>" in page
    with in_shop(world.tea.id):
        assert not Order.objects.exists()


def test_an_unreadable_line_is_shown_on_the_lines_field(operator):
    page = operator.post(NEW_ORDER, _order_post(lines="煎茶\n")).content.decode()
    assert _field_errors(page, "lines") == ["1 行目：商品・単価・数量・税率を入力してください。"]


def test_the_order_page_is_a_styled_form(operator):
    page = operator.get(NEW_ORDER).content.decode()
    assert 'class="stacked-form" data-testid="order-form"' in page
    assert page.count('class="field"') == 13
    assert '<label class="field__label" for="id_number">注文番号</label>' in page
    assert '<label class="field__label" for="id_source">受付方法</label>' in page


def test_a_good_order_is_recorded(operator, world):
    response = operator.post(NEW_ORDER, _order_post())
    assert response.status_code == 302
    assert response["Location"] == "/commerce/tea/orders/10046/"
    with in_shop(world.tea.id):
        order = Order.objects.get(number="10046")
        assert (order.source, order.total, order.shipping_address1) == (
            "fax",
            2710,
            "渋谷区神宮前1-1-1",
        )


def test_another_shops_operator_gets_404_and_records_nothing(client, world):
    client.force_login(world.operator_ceramics)
    assert client.post(NEW_ORDER, _order_post()).status_code == 404
    with in_shop(world.tea.id):
        assert not Order.objects.exists()


def test_a_wrong_tracking_number_stays_in_the_shipment_form(operator, world, tea_order):
    url = "/commerce/tea/orders/10045/"
    response = operator.post(
        url, {"action": "shipment", "carrier": "yamato", "tracking_number": "123456789012"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert _field_errors(page, "tracking_number") == [
        "123456789012 はヤマト運輸の伝票番号として正しくありません。"
    ]
    assert 'name="tracking_number" value="123456789012"' in page
    with in_shop(world.tea.id):
        assert not Shipment.objects.exists()


def test_an_address_change_without_an_address_stays_in_the_request_form(operator, tea_order):
    response = operator.post(
        "/commerce/tea/orders/10045/",
        {"action": "request", "kind": "address_change", "reason": "転居", "postal_code": "1"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert _field_errors(page, "address1") == ["住所変更には新しい住所を入力してください。"]
    assert 'name="reason" value="転居"' in page


def test_a_bad_deposit_file_is_shown_on_the_file_field(operator, world):
    response = operator.post(
        "/commerce/tea/deposits/import/",
        {"format": "zengin", "file": SimpleUploadedFile("nyukin.txt", b"not zengin\r\n")},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="deposit-import-form"' in page
    assert _field_errors(page, "file") == [
        "1 行目のレコードが 10 バイトです（200 バイトのはずです）。"
    ]
    assert '<option value="zengin" selected>' in page
    with in_shop(world.tea.id):
        assert not DepositImport.objects.exists()


def test_a_missing_file_is_a_field_error(operator):
    response = operator.post("/commerce/tea/orders/import/", {"profile": "shopify"})
    assert response.status_code == 200
    assert _field_errors(response.content.decode(), "file") == ["このフィールドは必須です。"]


def test_unknown_order_numbers_for_a_deposit_are_shown_beside_them(operator, world, tea_order):
    with in_shop(world.tea.id):
        deposit = Deposit.objects.create(
            shop=world.tea,
            dedup_key="x",
            received_on=TODAY,
            amount=5400,
            remitter_name="ﾔﾏﾀﾞ ﾀﾛｳ",
            match_state="review",
        )
    response = operator.post(
        f"/commerce/tea/deposits/{deposit.id}/decide/", {"order_numbers": "#10045 #99999"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert _field_errors(page, "order_numbers") == [
        "このショップに注文番号 99999 の注文はありません。"
    ]
    assert "#10045 #99999" in page
    with in_shop(world.tea.id):
        assert Deposit.objects.get().match_state == "review"
        assert Order.objects.get().payment_status == "unpaid"


def test_every_refused_form_renders_without_an_untranslated_msgid(operator, world, tea_order):
    from madoguchi.core.tests.test_japanese_pages import untranslated_msgids

    with untranslated_msgids() as missing:
        operator.post(NEW_ORDER, _order_post(number="10045"))
        operator.post(NEW_ORDER, _order_post(lines="煎茶, 1080, 0"))
        operator.post(NEW_ORDER, _order_post(lines="x"))
        operator.post(
            "/commerce/tea/orders/10045/",
            {"action": "shipment", "carrier": "sagawa", "tracking_number": "1"},
        )
        operator.post(
            "/commerce/tea/deposits/import/",
            {"format": "zengin", "file": SimpleUploadedFile("n.txt", b"1" * 200 + b"\r\n")},
        )
    assert missing == set()


def test_an_imported_rows_refusal_is_listed_in_japanese(
    operator, world, django_capture_on_commit_callbacks
):
    content = (
        "Name,Created at,Lineitem name,Lineitem price,Lineitem quantity\n"
        "#1,2026-11-01 10:00:00,茶,1080,0\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            "/commerce/tea/orders/import/",
            {"profile": "shopify", "file": SimpleUploadedFile("o.csv", content.encode())},
        )
    assert response.status_code == 302
    page = operator.get(response["Location"]).content.decode()
    assert "<td>2</td><td>茶：数量は1以上、単価は0以上で入力してください。</td>" in page
    # The upload itself is a service write, audited (no ORM write in the view).
    with unscoped("test assertion"):
        entry = AuditEntry.objects.get(action="orders.imported")
    assert (entry.actor_id, entry.changes["filename"]) == (world.operator_tea.id, "o.csv")


def test_a_paid_order_typed_for_a_deposit_is_refused_beside_the_numbers(operator, world, tea_order):
    with in_shop(world.tea.id):
        tea_order.payment_status = "paid"
        tea_order.save(update_fields=["payment_status"])
        deposit = Deposit.objects.create(
            shop=world.tea,
            dedup_key="y",
            received_on=TODAY,
            amount=5400,
            remitter_name="ﾔﾏﾀﾞ ﾀﾛｳ",
            match_state="review",
        )
    response = operator.post(
        f"/commerce/tea/deposits/{deposit.id}/decide/", {"order_numbers": "10045"}
    )
    assert response.status_code == 200
    assert response.context["apply_form"].errors == {
        "order_numbers": ["指定した注文のうち、すでに入金済みのものがあります。"]
    }
