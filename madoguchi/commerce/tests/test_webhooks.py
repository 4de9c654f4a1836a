"""Shopify and EC-CUBE webhooks: the platforms' sample payloads, signed in the test."""

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from madoguchi.commerce.models import CommerceConnection, Order, Shipment, WebhookDelivery
from madoguchi.tenancy.scoping import in_shop, unscoped

CORPUS = Path("/work/shared/corpora/webhooks/shopify")
SECRET = "shpss_test_secret"


def shopify_signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def eccube_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def shopify(world):
    with in_shop(world.tea.id):
        return CommerceConnection.objects.create(
            shop=world.tea,
            platform="shopify",
            store_domain="tea.myshopify.com",
            webhook_secret=SECRET,
        )


@pytest.fixture
def eccube(world):
    with in_shop(world.ceramics.id):
        return CommerceConnection.objects.create(
            shop=world.ceramics,
            platform="eccube",
            store_domain="ceramics.example.jp",
            webhook_secret=SECRET,
        )


@pytest.fixture
def client(client, django_capture_on_commit_callbacks):
    """The test client, running on-commit work (the processing task) after each request."""

    class CommittingClient:
        def post(self, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return client.post(*args, **kwargs)

    return CommittingClient()


def corpus_body(name: str, key: str) -> bytes:
    return json.dumps(json.loads((CORPUS / name).read_text())[key]).encode()


def japanese_order() -> bytes:
    order = json.loads((CORPUS / "order.json").read_text())["order"]
    order.update(
        currency="JPY",
        total_price="3790",
        subtotal_price="3240",
        financial_status="pending",
        payment_gateway_names=["銀行振込"],
        name="#1001",
        order_number=1001,
    )
    order["line_items"] = [
        {"title": "煎茶 100g", "name": "煎茶 100g", "price": "1080", "quantity": 3, "sku": "SEN"}
    ]
    order["shipping_lines"] = [{"price": "550"}]
    order["shipping_address"] = {
        "name": "山田 太郎",
        "zip": "150-0001",
        "province": "東京都",
        "city": "渋谷区",
        "address1": "神宮前1-1-1",
        "address2": "",
        "phone": "09012345678",
    }
    return json.dumps(order, ensure_ascii=False).encode()


def post_shopify(
    client, connection, body, *, topic="orders/create", webhook_id="w-1", signature=None
):
    return client.post(
        f"/hooks/commerce/{connection.token}/",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Hmac-Sha256": signature or shopify_signature(body),
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": connection.store_domain,
            "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Webhook-Id": webhook_id,
        },
    )


def test_shopify_sample_order_and_fulfillment(client, shopify, world):
    body = corpus_body("order.json", "order")
    assert post_shopify(client, shopify, body).status_code == 200
    fulfillment = corpus_body("fulfillment.json", "fulfillment")
    response = post_shopify(
        client, shopify, fulfillment, topic="fulfillments/create", webhook_id="w-2"
    )
    assert response.status_code == 200
    with in_shop(world.tea.id):
        order = Order.objects.get(number="1001")
        assert (order.source, order.external_id, order.email) == (
            "shopify",
            "450789469",
            "bob.norman@hostmail.com",
        )
        assert [line.unit_price for line in order.lines.all()] == [199, 199, 199]
        shipment = Shipment.objects.get(order=order)
        assert (
            shipment.carrier,
            shipment.tracking_number,
            shipment.is_tracking_number_checked,
        ) == ("other", "1Z2345", None)
        assert list(WebhookDelivery.objects.values_list("topic", "status")) == [
            ("orders/create", "processed"),
            ("fulfillments/create", "processed"),
        ]
        assert bytes(WebhookDelivery.objects.first().raw_body) == body


def test_japanese_shopify_order(client, shopify, world):
    assert post_shopify(client, shopify, japanese_order()).status_code == 200
    with in_shop(world.tea.id):
        order = Order.objects.get(number="1001")
        assert (order.payment_method, order.total, order.tax_10) == ("bank_transfer", 3790, 344)
        assert (order.shipping_prefecture, order.shipping_address1) == (
            "東京都",
            "渋谷区神宮前1-1-1",
        )


def test_bad_shopify_signature_is_401_and_nothing_is_stored(client, shopify, world):
    body = corpus_body("order.json", "order")
    assert (
        post_shopify(client, shopify, body, signature=shopify_signature(body, "wrong")).status_code
        == 401
    )
    assert (
        post_shopify(client, shopify, body + b" ", signature=shopify_signature(body)).status_code
        == 401
    )
    response = client.post(
        f"/hooks/commerce/{shopify.token}/", data=body, content_type="application/json"
    )
    assert response.status_code == 401
    assert (
        client.post("/hooks/commerce/nope/", data=body, content_type="application/json").status_code
        == 404
    )
    with unscoped("test"):
        assert WebhookDelivery.objects.count() == 0
        assert Order.objects.count() == 0


def test_a_repeated_webhook_id_is_stored_once(client, shopify, world):
    body = corpus_body("order.json", "order")
    assert post_shopify(client, shopify, body, webhook_id="same").status_code == 200
    assert post_shopify(client, shopify, body, webhook_id="same").status_code == 200
    with in_shop(world.tea.id):
        assert WebhookDelivery.objects.count() == 1
        assert Order.objects.count() == 1


def test_eccube_hex_signature(client, eccube, world):
    body = json.dumps([{"entity": "order", "id": 13, "action": "created"}]).encode()
    url = f"/hooks/commerce/{eccube.token}/"
    ok = client.post(
        url,
        data=body,
        content_type="application/json",
        headers={
            "X-ECCUBE-Signature": eccube_signature(body),
            "X-ECCUBE-URL": "https://ceramics.example.jp",
        },
    )
    assert ok.status_code == 200
    # A Shopify-style base64 signature is not accepted by the EC-CUBE connection.
    wrong = client.post(
        url,
        data=body,
        content_type="application/json",
        headers={"X-ECCUBE-Signature": shopify_signature(body)},
    )
    assert wrong.status_code == 401
    with in_shop(world.ceramics.id):
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.headers) == (
            "processed",
            {"X-ECCUBE-URL": "https://ceramics.example.jp"},
        )


@pytest.mark.django_db(transaction=True)
def test_shopify_through_a_real_http_server(live_server, world, shopify):
    """The same delivery over a real socket to the live server, as Shopify sends it."""
    body = japanese_order()

    def send(signature: str, webhook_id: str) -> int:
        request = urllib.request.Request(
            f"{live_server.url}/hooks/commerce/{shopify.token}/",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": "tea.myshopify.com",
                "X-Shopify-API-Version": "2025-10",
                "X-Shopify-Webhook-Id": webhook_id,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert send(shopify_signature(body, "nope"), "live-0") == 401
    assert send(shopify_signature(body), "live-1") == 200
    assert send(shopify_signature(body), "live-1") == 200
    with in_shop(world.tea.id):
        assert WebhookDelivery.objects.count() == 1
        assert Order.objects.get(number="1001").total == 3790
