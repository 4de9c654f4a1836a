"""Routing set up in the browser: mode, per-channel modes, duty and skills, honoured by routing."""

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Ticket
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.customers.services import IdentityInput
from madoguchi.operations.models import RoutingSettings
from madoguchi.operations.routing_settings import routing_settings_for, routing_settings_save
from madoguchi.operations.services import route_new_tickets
from madoguchi.operations.tests.staffing import tea_operator
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop


def _save(world, user=None, **values):
    fields = {
        "mode": "round_robin",
        "channel_modes": {},
        "requires_language_skill": True,
        "requires_on_duty": True,
        "max_open_per_operator": None,
        "reassign_on_breach": False,
    }
    fields.update(values)
    with in_shop(world.tea.id):
        return routing_settings_save(
            actor=actor_for_user(user or world.supervisor), shop=world.tea, **fields
        )


def _inbound(world, n: int, channel: str = "email") -> Ticket:
    with in_shop(world.tea.id):
        return receive_inbound(
            InboundMessage(
                shop_id=world.tea.id,
                channel=channel,
                external_id=f"routing-settings-{n}",
                body_text="注文した茶葉について",
                subject=f"お問い合わせ{n}",
                language="ja",
                identities=[IdentityInput(kind="email", value=f"c{n}@example.jp")],
            )
        ).ticket


def _assignees(tickets: list[Ticket]) -> list[object]:
    return [Ticket.objects.get(pk=ticket.pk).assignee for ticket in tickets]


def test_new_mail_goes_round_robin_among_operators_on_duty(world):
    now = timezone.now()
    first = tea_operator(world, on_shift_at=now)
    second = tea_operator(world, on_shift_at=now)
    tea_operator(world, on_shift_at=None)  # available but not on a shift
    tea_operator(world, available=False, on_shift_at=now)
    _save(world, mode="round_robin")
    tickets = [_inbound(world, n) for n in range(3)]
    assert route_new_tickets() == 3
    with in_shop(world.tea.id):
        assert _assignees(tickets) == [first, second, first]


def test_a_channel_set_to_manual_is_not_routed(world):
    operator = tea_operator(world, on_shift_at=timezone.now())
    _save(world, mode="round_robin", channel_modes={"line": "manual"})
    mail = _inbound(world, 1, channel="email")
    line = _inbound(world, 2, channel="line")
    assert route_new_tickets() == 1
    with in_shop(world.tea.id):
        assert _assignees([mail, line]) == [operator, None]


def test_a_channel_may_be_routed_while_the_shop_is_manual(world):
    operator = tea_operator(world, on_shift_at=timezone.now())
    _save(world, mode="manual", channel_modes={"chat": "least_load"})
    mail = _inbound(world, 1, channel="email")
    chat = _inbound(world, 2, channel="chat")
    assert route_new_tickets() == 1
    with in_shop(world.tea.id):
        assert _assignees([mail, chat]) == [None, operator]


def test_without_the_duty_rule_operators_off_shift_get_tickets_too(world):
    off_shift = tea_operator(world, on_shift_at=None, available=False)
    _save(world, mode="round_robin", requires_on_duty=False)
    ticket = _inbound(world, 1)
    assert route_new_tickets() == 1
    with in_shop(world.tea.id):
        assert _assignees([ticket]) == [off_shift]


def test_the_save_is_audited_with_what_changed(world):
    _save(world, mode="least_load", channel_modes={"phone": "manual", "email": "least_load"})
    _save(world, mode="least_load", max_open_per_operator=5, requires_on_duty=False)
    with in_shop(world.tea.id):
        settings = RoutingSettings.objects.get(shop=world.tea)
        entries = list(AuditEntry.objects.filter(action="routing.changed").order_by("id"))
    # A channel set to the shop's own mode is no override.
    assert (settings.mode, settings.channel_modes, settings.max_open_per_operator) == (
        "least_load",
        {},
        5,
    )
    assert [entry.changes for entry in entries] == [
        {
            "old": {"mode": "manual", "channel_modes": {}},
            "new": {"mode": "least_load", "channel_modes": {"phone": "manual"}},
        },
        {
            "old": {
                "channel_modes": {"phone": "manual"},
                "requires_on_duty": True,
                "max_open_per_operator": None,
            },
            "new": {"channel_modes": {}, "requires_on_duty": False, "max_open_per_operator": 5},
        },
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "random"}, "Unknown routing mode."),
        ({"channel_modes": {"fax": "manual"}}, "Unknown channel."),
        ({"channel_modes": {"email": "random"}}, "Unknown routing mode."),
        ({"max_open_per_operator": 0}, "The limit is between 1 and 999 open tickets."),
    ],
)
def test_bad_settings_are_refused(world, values, message):
    with pytest.raises(ValidationError) as refused:
        _save(world, **values)
    assert refused.value.message == message


def test_only_leads_change_routing(world):
    with pytest.raises(PermissionDeniedError):
        _save(world, user=world.operator_tea)
    with pytest.raises(PermissionDeniedError):
        _save(world, user=world.client_tea)
    with in_shop(world.tea.id):
        assert routing_settings_for(shop_id=world.tea.id).pk is None


# Page -------------------------------------------------------------------------------------------


def _url(shop) -> str:
    return reverse("operations:routing", args=[shop.slug])


def _form(**overrides) -> dict[str, str]:
    data = {
        "mode": "round_robin",
        "requires_on_duty": "on",
        "requires_language_skill": "on",
        "max_open_per_operator": "",
        "channel_email": "",
        "channel_web_form": "",
        "channel_chat": "",
        "channel_line": "",
        "channel_phone": "manual",
        "channel_other": "",
    }
    data.update(overrides)
    return data


def test_a_supervisor_sets_routing_in_the_browser(english, world):
    english.force_login(world.supervisor)
    page = english.get(_url(world.tea)).content.decode()
    assert 'data-testid="routing-form"' in page
    assert reverse("operations:coverage", args=[world.tea.slug]) in page
    response = english.post(_url(world.tea), _form(max_open_per_operator="8"))
    assert (response.status_code, response["Location"]) == (302, _url(world.tea))
    with in_shop(world.tea.id):
        settings = RoutingSettings.objects.get(shop=world.tea)
    assert (
        settings.mode,
        settings.channel_modes,
        settings.max_open_per_operator,
        settings.requires_on_duty,
        settings.reassign_on_breach,
    ) == ("round_robin", {"phone": "manual"}, 8, True, False)
    page = english.get(_url(world.tea)).content.decode()
    assert "The routing settings were saved." in page
    assert '<option value="manual" selected>' in page.split('name="channel_phone"')[1]


def test_an_invalid_limit_is_refused_in_japanese_keeping_what_was_typed(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        _url(world.tea), _form(max_open_per_operator="0"), HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "この値は 1 以上でなければなりません。" in page
    assert 'name="max_open_per_operator" value="0"' in page
    with in_shop(world.tea.id):
        assert not RoutingSettings.objects.filter(shop=world.tea).exists()


def test_an_operator_reads_routing_but_may_not_change_it(english, world):
    english.force_login(world.operator_tea)
    page = english.get(_url(world.tea)).content.decode()
    assert 'data-testid="routing-summary"' in page and 'data-testid="routing-form"' not in page
    assert english.post(_url(world.tea), _form()).status_code == 403
    with in_shop(world.tea.id):
        assert not RoutingSettings.objects.filter(shop=world.tea).exists()


def test_strangers_get_404_and_the_client_403(english, world):
    english.force_login(world.operator_ceramics)
    assert english.get(_url(world.tea)).status_code == 404
    assert english.post(_url(world.tea), _form()).status_code == 404
    english.force_login(world.client_tea)
    assert english.get(_url(world.tea)).status_code == 403
    assert english.post(_url(world.tea), _form()).status_code == 403
