"""Templates are checked when saved; a reply never goes out with an empty field (issue #13)."""

import html

import pytest
from django.conf import settings
from django.urls import reverse

from madoguchi.conversations.models import Message
from madoguchi.core.errors import ValidationError
from madoguchi.core.testing import factories
from madoguchi.operations.models import AfterHoursSettings, ReplyDraft, ReplyTemplate
from madoguchi.operations.replies import (
    UnfilledPlaceholdersError,
    reply_draft_approve,
    reply_template_save,
)
from madoguchi.operations.templating import placeholder_problems, unfilled_placeholders
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop, unscoped

NAMES = (
    "{{ customer_name }}, {{ ticket_reference }}, {{ order_number }}, {{ tracking_url }}, "
    "{{ operator_name }}, {{ shop_name }}, {{ business_hours }}, {{ next_opening }}"
)


@pytest.fixture
def ja_client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    return client


@pytest.fixture
def order_template(world):
    with in_shop(world.tea.id):
        return ReplyTemplate.objects.create(
            shop=world.tea,
            name="注文確認",
            language="ja",
            body="{{ customer_name }}様\nご注文 {{ order_number }} を確認しました。",
        )


def _field_errors(response, field="body"):
    form = response.context["form"]
    return [str(error) for error in form.errors.get(field, [])]


def _outbound_count(ticket):
    with unscoped("test assertion"):
        return Message.objects.filter(ticket=ticket, direction="outbound").count()


# Checked when saved -----------------------------------------------------------------------------


def test_the_problems_of_a_template_text_are_named():
    assert placeholder_problems("{{ customer_name }}様 {{order_number}}") == []
    assert [problem.message for problem in placeholder_problems("{{ customer_name }様")] == [
        "A placeholder is not closed: write it as {{ name }}, with two braces on each side."
    ]
    assert [(p.message, dict(p.params)) for p in placeholder_problems("{{ お名前 }}様")] == [
        (
            "Unknown placeholder %(placeholder)s. Use one of: %(names)s.",
            {"placeholder": "{{ お名前 }}", "names": NAMES},
        )
    ]
    assert len(placeholder_problems("{% if x %}{{ customer_name }}{% endif %}")) == 1
    assert unfilled_placeholders("A {{ order_number }} B {{order_number}} {{ x }}") == [
        "{{ order_number }}",
        "{{ x }}",
    ]


def test_an_unknown_placeholder_is_refused_with_a_japanese_field_error(ja_client, world):
    ja_client.force_login(world.operator_tea)
    response = ja_client.post(
        reverse("operations:templates", args=["tea"]),
        {"name": "お詫び", "language": "ja", "body": "{{ お名前 }}様", "is_active": "on"},
    )
    assert response.status_code == 200
    assert _field_errors(response) == [
        f"{{{{ お名前 }}}} という差し込み項目はありません。使える項目: {NAMES}"
    ]
    assert 'class="field__error"' in response.content.decode()
    # What was typed is kept.
    assert "{{ お名前 }}様</textarea>" in html.unescape(response.content.decode())
    with in_shop(world.tea.id):
        assert ReplyTemplate.objects.filter(shop=world.tea).count() == 0


def test_broken_braces_and_template_tags_are_refused_on_edit(ja_client, world, order_template):
    ja_client.force_login(world.operator_tea)
    url = reverse("operations:template_edit", args=["tea", order_template.id])
    response = ja_client.post(
        url, {"name": "注文確認", "language": "ja", "body": "{{ customer_name }様{% debug %}"}
    )
    assert response.status_code == 200
    assert _field_errors(response) == [
        "差し込み項目の括弧が閉じていません。"
        "{{ name }} のように、両側を波括弧2つで囲んでください。",
        "テンプレートタグやコメント({% … %}、{# … #})は使えません。使えるのは {{ customer_name }} "
        "のような差し込み項目だけです。",
    ]
    order_template.refresh_from_db()
    assert (
        order_template.body == "{{ customer_name }}様\nご注文 {{ order_number }} を確認しました。"
    )


def test_the_service_refuses_a_broken_template_too(world):
    with in_shop(world.tea.id), pytest.raises(ValidationError) as raised:
        reply_template_save(
            actor=actor_for_user(world.operator_tea),
            shop=world.tea,
            name="x",
            language="ja",
            body="{{ settings.SECRET_KEY }}",
        )
    assert raised.value.message % raised.value.extra == (
        f"Unknown placeholder {{{{ settings.SECRET_KEY }}}}. Use one of: {NAMES}."
    )


def test_the_after_hours_text_is_checked_the_same_way(ja_client, world):
    ja_client.force_login(world.supervisor)
    response = ja_client.post(
        reverse("operations:after_hours", args=["tea"]),
        {"is_enabled": "on", "body": "{{ next_open }}以降にご返信します。"},
    )
    assert response.status_code == 200
    assert _field_errors(response) == [
        f"{{{{ next_open }}}} という差し込み項目はありません。使える項目: {NAMES}"
    ]
    with in_shop(world.tea.id):
        assert not AfterHoursSettings.objects.filter(shop=world.tea).exists()


def test_another_shops_operator_cannot_save_the_template(ja_client, world):
    ja_client.force_login(world.operator_ceramics)
    response = ja_client.post(
        reverse("operations:templates", args=["tea"]),
        {"name": "x", "language": "ja", "body": "{{ customer_name }}"},
    )
    assert response.status_code == 404
    with unscoped("test assertion"):
        assert ReplyTemplate.objects.count() == 0


# Empty values are named, never sent -------------------------------------------------------------


def test_the_picker_names_the_empty_fields_and_keeps_their_placeholders(
    ja_client, world, order_template
):
    ja_client.force_login(world.operator_tea)
    url = reverse("operations:template_fill", args=["tea", world.tea_ticket.number])
    fragment = ja_client.get(url, {"template": order_template.id}, HTTP_HX_REQUEST="true")
    body = html.unescape(fragment.content.decode())
    customer = world.tea_ticket.customer.name
    assert f"{customer}様\nご注文 {{{{ order_number }}}} を確認しました。</textarea>" in body
    assert fragment.context["empty"] == ["注文番号 ({{ order_number }})"]
    assert 'data-testid="reply-template-empty"' in body
    # Without JavaScript, the ticket page shows the same warning.
    page = ja_client.get(
        reverse("conversations:ticket", args=["tea", world.tea_ticket.number]),
        {"template": order_template.id},
    )
    assert page.context["reply_template_empty"] == ["注文番号 ({{ order_number }})"]
    assert 'data-testid="reply-template-empty-field">注文番号 ({{ order_number }})<' in (
        html.unescape(page.content.decode())
    )


def test_a_template_with_every_value_has_no_warning(ja_client, world):
    with in_shop(world.tea.id):
        template = ReplyTemplate.objects.create(
            shop=world.tea, name="挨拶", language="ja", body="{{ customer_name }}様"
        )
    ja_client.force_login(world.operator_tea)
    url = reverse("operations:template_fill", args=["tea", world.tea_ticket.number])
    fragment = ja_client.get(url, {"template": template.id}, HTTP_HX_REQUEST="true")
    assert fragment.context["empty"] == []
    assert 'data-testid="reply-template-empty"' not in fragment.content.decode()


def test_a_reply_with_an_unfilled_field_is_not_sent(ja_client, world, order_template):
    ja_client.force_login(world.operator_tea)
    response = ja_client.post(
        reverse("conversations:ticket_reply", args=["tea", world.tea_ticket.number]),
        {
            "body": "山田様\nご注文 {{ order_number }} を確認しました。",
            "template": str(order_template.id),
        },
    )
    assert response.status_code == 200
    assert response.context["reply_form"].non_field_errors() == [
        "返信に値のない差し込み項目が残っています: {{ order_number }}。"
        "該当箇所に内容を書き込むか削除してから送信してください。"
    ]
    assert _outbound_count(world.tea_ticket) == 0
    # Filled in by the operator, it goes.
    response = ja_client.post(
        reverse("conversations:ticket_reply", args=["tea", world.tea_ticket.number]),
        {"body": "山田様\nご注文 YE-1001 を確認しました。", "template": str(order_template.id)},
    )
    assert response.status_code == 302
    assert _outbound_count(world.tea_ticket) == 1


def test_a_supervisor_cannot_approve_a_draft_with_an_unfilled_field(world):
    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role=Membership.Role.OPERATOR, is_trainee=True
        )
        factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    with in_shop(world.tea.id):
        draft = ReplyDraft.objects.create(
            shop=world.tea,
            ticket=world.tea_ticket,
            author=membership.user,
            body_text="ご注文 {{ order_number }} を確認しました。",
            created_at=world.tea_ticket.created_at,
        )
        with pytest.raises(UnfilledPlaceholdersError) as raised:
            reply_draft_approve(actor=actor_for_user(world.supervisor), draft=draft)
    assert raised.value.placeholders == ["{{ order_number }}"]
    assert _outbound_count(world.tea_ticket) == 0
