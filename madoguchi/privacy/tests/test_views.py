"""The privacy pages: leads only, strangers to the shop 404, every change and export audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.core.testing.japanese import untranslated_msgids
from madoguchi.customers.models import Customer
from madoguchi.privacy.models import ErasureRecord, RetentionPolicy, RetentionRun
from madoguchi.privacy.tests.rows import BODY, EMAIL, NAME, customer_everywhere
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _retention_url(shop: Any) -> str:
    return reverse("privacy:retention", args=[shop.slug])


POLICY = {"is_enabled": "on", "closed_ticket_years": "3", "raw_payload_days": "30"}


def _policy(shop: Any) -> RetentionPolicy | None:
    with unscoped("test"):
        return RetentionPolicy.objects.filter(shop=shop).first()


def test_a_supervisor_changes_the_policy_and_it_is_audited(english: Client, world: Any) -> None:
    english.force_login(world.supervisor)
    page = english.get(_retention_url(world.tea))
    assert page.status_code == 200
    assert 'data-testid="retention-form"' in page.text and "No runs yet." in page.text
    response = english.post(_retention_url(world.tea), POLICY)
    assert response.status_code == 302
    policy = _policy(world.tea)
    assert policy is not None
    assert (policy.is_enabled, policy.closed_ticket_years, policy.raw_payload_days) == (True, 3, 30)
    entry = AuditEntry.objects.get(action="privacy.retention_changed")
    assert (entry.shop_id, entry.actor_id) == (world.tea.id, world.supervisor.id)
    assert entry.changes == {
        "is_enabled": [False, True],
        "closed_ticket_years": [5, 3],
        "raw_payload_days": [90, 30],
    }
    # Saving the same values again changes nothing and writes no entry.
    english.post(_retention_url(world.tea), POLICY)
    assert AuditEntry.objects.filter(action="privacy.retention_changed").count() == 1


def test_out_of_range_values_are_refused_on_the_form(english: Client, world: Any) -> None:
    english.force_login(world.admin)
    response = english.post(_retention_url(world.tea), {**POLICY, "closed_ticket_years": "0"})
    assert response.status_code == 400
    assert _policy(world.tea) is None


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("operator_tea", 403),
        ("client_tea", 403),
        ("operator_ceramics", 404),
        ("client_ceramics", 404),
    ],
)
def test_only_the_shops_leads_see_or_change_the_policy(
    english: Client, world: Any, user: str, status: int
) -> None:
    english.force_login(getattr(world, user))
    assert english.get(_retention_url(world.tea)).status_code == status
    assert english.post(_retention_url(world.tea), POLICY).status_code == status
    assert _policy(world.tea) is None
    assert not AuditEntry.objects.filter(action="privacy.retention_changed").exists()


def test_the_runs_are_reported_on_the_settings_page(english: Client, world: Any) -> None:
    import datetime as dt

    with in_shop(world.tea.id):
        RetentionRun.objects.create(
            shop=world.tea,
            closed_ticket_years=5,
            raw_payload_days=90,
            started_at=dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC),
            ended_at=dt.datetime(2026, 12, 1, 3, 1, tzinfo=dt.UTC),
            tickets_count=12,
            messages_count=57,
            attachments_count=3,
            raw_mails_count=40,
        )
    english.force_login(world.supervisor)
    page = english.get(_retention_url(world.tea)).text
    assert page.count('data-testid="retention-run"') == 1
    for number in ("12", "57", "40", "5 years / 90 days"):
        assert f"<td>{number}</td>" in page


def _customer(world: Any) -> Customer:
    with in_shop(world.tea.id):
        return customer_everywhere(world.tea).customer


def test_the_customer_page_offers_the_requests_to_leads_only(client: Client, world: Any) -> None:
    customer = _customer(world)
    url = reverse("customers:detail", kwargs={"shop_slug": "tea", "pk": customer.pk})
    client.force_login(world.supervisor)
    with untranslated_msgids() as missing:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").text
    assert sorted(missing) == []
    assert 'data-testid="privacy-erase"' in page
    assert "個人情報の開示・削除請求" in page
    client.force_login(world.operator_tea)
    page = client.get(url).text
    assert 'data-testid="customer-name"' in page
    assert 'data-testid="customer-privacy"' not in page


def test_the_json_export_holds_every_app_and_is_audited(english: Client, world: Any) -> None:
    customer = _customer(world)
    english.force_login(world.supervisor)
    response = english.get(reverse("privacy:export_json", args=["tea", customer.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="customer-tea-{customer.pk}.json"'
    )
    data = json.loads(response.content)
    assert list(data) == [
        "exported_at",
        "shop",
        "customer",
        "contact_identities",
        "tickets",
        "orders",
        "chat_conversations",
        "line_events",
        "phone_calls",
        "web_form_submissions",
    ]
    assert data["customer"]["name"] == NAME
    assert [i["kind"] for i in data["contact_identities"]] == ["email", "line", "phone"]
    assert sorted(t["channel"] for t in data["tickets"]) == [
        "chat",
        "email",
        "line",
        "phone",
        "web_form",
    ]
    email_ticket = next(t for t in data["tickets"] if t["channel"] == "email")
    assert email_ticket["messages"][0]["body_text"] == BODY
    assert email_ticket["messages"][0]["attachments"][0]["filename"] == "注文書.pdf"
    assert data["orders"][0]["email"] == EMAIL
    assert data["orders"][0]["shipping_name"] == NAME
    assert [len(data[key]) for key in ("chat_conversations", "line_events", "phone_calls")] == [
        1,
        1,
        1,
    ]
    assert data["web_form_submissions"][0]["message"] == BODY
    entry = AuditEntry.objects.get(action="privacy.customer_exported")
    assert (entry.target_id, entry.actor_id, entry.changes) == (
        str(customer.pk),
        world.supervisor.id,
        {"format": "json", "tickets": 5, "orders": 1},
    )


def test_the_readable_export_is_in_japanese(client: Client, world: Any) -> None:
    customer = _customer(world)
    client.force_login(world.admin)
    with untranslated_msgids() as missing:
        response = client.get(
            reverse("privacy:export_page", args=["tea", customer.pk]), HTTP_ACCEPT_LANGUAGE="ja"
        )
    assert response.status_code == 200
    assert sorted(missing) == []
    page = response.text
    for text in ("顧客について保有する個人情報", "チケットとメッセージ", NAME, BODY, "受信"):
        assert text in page
    assert AuditEntry.objects.get(action="privacy.customer_exported").changes["format"] == "html"


@pytest.mark.parametrize("name", ["export_json", "export_page", "erase"])
@pytest.mark.parametrize(("user", "status"), [("operator_tea", 403), ("operator_ceramics", 404)])
def test_others_may_not_export_or_erase(
    english: Client, world: Any, name: str, user: str, status: int
) -> None:
    customer = _customer(world)
    english.force_login(getattr(world, user))
    url = reverse(f"privacy:{name}", args=["tea", customer.pk])
    assert english.get(url).status_code == status
    assert english.post(url, {"reason": "x", "confirmation": NAME}).status_code in (status, 405)
    with in_shop(world.tea.id):
        assert Customer.objects.get(pk=customer.pk).name == NAME
    assert not AuditEntry.objects.filter(action__startswith="privacy.").exists()


def test_erasure_through_the_pages(
    client: Client, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = _customer(world)
    client.force_login(world.supervisor)
    url = reverse("privacy:erase", args=["tea", customer.pk])
    assert 'data-testid="erase-form"' in client.get(url).text
    refused = client.post(url, {"reason": "本人の依頼", "confirmation": "桜井"})
    assert refused.status_code == 400
    assert "確認のため、顧客の名前か「削除」と入力してください。" in refused.text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "本人の依頼", "confirmation": NAME})
    with unscoped("test"):
        erasure = ErasureRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("privacy:erasure", args=["tea", erasure.pk])
    with untranslated_msgids() as missing:
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="ja").text
    assert sorted(missing) == []
    assert "削除したメッセージ" in page and erasure.digest in page
    assert "まだ検証していません。" in page
    verified = client.post(reverse("privacy:erasure_verify", args=["tea", erasure.pk]))
    assert verified.status_code == 302
    assert "この顧客の情報は残っていません。" in client.get(verified["Location"]).text
    # The record is the shop's leads' only; a stranger's answer is 404.
    client.force_login(world.operator_ceramics)
    assert client.get(response["Location"]).status_code == 404
