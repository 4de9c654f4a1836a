"""The cart connection pages: connect Shopify and EC-CUBE, secrets, rotation, retirement."""

import datetime as dt
import json

from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.commerce.models import CommerceConnection, WebhookDelivery
from madoguchi.commerce.tests.test_webhooks import eccube_signature, shopify_signature
from madoguchi.tenancy.scoping import in_shop, unscoped

LIST = reverse("commerce:connections", args=["tea"])
SHOPIFY_SECRET = "shpss_0123456789abcdef0123"
BODY = json.dumps([{"entity": "Order", "id": 7, "action": "update"}]).encode()


def _raw_secret(connection_id: int) -> str:
    """The stored column as the database holds it, past the field's decryption."""
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT webhook_secret FROM commerce_commerceconnection WHERE id = %s", [connection_id]
        )
        return str(cursor.fetchone()[0])


def _only_connection() -> CommerceConnection:
    with unscoped("test assertion"):
        return CommerceConnection.objects.get()


def _post_eccube(client, token: str, secret: str):
    return client.post(
        f"/hooks/commerce/{token}/",
        data=BODY,
        content_type="application/json",
        headers={"X-ECCUBE-Signature": eccube_signature(BODY, secret)},
    )


def _post_shopify(client, token: str, secret: str, webhook_id: str = "w-1"):
    body = json.dumps({"id": 1, "admin_graphql_api_id": "gid://shopify/Product/1"}).encode()
    return client.post(
        f"/hooks/commerce/{token}/",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Hmac-Sha256": shopify_signature(body, secret),
            "X-Shopify-Topic": "products/update",
            "X-Shopify-Webhook-Id": webhook_id,
        },
    )


def _connect_eccube(client, world):
    client.force_login(world.supervisor)
    response = client.post(LIST, {"platform": "eccube", "store_domain": "shop.example.jp"})
    assert response.status_code == 200
    return response, _only_connection()


def test_lead_connects_shopify_with_the_pasted_secret(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        LIST,
        {
            "platform": "shopify",
            "store_domain": "https://Tea-Shop.myshopify.com/admin",
            "webhook_secret": f" {SHOPIFY_SECRET} ",
        },
    )
    connection = _only_connection()
    assert response.status_code == 302
    assert response["Location"] == reverse("commerce:connection", args=["tea", connection.pk])
    assert (
        connection.shop_id,
        connection.platform,
        connection.store_domain,
        connection.webhook_secret,
        connection.is_active,
    ) == (world.tea.id, "shopify", "tea-shop.myshopify.com", SHOPIFY_SECRET, True)
    assert _raw_secret(connection.pk).startswith("fernet:")
    assert SHOPIFY_SECRET not in _raw_secret(connection.pk)
    with in_shop(world.tea.id):
        entry = AuditEntry.objects.get(action="commerce_connection.created")
    assert entry.changes == {
        "platform": "shopify",
        "store_domain": "tea-shop.myshopify.com",
        "webhook_secret": "changed",
    }
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.context["webhook_url"] == f"http://testserver/hooks/commerce/{connection.token}/"
    assert page.context["webhook_url"] in html
    assert SHOPIFY_SECRET not in html
    assert 'data-testid="new-secret"' not in html
    assert _post_shopify(client, connection.token, SHOPIFY_SECRET).status_code == 200
    assert _post_shopify(client, connection.token, "another-secret-0000", "w-2").status_code == 401


def test_eccube_secret_is_generated_and_shown_once(client, world):
    response, connection = _connect_eccube(client, world)
    secret = connection.webhook_secret
    assert len(secret) >= 40
    assert response.context["new_secret"] == secret
    assert secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert _raw_secret(connection.pk).startswith("fernet:")
    for url in (LIST, reverse("commerce:connection", args=["tea", connection.pk])):
        later = client.get(url)
        assert later.status_code == 200
        assert secret not in later.content.decode()
    assert _post_eccube(client, connection.token, secret).status_code == 200


def test_rotation_retires_the_old_url_and_the_new_secret_verifies(client, world):
    _, connection = _connect_eccube(client, world)
    old_token, old_secret = connection.token, connection.webhook_secret
    rotate = reverse("commerce:connection_rotate", args=["tea", connection.pk])
    response = client.post(rotate, {"renew": "both"})
    assert response.status_code == 200
    connection = _only_connection()
    assert (connection.token != old_token, connection.webhook_secret != old_secret) == (True, True)
    assert response.context["new_secret"] == connection.webhook_secret
    assert _post_eccube(client, old_token, old_secret).status_code == 404
    assert _post_eccube(client, connection.token, old_secret).status_code == 401
    assert _post_eccube(client, connection.token, connection.webhook_secret).status_code == 200
    with in_shop(world.tea.id):
        entry = AuditEntry.objects.get(action="commerce_connection.rotated")
        assert entry.changes == {"token": "changed", "webhook_secret": "changed"}
        assert old_secret not in json.dumps(entry.changes)


def test_shopify_renews_its_url_and_takes_a_new_pasted_secret(client, world):
    with in_shop(world.tea.id):
        connection = CommerceConnection.objects.create(
            shop=world.tea,
            platform="shopify",
            store_domain="tea.myshopify.com",
            webhook_secret=SHOPIFY_SECRET,
        )
    client.force_login(world.admin)
    rotate = reverse("commerce:connection_rotate", args=["tea", connection.pk])
    refused = client.post(rotate, {"renew": "secret"})
    assert refused.status_code == 200
    assert refused.context["error"] == (
        "Shopify のシークレットは Shopify が発行します。新しいシークレットを貼り付けてください。"
    )
    old_token = connection.token
    response = client.post(rotate, {"renew": "token"})
    assert response.status_code == 302
    connection = _only_connection()
    assert connection.token != old_token
    assert _post_shopify(client, old_token, SHOPIFY_SECRET).status_code == 404
    assert _post_shopify(client, connection.token, SHOPIFY_SECRET).status_code == 200

    detail = reverse("commerce:connection", args=["tea", connection.pk])
    new_secret = "shpss_fedcba9876543210fedc"
    kept = client.post(detail, {"store_domain": "tea.myshopify.com", "is_active": "on"})
    assert kept.status_code == 302
    assert _only_connection().webhook_secret == SHOPIFY_SECRET
    changed = client.post(
        detail,
        {"store_domain": "tea.myshopify.com", "is_active": "on", "webhook_secret": new_secret},
    )
    assert changed.status_code == 302
    assert _post_shopify(client, connection.token, SHOPIFY_SECRET, "w-2").status_code == 401
    assert _post_shopify(client, connection.token, new_secret, "w-3").status_code == 200
    with in_shop(world.tea.id):
        assert list(
            AuditEntry.objects.filter(action="commerce_connection.changed").values_list(
                "changes", flat=True
            )
        ) == [{"webhook_secret": "changed"}]
    assert new_secret not in client.get(detail).content.decode()


def test_a_connection_with_deliveries_is_deactivated_not_deleted(client, world):
    _, connection = _connect_eccube(client, world)
    assert _post_eccube(client, connection.token, connection.webhook_secret).status_code == 200
    delete = reverse("commerce:connection_delete", args=["tea", connection.pk])
    refused = client.post(delete)
    assert refused.status_code == 200
    assert refused.context["error"] == (
        "この連携はすでに Webhook を受信しているため削除できません。代わりに無効にしてください。"
    )
    assert refused.context["row"].delivery_count == 1
    detail = reverse("commerce:connection", args=["tea", connection.pk])
    assert client.post(detail, {"store_domain": "shop.example.jp"}).status_code == 302
    assert _only_connection().is_active is False
    assert _post_eccube(client, connection.token, connection.webhook_secret).status_code == 404
    with in_shop(world.tea.id):
        assert AuditEntry.objects.get(action="commerce_connection.changed").changes == {
            "is_active": [True, False]
        }


def test_a_connection_without_deliveries_is_deleted(client, world):
    _, connection = _connect_eccube(client, world)
    response = client.post(reverse("commerce:connection_delete", args=["tea", connection.pk]))
    assert response.status_code == 302
    assert response["Location"] == LIST
    with in_shop(world.tea.id):
        assert not CommerceConnection.objects.exists()
        assert AuditEntry.objects.get(action="commerce_connection.deleted").changes == {
            "platform": "eccube",
            "store_domain": "shop.example.jp",
        }


def test_invalid_input_is_refused_in_japanese_and_keeps_what_was_typed(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        LIST,
        {"platform": "shopify", "store_domain": "tea.example.jp", "webhook_secret": SHOPIFY_SECRET},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "ストアの myshopify.com ドメインを入力してください（例: tea.myshopify.com）。"
    ]
    html = response.content.decode()
    assert 'value="tea.example.jp"' in html
    assert SHOPIFY_SECRET not in html
    short = client.post(
        LIST, {"platform": "shopify", "store_domain": "tea.myshopify.com", "webhook_secret": "x"}
    )
    assert short.context["form"].non_field_errors() == [
        "Shopify に表示される Webhook の署名シークレットをそのまま貼り付けてください。"
    ]
    pasted = client.post(
        LIST,
        {"platform": "eccube", "store_domain": "shop.example.jp", "webhook_secret": "typed"},
    )
    assert pasted.context["form"].non_field_errors() == [
        "EC-CUBE の場合はシークレットを空欄にしてください。こちらで発行します。"
    ]
    with unscoped("test assertion"):
        assert not CommerceConnection.objects.exists()
    client.post(LIST, {"platform": "eccube", "store_domain": "shop.example.jp"})
    again = client.post(LIST, {"platform": "eccube", "store_domain": "SHOP.example.jp"})
    assert again.context["form"].non_field_errors() == ["このストアとの連携はすでにあります。"]


def test_the_list_shows_the_last_delivery_and_the_last_error(client, world):
    _, connection = _connect_eccube(client, world)
    received = timezone.now().replace(microsecond=0)
    with in_shop(world.tea.id):
        WebhookDelivery.objects.create(
            shop=world.tea,
            connection=connection,
            topic="eccube",
            raw_body=b"[]",
            received_at=received - dt.timedelta(hours=1),
            error="No order with id 7.",
        )
        WebhookDelivery.objects.create(
            shop=world.tea,
            connection=connection,
            topic="eccube",
            raw_body=b"[]",
            received_at=received,
        )
    page = client.get(LIST)
    [row] = page.context["rows"]
    assert (row.last_received_at, row.last_error, row.last_error_at, row.delivery_count) == (
        received,
        "No order with id 7.",
        received - dt.timedelta(hours=1),
        2,
    )
    assert "No order with id 7." in page.content.decode()


def test_only_leads_of_the_shop_manage_connections(client, world):
    with in_shop(world.ceramics.id):
        other = CommerceConnection.objects.create(
            shop=world.ceramics,
            platform="eccube",
            store_domain="ceramics.example.jp",
            webhook_secret="ceramics-secret-0000",
        )
    client.force_login(world.operator_tea)
    assert client.get(LIST).status_code == 403
    new = {"platform": "eccube", "store_domain": "a.example.jp"}
    assert client.post(LIST, new).status_code == 403
    client.force_login(world.client_tea)
    assert client.get(LIST).status_code == 403
    client.force_login(world.operator_ceramics)
    assert client.get(LIST).status_code == 404
    client.force_login(world.supervisor)
    # Another shop's connection, named through this shop's pages, is not found.
    assert client.get(reverse("commerce:connection", args=["tea", other.pk])).status_code == 404
    rotate = reverse("commerce:connection_rotate", args=["tea", other.pk])
    assert client.post(rotate, {"renew": "token"}).status_code == 404
    delete = reverse("commerce:connection_delete", args=["tea", other.pk])
    assert client.post(delete).status_code == 404
    with unscoped("test assertion"):
        assert CommerceConnection.objects.get().token == other.token
