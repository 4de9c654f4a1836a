"""Shop settings pages are read-only for those their services refuse (issue #13: a trainee saw
settings forms whose 保存 then failed): no save button, disabled fields and a notice saying who
changes them; the shop's leads get the save button."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from madoguchi.connectors.chat.models import ChatWidget
from madoguchi.core.templatetags.settings_pages import may_change_shop_settings
from madoguchi.core.tests.test_navigation import _menu_links, _trainee
from madoguchi.tenancy.access import actor_for_user

pytestmark = pytest.mark.django_db

NOTICE = (
    "この設定を変更できるのは、このショップのスーパーバイザーと管理者です。"
    "あなたは閲覧のみできます。"
)
READ_ONLY = '<p class="read-only-notice" role="note" data-testid="read-only">'
_DISABLED_FIELDSET = re.compile(r"<fieldset\b[^>]*\bdisabled\b[^>]*>(.*?)</fieldset>", re.S)

SETTINGS_PAGES = [
    "chat:settings",
    "webform:settings",
    "mail:settings",
    "operations:calendar",
    "operations:sla_policies",
    "operations:routing",
    "phone:numbers",
    "line:channels",
    "mail:addresses",
    "mail:mailboxes",
    "mail:smtp_servers",
]


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _user(world, who):  # type: ignore[no-untyped-def]
    return _trainee(world) if who == "trainee" else getattr(world, who)


@pytest.mark.parametrize("who", ["trainee", "operator_tea", "client_tea", "supervisor", "admin"])
def test_no_page_of_the_menu_offers_a_save_inside_a_disabled_form(world, who):
    client = _client(_user(world, who))
    for url in _menu_links(client, "/?shop=tea"):
        html = client.get(url).content.decode()
        for fieldset in _DISABLED_FIELDSET.findall(html):
            assert 'type="submit"' not in fieldset, f"{who}: {url} offers a save it refuses"
            assert READ_ONLY in fieldset, f"{who}: {url} does not say why it is read-only"


def _main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


@pytest.mark.parametrize("url_name", SETTINGS_PAGES)
@pytest.mark.parametrize("who", ["trainee", "operator_tea"])
def test_staff_who_may_not_save_read_the_settings_with_a_notice(world, who, url_name):
    html = _client(_user(world, who)).get(reverse(url_name, args=["tea"])).content.decode()
    assert html.count(READ_ONLY) == 1
    assert NOTICE in html
    assert 'type="submit"' not in _main(html)


@pytest.mark.parametrize("url_name", SETTINGS_PAGES)
def test_leads_get_the_save_button_and_no_notice(world, url_name):
    html = _client(world.supervisor).get(reverse(url_name, args=["tea"])).content.decode()
    assert READ_ONLY not in html
    assert NOTICE not in html
    assert 'type="submit"' in _main(html)
    if url_name == "mail:settings":
        assert (
            '<div class="form-actions"><button type="submit" class="button button--primary" '
            'data-testid="settings-save">保存</button></div>'
        ) in html


def test_the_refusal_still_holds_on_a_post(world):
    client = _client(_trainee(world))
    response = client.post(
        reverse("chat:settings", args=["tea"]), {"allowed_origins": "https://evil.example"}
    )
    assert response.status_code in (400, 403)
    with scopes_disabled():
        assert not ChatWidget.objects.filter(
            shop=world.tea, allowed_origins="https://evil.example"
        ).exists()


def test_the_rule_is_the_services_rule(world):
    trainee = _trainee(world)
    assert may_change_shop_settings(actor_for_user(trainee), world.tea.id) is False
    assert may_change_shop_settings(actor_for_user(world.operator_tea), world.tea.id) is False
    assert may_change_shop_settings(actor_for_user(world.supervisor), world.tea.id) is True
    assert may_change_shop_settings(None, world.tea.id) is False


@pytest.mark.parametrize("url_name", SETTINGS_PAGES)
def test_settings_of_another_shop_are_404(world, url_name):
    response = _client(_trainee(world)).get(reverse(url_name, args=["ceramics"]))
    assert response.status_code == 404
