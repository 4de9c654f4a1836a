"""Templates, the picker, approval queue and after-hours pages; never for other shops."""

import re

import pytest
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Category, Message, Ticket
from madoguchi.core.testing import factories
from madoguchi.operations.models import AfterHoursSettings, ReplyDraft, ReplyTemplate
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop, unscoped


@pytest.fixture
def trainee(world):
    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role=Membership.Role.OPERATOR, is_trainee=True
        )
        factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    return membership.user


@pytest.fixture
def tea_template(world):
    with in_shop(world.tea.id):
        return ReplyTemplate.objects.create(
            shop=world.tea,
            name="お詫び",
            language="ja",
            body="{{ customer_name }}様、{{ shop_name }}です。{% debug %}{{ settings.SECRET_KEY }}",
            set_status="pending",
            set_tags=["定型"],
        )


def _ticket_url(name, ticket, **extra):
    return reverse(name, args=[ticket.shop.slug, ticket.number])


def test_staff_create_and_edit_a_template(client, world):
    client.force_login(world.operator_tea)
    url = reverse("operations:templates", args=["tea"])
    response = client.post(
        url,
        {
            "name": "発送連絡",
            "language": "ja",
            "body": "{{ tracking_url }}",
            "set_tags": "発送、定型",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    with in_shop(world.tea.id):
        template = ReplyTemplate.objects.get(shop=world.tea, name="発送連絡")
    assert template.set_tags == ["定型", "発送"]
    edit = reverse("operations:template_edit", args=["tea", template.id])
    assert "発送連絡" in client.get(edit).content.decode()
    client.post(edit, {"name": "発送のご連絡", "language": "ja", "body": "x"})
    template.refresh_from_db()
    assert (template.name, template.is_active) == ("発送のご連絡", False)
    assert "発送のご連絡" in client.get(url).content.decode()


def test_picker_fills_the_reply_literally(client, world, tea_template):
    client.force_login(world.operator_tea)
    page = client.get(_ticket_url("conversations:ticket", world.tea_ticket)).content.decode()
    assert 'data-testid="template-picker"' in page
    url = _ticket_url("operations:template_fill", world.tea_ticket)
    fragment = client.get(url, {"template": tea_template.id}, HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    customer = world.tea_ticket.customer.name
    assert (
        f"{customer}様、山田園 茶舗です。{{% debug %}}{{{{ settings.SECRET_KEY }}}}</textarea>"
        in body
    )
    assert f'name="template" value="{tea_template.id}"' in body
    # Without JavaScript the picker reloads the ticket page with the template filled in.
    plain = client.get(url, {"template": tea_template.id})
    assert plain.status_code == 302
    filled = client.get(plain["Location"]).content.decode()
    assert f"{customer}様、山田園 茶舗です。" in filled


def test_reply_with_the_template_applies_it(client, world, tea_template):
    client.force_login(world.operator_tea)
    response = client.post(
        _ticket_url("conversations:ticket_reply", world.tea_ticket),
        {"body": "確認いたします。", "template": str(tea_template.id)},
    )
    assert response.status_code == 302
    with in_shop(world.tea.id):
        ticket = Ticket.objects.get(pk=world.tea_ticket.pk)
        assert ticket.status == "pending"
        assert [tag.name for tag in ticket.tags.all()] == ["定型"]


def test_other_shop_never_sees_or_uses_the_template(client, world, tea_template):
    client.force_login(world.operator_ceramics)
    assert client.get(reverse("operations:templates", args=["tea"])).status_code == 404
    edit = reverse("operations:template_edit", args=["ceramics", tea_template.id])
    assert client.get(edit).status_code == 404
    fill = _ticket_url("operations:template_fill", world.ceramics_ticket)
    assert client.get(fill, {"template": tea_template.id}).status_code == 404
    reply = client.post(
        _ticket_url("conversations:ticket_reply", world.ceramics_ticket),
        {"body": "返信", "template": str(tea_template.id)},
    )
    assert reply.status_code == 404
    with unscoped("test assertion"):
        assert not Message.objects.filter(
            ticket=world.ceramics_ticket, direction="outbound"
        ).exists()


def _category_options(html):
    select = html.split('name="set_category"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="(\d+)"', select)


def test_template_form_offers_active_categories_and_keeps_the_templates_own(client, world):
    with in_shop(world.tea.id):
        shipping = Category.objects.create(shop=world.tea, name="配送")
        retired = Category.objects.create(shop=world.tea, name="旧分類", is_active=False)
    with in_shop(world.ceramics.id):
        other = Category.objects.create(shop=world.ceramics, name="器")
    client.force_login(world.operator_tea)
    url = reverse("operations:templates", args=["tea"])
    assert _category_options(client.get(url).content.decode()) == [str(shipping.id)]
    # A deactivated category cannot be chosen for a new template (nor another shop's).
    for refused in (retired, other):
        response = client.post(
            url,
            {"name": "旧", "language": "ja", "body": "本文", "set_category": str(refused.id)},
        )
        assert response.status_code == 200
        assert (
            "正しく選択してください。選択したものは候補にありません。" in response.content.decode()
        )
    with in_shop(world.tea.id):
        assert not ReplyTemplate.objects.filter(name="旧").exists()
        template = ReplyTemplate.objects.create(
            shop=world.tea, name="旧案内", language="ja", body="本文", set_category=retired
        )
    # A template that already sets it keeps it: offered (selected) and saved unchanged.
    edit = reverse("operations:template_edit", args=["tea", template.id])
    page = client.get(edit).content.decode()
    assert _category_options(page) == [str(retired.id), str(shipping.id)]
    assert f'<option value="{retired.id}" selected>' in page
    response = client.post(
        edit,
        {"name": "旧案内", "language": "ja", "body": "本文改", "set_category": str(retired.id)},
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.body, template.set_category_id) == ("本文改", retired.id)


def test_trainee_reply_waits_and_the_supervisor_approves_with_edits(client, world, trainee):
    client.force_login(trainee)
    reply_url = _ticket_url("conversations:ticket_reply", world.tea_ticket)
    response = client.post(reply_url, {"body": "確認します"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    with in_shop(world.tea.id):
        draft = ReplyDraft.objects.get(ticket=world.tea_ticket)
        assert not Message.objects.filter(ticket=world.tea_ticket, direction="outbound").exists()
    page = client.get(_ticket_url("conversations:ticket", world.tea_ticket)).content.decode()
    assert 'data-testid="reply-draft" data-state="pending"' in page

    client.force_login(world.operator_tea)
    assert client.get(reverse("operations:approvals", args=["tea"])).status_code == 403

    client.force_login(world.supervisor)
    queue = client.get(reverse("operations:approvals", args=["tea"])).content.decode()
    review_url = reverse("operations:draft_review", args=["tea", draft.id])
    assert review_url in queue
    preview = client.post(review_url, {"action": "preview", "body": "確認いたします<b>"})
    diff = preview.content.decode().split('data-testid="draft-diff">', 1)[1].split("</pre>", 1)[0]
    assert "- 確認します" in diff and "+ 確認いたします&lt;b&gt;" in diff
    approved = client.post(review_url, {"action": "approve", "body": "確認いたします"})
    assert approved.status_code == 302
    with in_shop(world.tea.id):
        message = Message.objects.get(ticket=world.tea_ticket, direction="outbound")
        assert (message.author_user_id, message.body_text) == (trainee.id, "確認いたします")
        assert ReplyDraft.objects.get(pk=draft.pk).state == "approved"


def test_supervisor_sends_back_and_the_trainee_sees_the_comment(client, world, trainee):
    client.force_login(trainee)
    client.post(_ticket_url("conversations:ticket_reply", world.tea_ticket), {"body": "はい"})
    with in_shop(world.tea.id):
        draft = ReplyDraft.objects.get(ticket=world.tea_ticket)
    client.force_login(world.supervisor)
    review_url = reverse("operations:draft_review", args=["tea", draft.id])
    response = client.post(review_url, {"action": "return", "comment": "<script>お詫びを</script>"})
    assert response.status_code == 302
    client.force_login(trainee)
    page = client.get(_ticket_url("conversations:ticket", world.tea_ticket)).content.decode()
    comment = page.split('data-testid="draft-comment">', 1)[1].split("</p>", 1)[0]
    assert "&lt;script&gt;お詫びを&lt;/script&gt;" in comment


def test_other_shop_supervisor_pages_are_not_found(client, world, trainee):
    client.force_login(trainee)
    client.post(_ticket_url("conversations:ticket_reply", world.tea_ticket), {"body": "はい"})
    with in_shop(world.tea.id):
        draft = ReplyDraft.objects.get(ticket=world.tea_ticket)
    for user in (world.operator_ceramics, world.client_ceramics):
        client.force_login(user)
        assert client.get(reverse("operations:approvals", args=["tea"])).status_code == 404
        url = reverse("operations:draft_review", args=["tea", draft.id])
        assert client.post(url, {"action": "approve", "body": "x"}).status_code == 404
    # The ceramics URL does not reach a tea draft either, even for a supervisor of both.
    client.force_login(world.supervisor)
    url = reverse("operations:draft_review", args=["ceramics", draft.id])
    assert client.post(url, {"action": "approve", "body": "x"}).status_code == 404
    with in_shop(world.tea.id):
        assert ReplyDraft.objects.get(pk=draft.pk).state == "pending"


def test_after_hours_settings_page(client, world):
    client.force_login(world.supervisor)
    url = reverse("operations:after_hours", args=["tea"])
    response = client.post(url, {"is_enabled": "on", "body": "{{ next_opening }}に返信します"})
    assert response.status_code == 302
    with in_shop(world.tea.id):
        settings = AfterHoursSettings.objects.get(shop=world.tea)
        assert (settings.is_enabled, settings.body) == (True, "{{ next_opening }}に返信します")
        assert AuditEntry.objects.filter(action="after_hours.changed").count() == 1
    client.force_login(world.operator_ceramics)
    assert client.post(url, {"body": "x"}).status_code == 404
    client.force_login(world.client_tea)
    assert client.post(url, {"body": "x"}).status_code == 403
    with in_shop(world.tea.id):
        assert (
            AfterHoursSettings.objects.get(shop=world.tea).body == "{{ next_opening }}に返信します"
        )


@pytest.mark.parametrize("who", ["operator", "trainee"])
def test_only_leads_change_the_after_hours_reply(client, world, trainee, who):
    """Its text reaches customers with nobody approving it: operators and trainees read it."""
    client.force_login(world.operator_tea if who == "operator" else trainee)
    url = reverse("operations:after_hours", args=["tea"])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="read-only"' in page
    assert 'data-testid="settings-save"' not in page
    assert "<fieldset disabled>" in page
    response = client.post(
        url, {"is_enabled": "on", "body": "本日は終了しました"}, HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert response.status_code == 403
    assert (
        "営業時間外の自動返信を変更できるのはスーパーバイザーまたは管理者だけです。"
        in response.content.decode()
    )
    with in_shop(world.tea.id):
        assert not AfterHoursSettings.objects.filter(shop=world.tea).exists()
        assert not AuditEntry.objects.filter(action="after_hours.changed").exists()
    client.force_login(world.supervisor)
    page = client.get(url).content.decode()
    assert 'data-testid="settings-save"' in page
    assert 'data-testid="read-only"' not in page


def test_approval_steps_show_to_staff_only(client, world, trainee):
    client.force_login(trainee)
    client.post(_ticket_url("conversations:ticket_reply", world.tea_ticket), {"body": "はい"})
    url = _ticket_url("conversations:ticket", world.tea_ticket)
    staff_page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{trainee.display_name} submitted a reply for approval" in staff_page
    client.force_login(world.client_tea)
    owner_page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "submitted a reply for approval" not in owner_page
    assert 'data-testid="reply-draft"' not in owner_page


def test_the_automatic_reply_is_labelled(client, world):
    from madoguchi.conversations.services import message_auto_reply

    with in_shop(world.tea.id):
        message_auto_reply(
            ticket=world.tea_ticket, body_text="営業時間外です。", reason="after_hours"
        )
    client.force_login(world.operator_tea)
    page = client.get(
        _ticket_url("conversations:ticket", world.tea_ticket), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<span data-testid="automatic-reply">Automatic reply</span>' in page


def test_the_approval_queue_is_offered_to_supervisors_only(client, world):
    url = reverse("operations:templates", args=["tea"])
    approvals = reverse("operations:approvals", args=["tea"])
    client.force_login(world.operator_tea)
    assert approvals not in client.get(url).content.decode()
    client.force_login(world.supervisor)
    assert approvals in client.get(url).content.decode()
