"""A refused merge of a LINE customer returns to the customer's page with the reason in
Japanese, instead of a page of its own in English; other shops still get 404."""

from django.contrib.messages import get_messages
from django.urls import reverse

from madoguchi.customers.models import Customer
from madoguchi.tenancy.scoping import unscoped


def _flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_merging_a_customer_into_itself_is_refused_on_the_customers_page(client, world):
    customer_id = world.tea_ticket.customer_id
    client.force_login(world.operator_tea)
    url = reverse("line:customer_merge", args=["tea", customer_id])
    response = client.post(url, {"target": customer_id})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "customers:detail", kwargs={"shop_slug": "tea", "pk": customer_id}
    )
    assert _flashed(response) == ["同じ顧客どうしは統合できません。"]
    with unscoped("test assertion"):
        assert Customer.objects.count() == 2


def test_a_merge_without_a_target_is_refused_in_japanese(client, world):
    customer_id = world.tea_ticket.customer_id
    client.force_login(world.operator_tea)
    response = client.post(reverse("line:customer_merge", args=["tea", customer_id]), {})
    assert response.status_code == 302
    assert _flashed(response) == ["統合先の顧客を選んでください。"]


def test_another_shops_operator_gets_404(client, world):
    client.force_login(world.operator_ceramics)
    url = reverse("line:customer_merge", args=["tea", world.tea_ticket.customer_id])
    assert client.post(url, {"target": world.tea_ticket.customer_id}).status_code == 404
