"""Cases of the security checklist (docs/security-checklist.md) for tickets: template syntax in
what customers and operators write is text, never evaluated (17)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from madoguchi.core.testing import factories
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db

PAYLOAD = "{{ settings.SECRET_KEY }} {% debug %} {{ shop.smtp_password }} {{ 7|add:7 }}"


def test_template_syntax_a_customer_writes_is_shown_literally(english: Any, world: Any) -> None:
    with unscoped("test setup"):
        factories.MessageFactory(ticket=world.tea_ticket, body_text=f"問い合わせ {PAYLOAD}")
        customer = world.tea_ticket.customer
        customer.name = "{{ settings.SECRET_KEY }}"
        customer.save()
    english.force_login(world.operator_tea)
    page = english.get(
        reverse(
            "conversations:ticket", kwargs={"shop_slug": "tea", "number": world.tea_ticket.number}
        )
    ).content.decode()
    assert "{{ settings.SECRET_KEY }}" in page
    assert "{% debug %}" in page
    assert settings.SECRET_KEY not in page
    assert "sql_queries" not in page  # what {% debug %} would print
    assert ">14<" not in page


def test_an_operators_template_fills_allowlisted_values_and_nothing_else(world: Any) -> None:
    from madoguchi.operations.models import ReplyTemplate
    from madoguchi.operations.replies import template_render

    with unscoped("test setup"):
        customer = world.tea_ticket.customer
        customer.name = "{{ shop_name }}{% debug %}"
        customer.save()
        template = ReplyTemplate.objects.create(
            shop=world.tea,
            name="注入",
            body=f"{{{{ customer_name }}}}様 {PAYLOAD} {{{{ shop_name }}}}",
        )
    with in_shop(world.tea.id):
        rendered = template_render(
            template=template, ticket=world.tea_ticket, operator=actor_for_user(world.operator_tea)
        )
    # The customer's name went in as text (its braces not filled again), the rest stayed as typed.
    assert rendered.text.startswith("{{ shop_name }}{% debug %}様 ")
    assert PAYLOAD in rendered.text
    assert rendered.text.endswith(world.tea.name)
    assert settings.SECRET_KEY not in rendered.text
