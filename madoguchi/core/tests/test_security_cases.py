"""Cases of the security checklist (docs/security-checklist.md) that concern the whole product:
errors (48), staff flags (65), header-based sign-in (69), failing closed (71), internal endpoints
(72)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.urls import reverse

from madoguchi.conversations.models import Message
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db

SECRET = "hunter2-db-password"


def _ticket_url(world: Any, name: str = "conversations:ticket") -> str:
    return reverse(name, kwargs={"shop_slug": "tea", "number": world.tea_ticket.number})


def _messages() -> int:
    with unscoped("test assertion"):
        return Message.objects.count()


# --- 48: errors ---------------------------------------------------------------------------------


def test_a_failure_shows_a_generic_page_with_a_support_id_that_the_log_carries(
    english: Any, world: Any, monkeypatch: Any, caplog: Any
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise OperationalError(f"SELECT * FROM mail_mailbox WHERE password = '{SECRET}'")  # noqa: S608

    monkeypatch.setattr("madoguchi.conversations.views.inbox_page", broken)
    english.raise_request_exception = False
    english.force_login(world.operator_tea)
    with caplog.at_level(logging.ERROR):
        response = english.get(reverse("conversations:inbox"))
    assert response.status_code == 500
    page = response.content.decode()
    support_id = re.search(r'data-testid="support-id">([0-9a-f]{12})<', page)
    assert support_id is not None
    for leak in (SECRET, "SELECT", "Traceback", "OperationalError", "mail_mailbox", "File "):
        assert leak not in page
    assert response["Cache-Control"] == "no-store"
    # Support finds the failure in the log by the id the user quotes.
    assert any(
        support_id.group(1) in record.getMessage() and "OperationalError" in record.getMessage()
        for record in caplog.records
    )


def test_the_failure_page_speaks_japanese_by_default(
    client: Any, world: Any, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("madoguchi.conversations.views.inbox_page", broken)
    client.raise_request_exception = False
    client.force_login(world.operator_tea)
    page = client.get(reverse("conversations:inbox")).content.decode()
    assert "エラーが発生しました" in page
    assert "サポート ID" in page
    assert "boom" not in page


def test_pages_may_not_be_framed_except_the_web_form(english: Any, world: Any) -> None:
    english.force_login(world.operator_tea)
    page = english.get(_ticket_url(world))
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


# --- 65: staff and superuser flags ---------------------------------------------------------------


def test_django_staff_and_superuser_flags_grant_no_shop(english: Any, world: Any) -> None:
    operator = world.operator_ceramics
    operator.is_staff = operator.is_superuser = True
    operator.save()
    actor = actor_for_user(operator)
    assert actor.shop_ids == (world.ceramics.id,)
    english.force_login(operator)
    assert english.get(_ticket_url(world)).status_code == 404
    assert english.get(reverse("conversations:inbox") + "?shop=tea").status_code == 404
    before = _messages()
    reply = english.post(_ticket_url(world, "conversations:ticket_reply"), {"body": "x"})
    assert reply.status_code == 404
    assert _messages() == before


def test_a_superuser_without_membership_sees_no_shop(english: Any, world: Any) -> None:
    from madoguchi.core.testing import factories

    root = factories.UserFactory(is_staff=True, is_superuser=True)
    assert actor_for_user(root).shop_ids == ()
    english.force_login(root)
    assert english.get(_ticket_url(world)).status_code == 404
    inbox = english.get(reverse("conversations:inbox"))
    assert world.tea_ticket.subject not in inbox.content.decode()
    assert world.ceramics_ticket.subject not in inbox.content.decode()
    # No Django admin is mounted that the flags would open.
    assert english.get("/admin/").status_code == 404


# --- 69: header-based sign-in --------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_REMOTE_USER": "{email}"},
        {"HTTP_X_FORWARDED_USER": "{email}"},
        {"HTTP_REMOTE_USER": "{email}"},
        {"REMOTE_USER": "{email}"},
        {"HTTP_X_AUTH_REQUEST_EMAIL": "{email}", "HTTP_X_FORWARDED_EMAIL": "{email}"},
    ],
)
def test_identity_headers_from_a_client_sign_nobody_in(
    english: Any, world: Any, headers: dict[str, str]
) -> None:
    email = world.admin.email
    sent = {key: value.format(email=email) for key, value in headers.items()}
    response = english.get(_ticket_url(world), **sent)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in english.session
    middleware = " ".join(settings.MIDDLEWARE)
    assert "RemoteUser" not in middleware
    assert all("RemoteUser" not in backend for backend in settings.AUTHENTICATION_BACKENDS)


# --- 71: fail closed -----------------------------------------------------------------------------


def test_a_failing_tenant_resolver_denies_the_request(
    english: Any, world: Any, monkeypatch: Any
) -> None:
    def broken(user: Any, **kwargs: Any) -> Any:
        raise OperationalError("the memberships could not be read")

    english.force_login(world.operator_tea)
    monkeypatch.setattr("madoguchi.tenancy.middleware.actor_for_user", broken)
    english.raise_request_exception = False
    before = _messages()
    reply = english.post(_ticket_url(world, "conversations:ticket_reply"), {"body": "通るな"})
    assert reply.status_code == 500
    assert _messages() == before
    page = english.get(_ticket_url(world))
    assert page.status_code == 500
    assert world.tea_ticket.subject not in page.content.decode()


def test_a_failing_permission_check_denies_the_request(
    english: Any, world: Any, monkeypatch: Any
) -> None:
    from madoguchi.tenancy.access import Actor

    def broken(self: Any, shop_id: int) -> bool:
        raise OperationalError("the role could not be read")

    english.force_login(world.operator_tea)
    monkeypatch.setattr(Actor, "can_reply", broken)
    english.raise_request_exception = False
    before = _messages()
    reply = english.post(_ticket_url(world, "conversations:ticket_reply"), {"body": "通るな"})
    assert reply.status_code == 500
    assert _messages() == before


def test_a_failing_ticket_lookup_denies_the_request(
    english: Any, world: Any, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise OperationalError("the ticket could not be read")

    english.force_login(world.operator_tea)
    monkeypatch.setattr("madoguchi.conversations.views.access_ticket", broken)
    english.raise_request_exception = False
    before = _messages()
    reply = english.post(_ticket_url(world, "conversations:ticket_reply"), {"body": "通るな"})
    assert reply.status_code == 500
    assert _messages() == before


# --- 72: internal endpoints ----------------------------------------------------------------------


def test_the_health_check_tells_an_anonymous_caller_no_data(english: Any, world: Any) -> None:
    response = english.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) <= {"status", "stale_jobs", "jobs"}
    text = response.content.decode()
    for name in (world.tea.name, world.tea.slug, world.tea_ticket.subject, world.admin.email):
        assert name not in text
    # It triggers nothing: no other method is served.
    assert english.post(reverse("healthz")).status_code == 405


@pytest.mark.parametrize(
    "path", ["/admin/", "/metrics", "/cron", "/tasks/", "/django-tasks/", "/__debug__/"]
)
def test_no_internal_tool_is_mounted(english: Any, path: str) -> None:
    assert english.get(path).status_code == 404


def test_the_menu_counts_need_a_signed_in_user(english: Any, world: Any) -> None:
    response = english.get(reverse("menu_counts") + "?shop=tea")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
