"""Two things a new user noticed (issue #13): the two waiting statuses read alike (保留中 and
待機中), and a client saw 自分の担当 and 未割り当て, views about assignment that it never has."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from madoguchi.conversations.forms import STATUS_HELP, TicketPropertiesForm
from madoguchi.conversations.models import Ticket
from madoguchi.conversations.selectors import InboxView, inbox_counts, inbox_views
from madoguchi.core.testing import factories
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import unscoped

SAVED_VIEW = re.compile(r'data-testid="view-([a-z_]+)"')


def _view_keys(html: str) -> list[str]:
    return SAVED_VIEW.findall(html)


# Statuses ---------------------------------------------------------------------------------------


def test_the_two_waiting_statuses_say_who_is_awaited_in_japanese():
    with translation.override("ja"):
        assert str(Ticket.Status.PENDING.label) == "お客様返信待ち"
        assert str(Ticket.Status.ON_HOLD.label) == "保留（社内確認中）"
        assert str(STATUS_HELP) == (
            "お客様返信待ち：お客様からの回答を待っています（SLA の時計は止まります）。"
            "保留（社内確認中）：店舗・担当者・配送業者などの確認を待っています"
            "（SLA の時計は進みます）。"
        )
    with translation.override("en"):
        assert str(Ticket.Status.PENDING.label) == "Pending"
        assert str(Ticket.Status.ON_HOLD.label) == "On hold"


def test_the_status_is_chosen_with_its_explanation():
    assert TicketPropertiesForm.base_fields["status"].help_text == STATUS_HELP


def test_ticket_page_inbox_and_filters_use_the_same_labels(client, world):
    client.force_login(world.operator_tea)
    ticket = world.tea_ticket
    response = client.post(
        reverse("conversations:ticket_properties", args=["tea", ticket.number]),
        {"status": "on_hold", "priority": "normal", "assignee": "", "category": "", "tags": ""},
    )
    assert response.status_code == 302
    page = client.get(reverse("conversations:ticket", args=["tea", ticket.number])).text
    assert (
        '<span class="badge badge--on_hold" data-testid="status-badge">保留（社内確認中）</span>'
        in page
    )
    assert "お客様返信待ち：お客様からの回答を待っています" in page
    assert '<option value="pending">お客様返信待ちとして送信</option>' in page
    assert '<option value="on_hold">保留（社内確認中）として送信</option>' in page

    inbox = client.get(reverse("conversations:inbox")).text
    assert '<option value="pending">お客様返信待ち</option>' in inbox
    assert '<option value="on_hold">保留（社内確認中）</option>' in inbox
    assert 'data-testid="status-badge">保留（社内確認中）</span>' in inbox
    counts = client.get(reverse("conversations:inbox_counts")).text
    assert re.search(r'data-testid="view-pending"[^>]*>\s*<span>お客様返信待ち</span>', counts)


def test_a_ticket_of_another_shop_is_404_for_a_status_change(client, world):
    client.force_login(world.operator_tea)
    ticket = world.ceramics_ticket
    response = client.post(
        reverse("conversations:ticket_properties", args=["ceramics", ticket.number]),
        {"status": "on_hold", "priority": "normal"},
    )
    assert response.status_code == 404


# Saved views by role ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "supervisor", "operator_tea"])
def test_staff_get_every_saved_view(client, world, who):
    client.force_login(getattr(world, who))
    html = client.get(reverse("conversations:inbox_counts")).text
    assert _view_keys(html) == list(InboxView.ALL)
    assert _view_keys(html)[:2] == ["mine", "unassigned"]


def test_a_client_sees_no_assignment_views(client, world):
    client.force_login(world.client_tea)
    inbox = client.get(reverse("conversations:inbox")).text
    counts_html = client.get(reverse("conversations:inbox_counts")).text
    assert "mine" not in _view_keys(counts_html)
    assert "unassigned" not in _view_keys(counts_html)
    assert _view_keys(counts_html)[:3] == ["open", "pending", "solved"]
    assert "自分の担当" not in inbox + counts_html
    assert "未割り当て" not in counts_html  # the rows still say who has each ticket
    assert _view_keys(inbox) == _view_keys(counts_html)
    actor = actor_for_user(world.client_tea)
    assert inbox_views(actor=actor) == tuple(
        view for view in InboxView.ALL if view not in ("mine", "unassigned")
    )
    with unscoped("test assertion"):
        counted = inbox_counts(actor=actor)
    assert "mine" not in counted
    assert "unassigned" not in counted
    assert counted["open"] == 1


def test_a_client_asking_for_mine_gets_the_open_view(client, world):
    client.force_login(world.client_tea)
    response = client.get(reverse("conversations:inbox"), {"view": "mine"})
    assert response.status_code == 200
    assert response.context["current_view"] == "open"
    assert re.findall(r'data-reference="([^"]+)"', response.text) == ["#TEA-1"]


def test_the_client_of_another_shop_gets_404_for_that_shop(client, world):
    client.force_login(world.client_tea)
    response = client.get(reverse("conversations:inbox"), {"shop": "ceramics"})
    assert response.status_code == 404


def test_views_follow_the_role_in_the_chosen_shop(world):
    """Someone who is staff of one shop and client of another sees assignment views only where
    they work tickets."""
    person = world.operator_tea
    factories.MembershipFactory(
        user=person, workspace=world.ceramics.workspace, role=Membership.Role.CLIENT
    )
    actor = actor_for_user(person)
    assert inbox_views(actor=actor, shop_id=world.tea.id)[:2] == ("mine", "unassigned")
    assert "mine" not in inbox_views(actor=actor, shop_id=world.ceramics.id)
    assert inbox_views(actor=actor)[:2] == ("mine", "unassigned")


def test_the_two_waiting_badges_differ_in_shape_and_colour():
    from madoguchi.core.tests.test_action_controls import _declarations

    pending = _declarations(".badge--pending")
    on_hold = _declarations(".badge--on_hold")
    assert pending == {"background": "#e3ecfd", "color": "#1f4fa3"}
    assert on_hold == {
        "background": "#fff",
        "color": "#5536a8",
        "box-shadow": "inset 0 0 0 1.5px #8e79d4",
    }
