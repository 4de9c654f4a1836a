"""The shop's alerts page: leads see warnings, escalations and mail loops; read state per lead."""

import re

import pytest
from django.urls import reverse

from madoguchi.events.models import ActorKind, Event
from madoguchi.events.services import event_append
from madoguchi.operations.alerts import shop_alerts, unread_alert_count
from madoguchi.operations.models import AlertReadState
from madoguchi.tenancy.scoping import in_shop, unscoped


def _alert(shop, ticket, type, **payload) -> Event:
    with in_shop(shop.id):
        return event_append(
            shop=shop, ticket=ticket, type=type, actor_kind=ActorKind.SYSTEM, payload=payload
        )


def _escalation(
    world, metric, reassignment, previous, assignee, *, cycle=0, supervisors=None
) -> Event:
    """An SLA escalation of the tea ticket; `previous` and `assignee` are users (or None)."""
    return _alert(
        world.tea,
        world.tea_ticket,
        "sla.escalated",
        metric=metric,
        cycle=cycle,
        supervisor_ids=[user.id for user in supervisors or [world.supervisor]],
        reassignment=reassignment,
        previous_assignee_id=previous.id if previous else None,
        assignee_id=assignee.id,
    )


@pytest.fixture
def alerts(world):
    warning = _alert(
        world.tea,
        world.tea_ticket,
        "sla.warning",
        metric="first_response",
        cycle=0,
        due_at="2026-11-25T13:30:00+09:00",
        policy_id=None,
        minutes_left=25,
    )
    escalation = _escalation(
        world,
        "resolution",
        "nobody_eligible",
        world.operator_tea,
        world.operator_tea,
        supervisors=[world.admin, world.supervisor],
    )
    # Not alerts: a breach itself (the escalation reports it) and an ordinary change.
    _alert(world.tea, world.tea_ticket, "sla.breached", metric="resolution", cycle=0)
    _alert(world.tea, world.tea_ticket, "ticket.tags_changed", added=["x"], removed=[])
    # The other shop's alert never shows on the tea shop's page.
    _alert(world.ceramics, world.ceramics_ticket, "mail.loop_detected", address="a@b.jp", count=9)
    return warning, escalation


def _url(shop) -> str:
    return reverse("operations:alerts", args=[shop.slug])


def _page(client, shop) -> str:
    response = client.get(_url(shop), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_leads_see_warnings_and_escalations_linking_to_the_ticket(client, world, alerts):
    client.force_login(world.supervisor)
    page = _page(client, world.tea)
    assert page.count('data-testid="alert-row"') == 2
    assert 'data-type="sla.warning"' in page and 'data-type="sla.escalated"' in page
    assert "First response is due in 25 minutes." in page
    assert "Resolution target missed." in page
    assert f"Nobody else could take it: it stays with {world.operator_tea}." in page
    ticket_url = reverse("conversations:ticket", args=[world.tea.slug, world.tea_ticket.number])
    assert page.count(f'href="{ticket_url}"') == 2
    assert "a@b.jp" not in page
    assert world.ceramics_ticket.subject not in page


def test_reassignment_and_mail_loop_are_described(client, world):
    _escalation(world, "first_response", "reassigned", world.operator_tea, world.admin)
    _escalation(world, "resolution", "reassigned", None, world.operator_tea)
    _escalation(
        world, "next_response", "assigned_meanwhile", world.operator_tea, world.supervisor, cycle=1
    )
    _alert(world.tea, world.tea_ticket, "mail.loop_detected", address="bot@example.jp", count=20)
    client.force_login(world.admin)
    page = _page(client, world.tea)
    assert f"Reassigned from {world.operator_tea} to {world.admin}." in page
    assert f"Nobody had it: assigned to {world.operator_tea}." in page
    assert f"Someone changed the ticket meanwhile: it stays with {world.supervisor}." in page
    assert "Automatic replies to bot@example.jp are held back (20 sent within the hour)." in page


def test_the_shops_own_admin_is_a_lead_too(client, world, alerts):
    from madoguchi.core.testing import factories

    with unscoped("test setup"):
        owner_admin = factories.MembershipFactory(workspace=world.tea.workspace, role="admin").user
    client.force_login(owner_admin)
    assert _page(client, world.tea).count('data-testid="alert-row"') == 2


@pytest.mark.parametrize("who", ["operator_tea", "client_tea"])
def test_operators_and_the_client_may_not_see_the_alerts(client, world, alerts, who):
    client.force_login(getattr(world, who))
    response = client.get(_url(world.tea))
    assert response.status_code == 403
    assert world.tea_ticket.subject not in response.content.decode()
    # Nor does their operations menu offer the page.
    if who == "operator_tea":
        menu = client.get(reverse("operations:templates", args=[world.tea.slug])).content.decode()
        assert 'data-testid="alerts-link"' not in menu


@pytest.mark.parametrize("stranger", ["operator_ceramics", "client_ceramics"])
def test_another_shops_people_get_404_and_mark_nothing(client, world, alerts, stranger):
    client.force_login(getattr(world, stranger))
    assert client.get(_url(world.tea)).status_code == 404
    response = client.post(_url(world.tea), {"up_to": str(alerts[1].id)})
    assert response.status_code == 404
    with unscoped("test assertion"):
        assert not AlertReadState.objects.exists()


def test_a_lead_of_another_shop_only_gets_404(client, world, alerts):
    """The agency's supervisor sees both shops; an unknown slug is a 404 like any other."""
    client.force_login(world.supervisor)
    assert client.get(reverse("operations:alerts", args=["no-such-shop"])).status_code == 404


def _badge(client, shop) -> str | None:
    menu = client.get(reverse("operations:templates", args=[shop.slug])).content.decode()
    assert 'data-testid="alerts-link"' in menu
    found = re.search(r'data-testid="alerts-unread">([^<]+)<', menu)
    return found.group(1) if found else None


def test_read_state_is_kept_per_lead(client, world, alerts):
    warning, escalation = alerts
    client.force_login(world.supervisor)
    assert _badge(client, world.tea) == "2"
    page = _page(client, world.tea)
    assert page.count('data-unread="1"') == 2
    assert f'name="up_to" value="{escalation.id}"' in page

    # An alert arriving after the page was shown stays unread when the page's alerts are read.
    later = _alert(world.tea, world.tea_ticket, "sla.warning", metric="next_response", cycle=1)
    response = client.post(_url(world.tea), {"up_to": str(escalation.id)})
    assert response.status_code == 302
    assert response["Location"] == _url(world.tea)
    assert _badge(client, world.tea) == "1"
    page = _page(client, world.tea)
    assert page.count('data-unread="1"') == 1
    assert 'data-testid="alerts-mark-read"' in page

    # The position never moves back, and other events do not count.
    client.post(_url(world.tea), {"up_to": str(warning.id)})
    client.post(_url(world.tea), {"up_to": str(later.id)})
    assert _badge(client, world.tea) is None
    assert 'data-testid="alerts-mark-read"' not in _page(client, world.tea)
    _alert(world.tea, world.tea_ticket, "sla.breached", metric="next_response", cycle=1)
    assert _badge(client, world.tea) is None

    # Another lead has read nothing yet; the other shop's read state is its own.
    with in_shop(world.tea.id):
        assert unread_alert_count(shop_id=world.tea.id, user_id=world.admin.id) == 3
        assert [a.is_unread for a in shop_alerts(shop_id=world.tea.id, user_id=world.admin.id)] == [
            True,
            True,
            True,
        ]
    with in_shop(world.ceramics.id):
        assert unread_alert_count(shop_id=world.ceramics.id, user_id=world.supervisor.id) == 1


def test_a_marker_beyond_the_newest_alert_stores_the_newest(client, world, alerts):
    client.force_login(world.supervisor)
    client.post(_url(world.tea), {"up_to": "999999999"})
    with in_shop(world.tea.id):
        state = AlertReadState.objects.get(shop=world.tea, user=world.supervisor)
    assert state.last_seen_event_id == alerts[1].id
    # Nonsense leaves nothing behind.
    client.force_login(world.admin)
    client.post(_url(world.tea), {"up_to": "abc"})
    with in_shop(world.tea.id):
        assert not AlertReadState.objects.filter(user=world.admin).exists()


def test_the_inbox_offers_no_alerts_link(client, world, alerts):
    client.force_login(world.supervisor)
    inbox = client.get(reverse("conversations:inbox") + f"?shop={world.tea.slug}")
    assert 'data-testid="alerts-link"' not in inbox.content.decode()


def _reassign_url(shop) -> str:
    return reverse("operations:alerts_reassign", args=[shop.slug])


def test_a_lead_switches_reassignment_at_a_breach(client, world):
    from madoguchi.audit.models import AuditEntry
    from madoguchi.operations.models import RoutingSettings

    client.force_login(world.supervisor)
    assert 'name="reassign_on_breach"' in _page(client, world.tea)
    assert "checked" not in _page(client, world.tea).split('data-testid="reassign-form"')[1]
    response = client.post(_reassign_url(world.tea), {"reassign_on_breach": "on"})
    assert (response.status_code, response["Location"]) == (302, _url(world.tea))
    with in_shop(world.tea.id):
        assert RoutingSettings.objects.get(shop=world.tea).reassign_on_breach is True
        entry = AuditEntry.objects.get(action="routing.reassign_on_breach_changed")
        assert (entry.actor, entry.changes) == (world.supervisor, {"old": False, "new": True})
    form = _page(client, world.tea).split('data-testid="reassign-form"')[1].split("</form>")[0]
    assert "checked" in form
    # An unticked box switches it off again; the ceramics shop was never touched.
    client.post(_reassign_url(world.tea), {})
    with in_shop(world.tea.id):
        assert RoutingSettings.objects.get(shop=world.tea).reassign_on_breach is False
    with unscoped("test assertion"):
        assert not RoutingSettings.objects.filter(shop=world.ceramics).exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("operator_tea", 403),
        ("client_tea", 403),
        ("operator_ceramics", 404),
        ("client_ceramics", 404),
    ],
)
def test_only_leads_of_the_shop_switch_reassignment(client, world, who, status):
    from madoguchi.audit.models import AuditEntry
    from madoguchi.operations.models import RoutingSettings

    client.force_login(getattr(world, who))
    assert client.post(_reassign_url(world.tea), {"reassign_on_breach": "on"}).status_code == status
    with unscoped("test assertion"):
        assert not RoutingSettings.objects.exists()
        assert not AuditEntry.objects.filter(action="routing.reassign_on_breach_changed").exists()
