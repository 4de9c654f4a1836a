"""A workspace's IP allowlist for staff: set by its admins, enforced at sign-in and on every
request, audited; public pages, clients and other workspaces unaffected.

Requests come through the test client with REMOTE_ADDR set as a connecting peer would be (no
trusted proxies are configured, so X-Forwarded-For is ignored).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.accounts import ip_allowlist
from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import ValidationError

from .conftest import post_password

pytestmark = pytest.mark.django_db

OFFICE = "203.0.113.10"
HOME = "198.51.100.7"
OFFICE_V6 = "2001:db8:10::25"
INBOX = "/"


def _allow(world: Any, *networks: str) -> None:
    world.agency.staff_ip_allowlist = list(networks)
    world.agency.save(update_fields=["staff_ip_allowlist"])


def _client(address: str) -> Client:
    client = Client(REMOTE_ADDR=address)
    client.cookies["django_language"] = "en"
    return client


def _refusals(user: Any) -> list[dict[str, Any]]:
    return list(
        AuditEntry.objects.filter(action=actions.USER_IP_REFUSED, actor=user)
        .order_by("id")
        .values("ip_address", "changes")
    )


# Parsing ------------------------------------------------------------------------------------


def test_networks_are_normalised_and_kept_once() -> None:
    text = "203.0.113.7/24\n2001:db8::1, 192.0.2.5  203.0.113.0/24\n"
    assert ip_allowlist.networks_parse(text) == [
        "203.0.113.0/24",
        "2001:db8::1/128",
        "192.0.2.5/32",
    ]
    assert ip_allowlist.networks_parse("  \n ") == []


def test_a_word_that_is_no_network_is_refused_on_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        ip_allowlist.networks_parse("203.0.113.0/24\noffice-vpn")
    assert refused.value.field == "ip_allowlist"
    assert refused.value.extra == {"entry": "office-vpn"}


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.200", True),
        ("203.0.114.1", False),
        ("2001:db8:10::ffff", True),
        ("2001:db8:11::1", False),
        ("::ffff:203.0.113.9", True),  # an IPv4 peer on a dual-stack socket
        (None, False),
        ("not an address", False),
    ],
)
def test_address_in(address: str | None, expected: bool) -> None:
    assert ip_allowlist.address_in(address, ["203.0.113.0/24", "2001:db8:10::/48"]) is expected


# Saving the list on the security page -------------------------------------------------------


def test_an_admin_saves_the_list_from_inside_it_audited_with_old_and_new(world: Any) -> None:
    client = _client(OFFICE)
    client.force_login(world.admin)
    url = reverse("accounts:workspace_ip_allowlist_edit", args=[world.agency.slug])

    response = client.post(url, {"ip_allowlist": "203.0.113.0/24\n2001:db8:10::/48"})

    assert response.status_code == 302
    world.agency.refresh_from_db()
    assert world.agency.staff_ip_allowlist == ["203.0.113.0/24", "2001:db8:10::/48"]
    entry = AuditEntry.objects.get(action=actions.WORKSPACE_SECURITY_CHANGED)
    assert entry.actor_id == world.admin.id
    assert (entry.target_type, entry.target_id) == ("tenancy.workspace", str(world.agency.id))
    assert entry.changes == {"staff_ip_allowlist": [[], ["203.0.113.0/24", "2001:db8:10::/48"]]}
    assert entry.ip_address == OFFICE
    page = client.get(reverse("accounts:workspace_security"))
    assert "203.0.113.0/24\n2001:db8:10::/48</textarea>" in page.text


def test_an_admin_cannot_save_a_list_that_leaves_out_their_own_address(world: Any) -> None:
    client = _client(HOME)
    client.force_login(world.admin)
    url = reverse("accounts:workspace_ip_allowlist_edit", args=[world.agency.slug])

    response = client.post(url, {"ip_allowlist": "203.0.113.0/24"})

    assert response.status_code == 400
    assert "Your current address (198.51.100.7) is not in the list" in response.text
    assert "203.0.113.0/24</textarea>" in response.text  # what was typed stays
    world.agency.refresh_from_db()
    assert world.agency.staff_ip_allowlist == []
    assert not AuditEntry.objects.filter(action=actions.WORKSPACE_SECURITY_CHANGED).exists()


def test_a_wrong_entry_is_shown_on_the_field_in_japanese(world: Any) -> None:
    client = Client(REMOTE_ADDR=OFFICE)
    client.force_login(world.admin)
    url = reverse("accounts:workspace_ip_allowlist_edit", args=[world.agency.slug])
    response = client.post(url, {"ip_allowlist": "203.0.113.0/33"})
    assert response.status_code == 400
    assert (
        "「203.0.113.0/33」はIPアドレスまたはネットワーク（CIDR）ではありません。" in response.text
    )


def test_emptying_the_list_allows_every_address_again(world: Any) -> None:
    _allow(world, "203.0.113.0/24")
    client = _client(OFFICE)
    client.force_login(world.admin)
    url = reverse("accounts:workspace_ip_allowlist_edit", args=[world.agency.slug])
    assert client.post(url, {"ip_allowlist": ""}).status_code == 302
    world.agency.refresh_from_db()
    assert world.agency.staff_ip_allowlist == []
    entry = AuditEntry.objects.get(action=actions.WORKSPACE_SECURITY_CHANGED)
    assert entry.changes == {"staff_ip_allowlist": [["203.0.113.0/24"], []]}


def test_a_supervisor_reads_the_list_and_cannot_change_it(world: Any) -> None:
    _allow(world, "127.0.0.0/8")
    client = Client()
    client.force_login(world.supervisor)
    page = client.get(reverse("accounts:workspace_security"))
    assert "<li><code>127.0.0.0/8</code></li>" in page.text
    assert 'data-testid="ip-allowlist-form"' not in page.text
    url = reverse("accounts:workspace_ip_allowlist_edit", args=[world.agency.slug])
    assert client.post(url, {"ip_allowlist": ""}).status_code == 403
    world.agency.refresh_from_db()
    assert world.agency.staff_ip_allowlist == ["127.0.0.0/8"]


def test_another_workspaces_admin_gets_404(world: Any) -> None:
    from madoguchi.core.testing import factories

    stranger = factories.MembershipFactory(
        workspace=world.tea.workspace, role="admin"
    ).user  # the tea shop's own company: not the agency
    client = Client()
    client.force_login(stranger)
    url = reverse("accounts:workspace_ip_allowlist_edit", args=[world.agency.slug])
    assert client.post(url, {"ip_allowlist": "127.0.0.0/8"}).status_code == 404
    world.agency.refresh_from_db()
    assert world.agency.staff_ip_allowlist == []


# Enforcement --------------------------------------------------------------------------------


def test_sign_in_from_outside_is_refused_with_a_japanese_page_and_audited(world: Any) -> None:
    _allow(world, "203.0.113.0/24")
    client = Client(REMOTE_ADDR=HOME)

    response = post_password(client, world.operator_tea.email)

    assert response.status_code == 403
    assert "このネットワークからはアクセスできません" in response.text
    assert "198.51.100.7" in response.text
    assert "_auth_user_id" not in client.session  # no session was started
    assert not AuditEntry.objects.filter(
        action=actions.USER_LOGGED_IN, actor=world.operator_tea
    ).exists()
    assert _refusals(world.operator_tea) == [
        {
            "ip_address": HOME,
            "changes": {
                "workspaces": [world.agency.id],
                "path": reverse("accounts:login"),
                "step": "sign_in",
            },
        }
    ]


def test_sign_in_from_inside_works_over_ipv4_and_ipv6(world: Any) -> None:
    _allow(world, "203.0.113.0/24", "2001:db8:10::/48")
    for address in (OFFICE, OFFICE_V6):
        client = Client(REMOTE_ADDR=address)
        response = post_password(client, world.operator_tea.email)
        assert response.status_code == 302, address
        assert client.get(INBOX).status_code == 200
    assert _refusals(world.operator_tea) == []


def test_an_ipv6_address_outside_the_list_is_refused(world: Any) -> None:
    _allow(world, "2001:db8:10::/48")
    client = Client(REMOTE_ADDR="2001:db8:99::1")
    assert post_password(client, world.supervisor.email).status_code == 403
    assert [entry["ip_address"] for entry in _refusals(world.supervisor)] == ["2001:db8:99::1"]


def test_a_session_is_refused_mid_way_once_its_address_leaves_the_list(world: Any) -> None:
    client = Client(REMOTE_ADDR=OFFICE)
    client.force_login(world.operator_tea)
    assert client.get(INBOX).status_code == 200
    _allow(world, "203.0.113.0/24")
    assert client.get(INBOX).status_code == 200

    response = client.get(INBOX, REMOTE_ADDR=HOME)  # the same session from elsewhere

    assert response.status_code == 403
    assert "このネットワークからはアクセスできません" in response.text
    assert "お茶が届きません" not in response.text  # none of the page's data
    assert _refusals(world.operator_tea)[-1] == {
        "ip_address": HOME,
        "changes": {"workspaces": [world.agency.id], "path": INBOX, "step": "request"},
    }
    # A POST is refused before the view runs: the ticket keeps its priority.
    ticket_url = reverse(
        "conversations:ticket_properties", args=[world.tea.slug, world.tea_ticket.number]
    )
    assert client.post(ticket_url, {"priority": "high"}, REMOTE_ADDR=HOME).status_code == 403
    world.tea_ticket.refresh_from_db()
    assert world.tea_ticket.priority != "high"
    # Back at the office, the same session works again.
    assert client.get(INBOX, REMOTE_ADDR=OFFICE).status_code == 200


def test_forwarded_for_from_an_untrusted_peer_does_not_help(world: Any) -> None:
    _allow(world, "203.0.113.0/24")
    client = Client(REMOTE_ADDR=HOME)
    client.force_login(world.operator_tea)
    response = client.get(INBOX, HTTP_X_FORWARDED_FOR=OFFICE)
    assert response.status_code == 403


def test_clients_and_other_workspaces_staff_are_not_affected(world: Any) -> None:
    _allow(world, "203.0.113.0/24")
    client = Client(REMOTE_ADDR=HOME)
    assert post_password(client, world.client_tea.email).status_code == 302
    assert client.get(INBOX).status_code == 200
    tea_company = world.tea.workspace
    tea_company.staff_ip_allowlist = ["192.0.2.0/24"]
    tea_company.save(update_fields=["staff_ip_allowlist"])
    assert client.get(INBOX).status_code == 200  # a client, not staff, of the tea company
    assert AuditEntry.objects.filter(action=actions.USER_IP_REFUSED).count() == 0


def test_public_pages_and_signing_out_stay_open(world: Any) -> None:
    from madoguchi.connectors.webform.services import web_form_for
    from madoguchi.tenancy.scoping import unscoped

    _allow(world, "203.0.113.0/24")
    with unscoped("test setup"):
        key = web_form_for(world.tea).public_key
    form_url = reverse("webform:public", args=[key])
    anonymous = Client(REMOTE_ADDR=HOME)
    assert anonymous.get(form_url).status_code == 200
    staff = Client(REMOTE_ADDR=HOME)
    staff.force_login(world.operator_tea)
    assert staff.get(form_url).status_code == 200  # a shop's customer form, whoever opens it
    assert staff.get(reverse("healthz")).status_code == 200
    assert staff.post(reverse("accounts:logout")).status_code == 302
    assert "_auth_user_id" not in staff.session
    assert AuditEntry.objects.filter(action=actions.USER_IP_REFUSED).count() == 0


# Websockets ---------------------------------------------------------------------------------


def _socket_from(client: Client, path: str, address: str) -> Any:
    """A websocket of `client`'s browser whose connection comes from `address`."""
    from channels.testing import WebsocketCommunicator

    from madoguchi.config.asgi import application

    from .test_sessions import HOST

    async def from_address(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return await application({**scope, "client": (address, 50000)}, receive, send)

    return WebsocketCommunicator(
        from_address,
        path,
        headers=[
            (b"host", HOST.encode()),
            (b"origin", f"http://{HOST}".encode()),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )


@pytest.mark.usefixtures("fresh_channel_layer")
@pytest.mark.django_db(transaction=True)
def test_a_staff_socket_from_outside_is_refused_and_audited(world: Any) -> None:
    from asgiref.sync import async_to_sync

    from .test_sessions import presence_path

    _allow(world, "203.0.113.0/24", "2001:db8:10::/48")
    client = Client(REMOTE_ADDR=OFFICE)
    client.force_login(world.operator_tea)
    path = presence_path(world.tea_ticket)

    async def scenario() -> None:
        for address in (OFFICE, OFFICE_V6):
            inside = _socket_from(client, path, address)
            assert (await inside.connect())[0], address
            await inside.disconnect()
        outside = _socket_from(client, path, HOME)
        assert await outside.connect() == (False, 4403)

    async_to_sync(scenario)()
    assert _refusals(world.operator_tea) == [
        {
            "ip_address": HOME,
            "changes": {"workspaces": [world.agency.id], "path": path, "step": "websocket"},
        }
    ]
