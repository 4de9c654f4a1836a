"""The chat settings page's script tag carries `data-help-center` while the help center is open
(the widget suggests articles only with it)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from madoguchi.knowledge.services import knowledge_settings_save
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop


def _snippet(client: Any, slug: str) -> str:
    page = client.get(reverse("chat:settings", args=[slug]))
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index('data-testid="chat-snippet">')
    return html[start : html.index("</code>", start)]


def test_the_snippet_names_the_help_center_only_while_it_is_open(client: Any, world: Any) -> None:
    client.force_login(world.supervisor)
    snippet = _snippet(client, world.tea.slug)
    assert f"data-help-center=&quot;{world.tea.slug}&quot;" in snippet
    assert "data-shop-key=&quot;" in snippet
    assert snippet.rstrip().endswith("async&gt;&lt;/script&gt;")
    with in_shop(world.tea.id):
        knowledge_settings_save(
            actor=actor_for_user(world.supervisor),
            shop=world.tea,
            is_help_center_enabled=False,
            clients_may_edit=False,
        )
    assert "data-help-center" not in _snippet(client, world.tea.slug)
    # Operators read the same tag; another shop's snippet names that shop.
    client.force_login(world.operator_tea)
    assert "data-help-center" not in _snippet(client, world.tea.slug)
    client.force_login(world.supervisor)
    assert f"data-help-center=&quot;{world.ceramics.slug}&quot;" in _snippet(
        client, world.ceramics.slug
    )


def test_another_shops_people_never_read_the_snippet(client: Any, world: Any) -> None:
    client.force_login(world.operator_ceramics)
    assert client.get(reverse("chat:settings", args=[world.tea.slug])).status_code == 404
