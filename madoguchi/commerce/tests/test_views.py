"""Commerce pages, each with the other-shop case (404)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.commerce.banking import zengin
from madoguchi.commerce.models import Deposit, Order, OrderImport, OrderRequest, Shipment
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.tenancy.scoping import in_shop, unscoped

TODAY = timezone.localdate()


@pytest.fixture
def tea_order(world):
    with in_shop(world.tea.id):
        return make_order(
            world.tea, 10001, 5400, kana="ヤマダ タロウ", day=TODAY - dt.timedelta(days=10)
        )


@pytest.fixture
def operator(client, world):
    client.force_login(world.operator_tea)
    return client


@pytest.fixture
def other_operator(client, world):
    client.force_login(world.operator_ceramics)
    return client


PAGES = [
    "/commerce/tea/orders/",
    "/commerce/tea/orders/new/",
    "/commerce/tea/orders/10001/",
    "/commerce/tea/orders/import/",
    "/commerce/tea/orders/reminders/",
    "/commerce/tea/deposits/import/",
    "/commerce/tea/deposits/review/",
]


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_the_shops_operator(operator, tea_order, url):
    response = operator.get(url)
    assert response.status_code == 200
    assert "山田園 茶舗" in response.content.decode()


@pytest.mark.parametrize("url", PAGES)
def test_other_shops_operator_and_the_client_get_404(client, world, tea_order, url):
    client.force_login(world.operator_ceramics)
    assert client.get(url).status_code == 404
    client.force_login(world.client_tea)
    assert client.get(url).status_code == 404


def test_anonymous_is_sent_to_login(client, tea_order):
    response = client.get("/commerce/tea/orders/")
    assert response.status_code == 302 and "/accounts/login" in response["Location"]


def test_order_list_and_detail_show_the_order(operator, tea_order):
    listing = operator.get("/commerce/tea/orders/?q=10001").content.decode()
    assert "#10001" in listing and "¥5,400" in listing
    detail = operator.get("/commerce/tea/orders/10001/").content.decode()
    assert "渋谷区神宮前1-1-1" in detail and "¥490" in detail  # 10% tax in 5,400


def test_shipment_request_and_notice_from_the_order_page(operator, world, tea_order):
    url = "/commerce/tea/orders/10001/"
    response = operator.post(
        url,
        {
            "action": "shipment",
            "carrier": "yamato",
            "tracking_number": "１２３４-５６７８-９０１３",
        },
    )
    assert response.status_code == 302
    bad = operator.post(
        url, {"action": "shipment", "carrier": "yamato", "tracking_number": "123456789012"}
    )
    assert bad.status_code == 200  # the form again, with the error (test_form_errors)
    operator.post(
        url,
        {"action": "request", "kind": "address_change", "reason": "転居", "address1": "新宿区1-1"},
    )
    operator.post(url, {"action": "request", "kind": "cancellation", "reason": "重複注文"})
    operator.post(url, {"action": "notice", "kind": "shipping"})
    page = operator.get(url).content.decode()
    assert "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number01=123456789013" in page
    with in_shop(world.tea.id):
        shipment = Shipment.objects.get()
        assert (shipment.tracking_number, shipment.tracking_number_original) == (
            "123456789013",
            "１２３４-５６７８-９０１３",
        )
        assert Order.objects.get().status == "shipped"
        assert sorted(OrderRequest.objects.values_list("kind", flat=True)) == [
            "address_change",
            "cancellation",
        ]
        notice = tea_order.notices.get()
        assert "123456789013" in notice.body_text
    with unscoped("test"):
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "order.address_change_requested",
        "order.cancellation_requested",
        "shipment.created",
    } <= actions


def test_other_shops_operator_cannot_post_to_the_order(other_operator, world, tea_order):
    response = other_operator.post(
        "/commerce/tea/orders/10001/", {"action": "status", "status": "cancelled"}
    )
    assert response.status_code == 404
    with in_shop(world.tea.id):
        assert Order.objects.get().status == "pending"


def test_deposit_import_review_and_confirm(
    operator, world, tea_order, django_capture_on_commit_callbacks
):
    with in_shop(world.tea.id):
        second = make_order(
            world.tea, 10002, 3000, kana="スズキ ハナコ", day=TODAY - dt.timedelta(days=3)
        )
    data = zengin.build(
        created_on=TODAY,
        transfers=[
            zengin.TransferToWrite("1", TODAY, 5400, "ﾔﾏﾀﾞ ﾀﾛｳ"),
            zengin.TransferToWrite("2", TODAY, 1500, "ｽｽﾞｷ ﾊﾅｺ"),
        ],
        line_end=b"\r\n",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            "/commerce/tea/deposits/import/",
            {"format": "zengin", "file": SimpleUploadedFile("nyukin.txt", data)},
        )
    assert response.status_code == 302
    queue = operator.get("/commerce/tea/deposits/review/").content.decode()
    assert "ｽｽﾞｷ ﾊﾅｺ" in queue and "#10002" in queue and "ﾔﾏﾀﾞ ﾀﾛｳ" not in queue
    with in_shop(world.tea.id):
        deposit = Deposit.objects.get(match_state="review")
        candidate = deposit.candidates.get(rank=1)
        assert tea_order.__class__.objects.get(number="10001").payment_status == "paid"
    other = operator.__class__()
    other.force_login(world.operator_ceramics)
    url = f"/commerce/tea/deposits/{deposit.id}/decide/"
    assert other.post(url, {"candidate": candidate.id}).status_code == 404
    assert operator.post(url, {"candidate": candidate.id, "notify": "1"}).status_code == 302
    with in_shop(world.tea.id):
        second.refresh_from_db()
        assert (second.payment_status, second.amount_paid) == ("partially_paid", 1500)
        notice = second.notices.get()
        assert notice.kind == "payment_thanks" and notice.message is None  # no ticket yet
        assert notice.unsent_reason == "no_ticket"
    flashed = operator.get("/commerce/tea/deposits/review/").content.decode()
    assert "注文 10002 のお知らせは送信せず記録のみしました：" in flashed
    # The same file again records nothing twice.
    operator.post(
        "/commerce/tea/deposits/import/",
        {"format": "zengin", "file": SimpleUploadedFile("nyukin.txt", data)},
    )
    with in_shop(world.tea.id):
        assert Deposit.objects.count() == 2


def test_reject_from_the_review_queue(operator, world, tea_order):
    with in_shop(world.tea.id):
        deposit = Deposit.objects.create(
            shop=world.tea,
            dedup_key="x",
            received_on=TODAY,
            amount=120,
            remitter_name="ﾘｿｸ",
            match_state="unmatched",
        )
    response = operator.post(f"/commerce/tea/deposits/{deposit.id}/decide/", {"action": "dismiss"})
    assert response.status_code == 302
    with in_shop(world.tea.id):
        assert Deposit.objects.get().match_state == "dismissed"


def test_reminder_list_shows_overdue_transfers_only(operator, world, tea_order):
    with in_shop(world.tea.id):
        make_order(world.tea, 10002, 3000, day=TODAY)  # not yet due
        make_order(world.tea, 10003, 3000, day=TODAY - dt.timedelta(days=30), method="card")
    page = operator.get("/commerce/tea/orders/reminders/").content.decode()
    assert "#10001" in page and "#10002" not in page and "#10003" not in page


def test_order_csv_upload_shows_progress_and_errors(
    operator, world, django_capture_on_commit_callbacks
):
    content = (
        "Name,Created at,Lineitem name,Lineitem price,Lineitem quantity\n"
        "#1,2026-11-01 10:00:00,茶,1080,1\n"
        "#2,x,茶,1080,1\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            "/commerce/tea/orders/import/",
            {"profile": "shopify", "file": SimpleUploadedFile("o.csv", content.encode("cp932"))},
        )
    assert response.status_code == 302
    with in_shop(world.tea.id):
        order_import = OrderImport.objects.get()
    assert response["Location"] == f"/commerce/tea/orders/import/{order_import.id}/"
    page = operator.get(response["Location"]).content.decode()
    assert 'value="100"' in page and "not a date: &#x27;x&#x27;" in page
    fragment = operator.get(response["Location"], headers={"HX-Request": "true"})
    assert fragment.content.decode().startswith('<div id="import-progress"')
    other = operator.__class__()
    other.force_login(world.operator_ceramics)
    assert other.get(response["Location"]).status_code == 404


def test_phone_order_entry(operator, world):
    response = operator.post(
        "/commerce/tea/orders/new/",
        {
            "number": "T-0001",
            "source": "phone",
            "payment_method": "bank_transfer",
            "lines": "煎茶 100g, 1080, 2, 8\n湯呑み, 2200",
            "shipping_fee": "550",
            "name": "山田 太郎",
            "name_kana": "ヤマダ タロウ",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/commerce/tea/orders/T-0001/"
    with in_shop(world.tea.id):
        order = Order.objects.get(number="T-0001")
        assert (order.source, order.total, order.total_8, order.tax_8) == ("phone", 4910, 2160, 160)
        assert (order.total_10, order.tax_10) == (2750, 250)
        assert order.payment_due_on == TODAY + dt.timedelta(days=7)
    bad = operator.post(
        "/commerce/tea/orders/new/",
        {"number": "T-0002", "payment_method": "card", "lines": "煎茶"},
    )
    assert bad.status_code == 200  # the form again, with the error (test_form_errors)
