"""Every page's security headers: a strict CSP with a fresh nonce, and no caching of pages.

Through the Django test client with the two-shop world: the console's pages, htmx fragments,
error pages (another shop's ticket), the public web form (its own policy) and static files.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from madoguchi.connectors.webform.models import WebForm
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db

NONCE_RE = re.compile(r"script-src 'nonce-([A-Za-z0-9+/=]{24})'")


def console_policy(nonce: str) -> dict[str, str]:
    return {
        "default-src": "'self'",
        "script-src": f"'nonce-{nonce}'",
        "style-src": "'self'",
        "img-src": "'self'",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def directives(response: Any) -> dict[str, str]:
    """The response's policy as {directive: sources} (django-csp does not keep their order)."""
    parts = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    return {name: sources.strip() for name, _, sources in (p.partition(" ") for p in parts)}


def nonce_of(response: Any) -> str:
    match = NONCE_RE.search(response["Content-Security-Policy"])
    assert match is not None, response["Content-Security-Policy"]
    return match.group(1)


def ticket_url(ticket: Any) -> str:
    return reverse(
        "conversations:ticket", kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number}
    )


def test_a_console_page_has_a_strict_policy_whose_nonce_every_script_carries(
    client: Any, world: Any
) -> None:
    client.force_login(world.operator_tea)
    response = client.get(ticket_url(world.tea_ticket))

    assert response.status_code == 200
    nonce = nonce_of(response)
    assert directives(response) == console_policy(nonce)
    page = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", page)
    # htmx, the menu, the presence and the chat operator scripts: all with the nonce.
    assert len(scripts) >= 3
    assert all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
    assert all(" src=" in tag for tag in scripts)  # no inline script at all
    assert "<style" not in page
    assert " style=" not in page


def test_each_request_draws_a_new_nonce(client: Any, world: Any) -> None:
    client.force_login(world.operator_tea)
    first = nonce_of(client.get(reverse("conversations:inbox")))
    second = nonce_of(client.get(reverse("conversations:inbox")))
    assert first != second


def test_a_fragment_without_scripts_allows_no_script(client: Any, world: Any) -> None:
    client.force_login(world.operator_tea)
    response = client.get(reverse("menu_counts") + "?shop=tea", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert directives(response)["script-src"] == ""  # no source: no script may run
    assert response["Cache-Control"] == "no-store, private"


def test_pages_with_personal_data_are_never_stored(client: Any, world: Any) -> None:
    client.force_login(world.operator_tea)
    for url in (reverse("conversations:inbox"), ticket_url(world.tea_ticket)):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store, private"


def test_another_shops_ticket_is_404_with_the_same_headers(client: Any, world: Any) -> None:
    client.force_login(world.operator_tea)
    response = client.get(ticket_url(world.ceramics_ticket))

    assert response.status_code == 404
    assert response["Cache-Control"] == "no-store, private"
    assert directives(response)["frame-ancestors"] == "'none'"
    assert directives(response)["object-src"] == "'none'"


def test_the_sign_in_page_is_not_stored_either(client: Any) -> None:
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    # Django's sign-in view says never_cache itself, which this middleware keeps.
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert directives(response) == console_policy(nonce_of(response))


def test_the_public_web_form_keeps_its_own_policy(client: Any, world: Any) -> None:
    with unscoped("test setup"):
        WebForm.objects.create(
            shop=world.tea, public_key="tea-form-key", allowed_origins="https://tea.example.jp"
        )
    response = client.get(reverse("webform:public", args=["tea-form-key"]))

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'self' https://tea.example.jp"
    )
    assert response["Cache-Control"] == "no-store, private"


def test_static_files_keep_their_cache_lifetime(client: Any) -> None:
    response = client.get("/static/madoguchi/app.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Content-Security-Policy" not in response
