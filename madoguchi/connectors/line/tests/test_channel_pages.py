"""The LINE channel pages: connect and change a channel in the browser; secrets stay secret."""

from django.db import connection as db_connection
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.line.models import LineChannel
from madoguchi.connectors.line.tests.test_line import body_of, make_channel, post, sign, text_event
from madoguchi.tenancy.scoping import in_shop, unscoped

CHANNELS = reverse("line:channels", args=["tea"])
NEW = {
    "name": "山田園 公式",
    "channel_id": "1657000000",
    "channel_secret": "first-channel-secret",
    "access_token": "first-access-token",
}


def _raw(channel_id: int) -> tuple[str, str]:
    """The stored columns as the database holds them, past the field's decryption."""
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT channel_secret, access_token FROM line_linechannel WHERE id = %s", [channel_id]
        )
        secret, token = cursor.fetchone()
    return str(secret), str(token)


def _only_channel() -> LineChannel:
    with unscoped("test assertion"):
        return LineChannel.objects.get()


def test_lead_connects_a_channel_whose_secrets_are_encrypted_and_never_shown(client, world):
    client.force_login(world.supervisor)
    response = client.post(CHANNELS, NEW)
    channel = _only_channel()
    edit = reverse("line:channel_edit", args=["tea", channel.pk])
    assert response.status_code == 302
    assert response["Location"] == edit
    assert (channel.channel_secret, channel.access_token) == (
        "first-channel-secret",
        "first-access-token",
    )
    secret, token = _raw(channel.pk)
    assert (secret.startswith("fernet:"), token.startswith("fernet:")) == (True, True)
    assert "first-channel-secret" not in secret
    with in_shop(world.tea.id):
        assert AuditEntry.objects.get(action="line.channel_created").changes == {
            "name": "山田園 公式",
            "channel_id": "1657000000",
        }
    for url in (CHANNELS, edit):
        html = client.get(url).content.decode()
        assert f"http://testserver/line/webhook/{channel.public_id}/" in html
        assert "first-channel-secret" not in html
        assert "first-access-token" not in html
    # The webhook verifies with the secret that was typed in.
    body = body_of(text_event("E-1", "こんにちは"))
    assert post(client, channel, body, signature=sign(body, "wrong-secret")).status_code == 401


def test_lead_changes_a_channel_and_an_empty_secret_keeps_the_saved_one(client, world):
    channel = make_channel(world.tea, secret="old-channel-secret")
    client.force_login(world.admin)
    edit = reverse("line:channel_edit", args=["tea", channel.pk])
    page = client.get(edit)
    assert page.context["form"].initial == {
        "name": "tea LINE",
        "channel_id": "1650000000",
        "is_active": True,
    }
    response = client.post(
        edit,
        {"name": "山田園 LINE", "channel_id": "1650000000", "is_active": "on", "access_token": ""},
    )
    assert response.status_code == 302
    channel = _only_channel()
    assert (channel.name, channel.channel_secret, channel.access_token) == (
        "山田園 LINE",
        "old-channel-secret",
        "token-tea",
    )
    response = client.post(
        edit,
        {"name": "山田園 LINE", "channel_id": "1650000000", "channel_secret": "new-channel-secret"},
    )
    assert response.status_code == 302
    channel = _only_channel()
    assert (channel.channel_secret, channel.is_active) == ("new-channel-secret", False)
    with in_shop(world.tea.id):
        assert list(
            AuditEntry.objects.filter(action="line.channel_changed")
            .order_by("id")
            .values_list("changes", flat=True)
        ) == [
            {"name": ["tea LINE", "山田園 LINE"]},
            {"is_active": [True, False], "channel_secret": "changed"},
        ]
    assert "new-channel-secret" not in client.get(edit).content.decode()
    # An inactive channel's webhook is gone; active again, the new secret verifies.
    body = body_of()
    old_signature, new_signature = (
        sign(body, "old-channel-secret"),
        sign(body, "new-channel-secret"),
    )
    assert post(client, channel, body, signature=new_signature).status_code == 404
    client.post(edit, {"name": "山田園 LINE", "channel_id": "1650000000", "is_active": "on"})
    assert post(client, channel, body, signature=old_signature).status_code == 401
    assert post(client, channel, body, signature=new_signature).status_code == 200


def test_invalid_input_is_refused_in_japanese_and_keeps_what_was_typed(client, world):
    client.force_login(world.supervisor)
    response = client.post(CHANNELS, {**NEW, "channel_id": "チャネル", "access_token": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "channel_id": ["チャネル ID は数字です。"],
        "access_token": ["このフィールドは必須です。"],
    }
    html = response.content.decode()
    assert 'value="山田園 公式"' in html
    assert "first-channel-secret" not in html
    with unscoped("test assertion"):
        assert not LineChannel.objects.exists()


def test_staff_read_the_channels_only_leads_change_them(client, world):
    channel = make_channel(world.tea)
    edit = reverse("line:channel_edit", args=["tea", channel.pk])
    client.force_login(world.operator_tea)
    page = client.get(CHANNELS)
    assert page.status_code == 200
    assert page.context["can_edit"] is False
    assert 'data-testid="line-channel-form"' not in page.content.decode()
    assert client.post(CHANNELS, NEW).status_code == 403
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"name": "x", "channel_id": "1"}).status_code == 403
    client.force_login(world.client_tea)
    assert client.get(CHANNELS).status_code == 403
    client.force_login(world.operator_ceramics)
    assert client.get(CHANNELS).status_code == 404
    assert client.get(edit).status_code == 404
    ceramics_channel = make_channel(world.ceramics)
    client.force_login(world.supervisor)
    other = reverse("line:channel_edit", args=["tea", ceramics_channel.pk])
    assert client.get(other).status_code == 404
    assert client.post(other, {"name": "x", "channel_id": "1"}).status_code == 404
    with unscoped("test assertion"):
        assert sorted(LineChannel.objects.values_list("name", flat=True)) == [
            "ceramics LINE",
            "tea LINE",
        ]
