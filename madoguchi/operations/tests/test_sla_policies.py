"""SLA policies set up in the browser: friendly durations, which policy wins, recomputed clocks."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.operations.models import SlaMeasureRecord, SlaPolicy
from madoguchi.operations.services import sla_refresh
from madoguchi.operations.settings_forms import minutes_text, parse_minutes
from madoguchi.operations.sla_policies import (
    policy_matrix,
    shop_policies,
    sla_policy_delete,
    sla_policy_save,
)
from madoguchi.operations.tasks import refresh_shop_slas
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90", 90),
        ("4:30", 270),
        ("4h", 240),
        ("4H30M", 270),
        ("1.5h", 90),
        ("90m", 90),
        ("4時間", 240),
        ("4時間30分", 270),
        ("２時間", 120),
        ("45 min", 45),
        ("0:05", 5),
        ("", None),
        ("h", None),
        ("4:75", None),
        ("三時間", None),
    ],
)
def test_durations_are_typed_the_way_people_write_them(text, minutes):
    assert parse_minutes(text) == minutes


def test_a_stored_duration_is_shown_as_hours_and_minutes():
    assert [minutes_text(m) for m in (5, 60, 270, 1260)] == ["0:05", "1:00", "4:30", "21:00"]


def _save(world, user=None, **values):
    fields = {"name": "標準", "first_response_minutes": 240}
    fields.update(values)
    with in_shop(world.tea.id):
        return sla_policy_save(
            actor=actor_for_user(user or world.supervisor), shop=world.tea, **fields
        )


def test_a_lead_creates_and_changes_a_policy_audited(world):
    policy = _save(world, next_response_minutes=480, resolution_minutes=1260)
    _save(world, policy=policy, name="標準", first_response_minutes=120, is_active=False)
    with in_shop(world.tea.id):
        policy.refresh_from_db()
        entries = list(AuditEntry.objects.filter(action="sla_policy.saved").order_by("id"))
    assert (policy.first_response_minutes, policy.next_response_minutes, policy.is_active) == (
        120,
        None,
        False,
    )
    assert entries[0].changes["new"] == {
        "name": "標準",
        "priority": "",
        "channel": "",
        "first_response_minutes": 240,
        "next_response_minutes": 480,
        "resolution_minutes": 1260,
        "in_business_hours": True,
        "warn_minutes_before": 30,
        "escalate_on_breach": True,
        "is_active": True,
        "position": 0,
    }
    assert entries[1].changes == {
        "old": {
            "first_response_minutes": 240,
            "next_response_minutes": 480,
            "resolution_minutes": 1260,
            "is_active": True,
        },
        "new": {
            "first_response_minutes": 120,
            "next_response_minutes": None,
            "resolution_minutes": None,
            "is_active": False,
        },
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": "  "}, "A policy needs a name."),
        ({"first_response_minutes": None}, "Set at least one target."),
        ({"priority": "sometime"}, "Unknown priority."),
        ({"channel": "fax"}, "Unknown channel."),
        ({"first_response_minutes": 0}, "A target is between one minute and a year."),
    ],
)
def test_bad_policies_are_refused(world, values, message):
    with pytest.raises(ValidationError) as refused:
        _save(world, **values)
    assert refused.value.message == message


def test_names_are_unique_and_only_leads_write(world):
    _save(world)
    with pytest.raises(ValidationError) as refused:
        _save(world, first_response_minutes=60)
    assert refused.value.message == "A policy of this name exists."
    with pytest.raises(PermissionDeniedError):
        _save(world, user=world.operator_tea, name="至急")
    with pytest.raises(PermissionDeniedError):
        _save(world, user=world.client_tea, name="至急")


def test_the_matrix_shows_the_most_specific_policy_for_each_kind_of_ticket(world):
    general = _save(world, name="標準")
    urgent = _save(world, name="至急", priority="urgent", first_response_minutes=60)
    urgent_mail = _save(
        world, name="至急メール", priority="urgent", channel="email", first_response_minutes=30
    )
    _save(world, name="電話", channel="phone", first_response_minutes=15, is_active=False)
    with in_shop(world.tea.id):
        listed = shop_policies(shop_id=world.tea.id)
    assert [policy.name for policy in listed] == ["至急メール", "至急", "標準", "電話"]
    matrix = {
        row.priority: {c.channel: c.policy for c in row.cells} for row in policy_matrix(listed)
    }
    assert list(matrix) == ["low", "normal", "high", "urgent"]
    assert matrix["urgent"]["email"] == urgent_mail
    assert matrix["urgent"]["line"] == urgent
    assert matrix["normal"]["email"] == general
    assert matrix["normal"]["phone"] == general  # the phone policy is inactive


def test_saving_a_policy_recomputes_the_clocks_of_open_tickets(
    world, django_capture_on_commit_callbacks
):
    created = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TOKYO)  # a Monday, default hours
    with in_shop(world.tea.id):
        ticket = factories.TicketFactory(shop=world.tea, created_at=created)
        solved = factories.TicketFactory(shop=world.tea, created_at=created, status="solved")
        policy = SlaPolicy.objects.create(shop=world.tea, name="標準", first_response_minutes=60)
        sla_refresh(ticket_id=ticket.id)
        sla_refresh(ticket_id=solved.id)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _save(world, policy=policy, first_response_minutes=240)
    assert len(callbacks) == 1
    with in_shop(world.tea.id):
        # 10:00-12:00 and 13:00-15:00 of business time: due 15:00 instead of 11:00.
        assert ticket.sla_measures.get(metric="first_response").due_at == created.replace(hour=15)
        assert solved.sla_measures.get(metric="first_response").due_at == created.replace(hour=11)
    with django_capture_on_commit_callbacks(execute=True), in_shop(world.tea.id):
        sla_policy_delete(actor=actor_for_user(world.admin), shop=world.tea, policy=policy)
    with in_shop(world.tea.id):
        assert not SlaMeasureRecord.objects.filter(ticket=ticket).exists()
        assert SlaMeasureRecord.objects.filter(ticket=solved).count() == 2
        entry = AuditEntry.objects.get(action="sla_policy.deleted")
    assert (entry.actor, entry.target_id, entry.changes["old"]["first_response_minutes"]) == (
        world.admin,
        str(policy.pk),
        240,
    )


def test_the_recompute_task_walks_every_open_ticket_in_batches(world):
    with in_shop(world.tea.id):
        SlaPolicy.objects.create(shop=world.tea, name="標準", first_response_minutes=60)
        for _ in range(4):
            factories.TicketFactory(shop=world.tea)
    # The world's ticket and four more, in batches of two; the ceramics shop is not touched.
    assert refresh_shop_slas.call(world.tea.id, batch_size=2) == 5
    with in_shop(world.tea.id):
        assert SlaMeasureRecord.objects.filter(metric="first_response").count() == 5
    with in_shop(world.ceramics.id):
        assert not SlaMeasureRecord.objects.filter(shop=world.ceramics).exists()


# Pages ------------------------------------------------------------------------------------------


def _list_url(shop) -> str:
    return reverse("operations:sla_policies", args=[shop.slug])


def _edit_url(shop, policy) -> str:
    return reverse("operations:sla_policy_edit", args=[shop.slug, policy.id])


def _form(**overrides) -> dict[str, str]:
    data = {
        "name": "標準",
        "priority": "",
        "channel": "",
        "first_response_minutes": "4h",
        "next_response_minutes": "8時間",
        "resolution_minutes": "21:00",
        "in_business_hours": "on",
        "warn_minutes_before": "30",
        "escalate_on_breach": "on",
        "is_active": "on",
        "position": "0",
    }
    data.update(overrides)
    return data


def test_a_supervisor_adds_a_policy_in_the_browser(english, world):
    english.force_login(world.supervisor)
    page = english.get(_list_url(world.tea)).content.decode()
    assert "most specific active policy" in page
    assert 'data-testid="sla-policy-form"' in page
    response = english.post(_list_url(world.tea), _form())
    assert (response.status_code, response["Location"]) == (302, _list_url(world.tea))
    with in_shop(world.tea.id):
        policy = SlaPolicy.objects.get(shop=world.tea)
    assert (
        policy.first_response_minutes,
        policy.next_response_minutes,
        policy.resolution_minutes,
        policy.in_business_hours,
    ) == (240, 480, 1260, True)
    page = english.get(_list_url(world.tea)).content.decode()
    row = page.split('data-testid="sla-policy-row"')[1].split("</tr>")[0]
    assert "4 h" in row and "8 h" in row and "21 h" in row and "30 min" in row
    cell = page.split('data-testid="matrix-urgent-line"')[1].split("</td>")[0]
    assert "標準" in cell
    edit = english.get(_edit_url(world.tea, policy)).content.decode()
    assert 'name="first_response_minutes" value="4:00"' in edit


def test_an_invalid_policy_is_refused_in_japanese_keeping_what_was_typed(client, world):
    client.force_login(world.admin)
    response = client.post(
        _list_url(world.tea),
        _form(first_response_minutes="いつか", next_response_minutes="", resolution_minutes=""),
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "4:30、4h、4h30m、90（分）のように入力してください。" in page
    assert 'value="いつか"' in page
    response = client.post(
        _list_url(world.tea),
        _form(first_response_minutes="", next_response_minutes="", resolution_minutes=""),
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert "目標を少なくとも一つ設定してください。" in response.content.decode()
    with in_shop(world.tea.id):
        assert not SlaPolicy.objects.filter(shop=world.tea).exists()


def test_a_taken_name_is_refused_beside_the_name_keeping_the_targets(client, world):
    client.force_login(world.admin)
    assert client.post(_list_url(world.tea), _form()).status_code == 302
    response = client.post(
        _list_url(world.tea), _form(first_response_minutes="2h"), HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["同じ名前のポリシーがすでにあります。"]}
    assert 'value="2h"' in response.content.decode()


def test_a_supervisor_edits_and_deletes_a_policy(english, world):
    policy = _save(world)
    english.force_login(world.supervisor)
    response = english.post(_edit_url(world.tea, policy), _form(name="標準2", is_active=""))
    assert response.status_code == 302
    with in_shop(world.tea.id):
        policy.refresh_from_db()
    assert (policy.name, policy.is_active) == ("標準2", False)
    response = english.post(_edit_url(world.tea, policy), {"action": "delete"})
    assert (response.status_code, response["Location"]) == (302, _list_url(world.tea))
    with in_shop(world.tea.id):
        assert not SlaPolicy.objects.filter(shop=world.tea).exists()


def test_an_operator_reads_the_policies_but_may_not_change_them(english, world):
    policy = _save(world)
    english.force_login(world.operator_tea)
    page = english.get(_list_url(world.tea)).content.decode()
    assert "標準" in page and 'data-testid="sla-policy-form"' not in page
    edit = english.get(_edit_url(world.tea, policy)).content.decode()
    assert 'data-testid="sla-policy-summary"' in edit and "<form" not in edit.split("<main")[1]
    assert english.post(_list_url(world.tea), _form(name="至急")).status_code == 403
    assert english.post(_edit_url(world.tea, policy), {"action": "delete"}).status_code == 403
    with in_shop(world.tea.id):
        assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["標準"]


def test_strangers_get_404_and_the_client_403(english, world):
    policy = _save(world)
    english.force_login(world.operator_ceramics)
    assert english.get(_list_url(world.tea)).status_code == 404
    assert english.get(_edit_url(world.tea, policy)).status_code == 404
    english.force_login(world.client_tea)
    assert english.get(_list_url(world.tea)).status_code == 403
    english.force_login(world.supervisor)
    # The tea shop's policy is not found under the ceramics shop.
    assert english.get(_edit_url(world.ceramics, policy)).status_code == 404
    assert english.post(_edit_url(world.ceramics, policy), {"action": "delete"}).status_code == 404
    with in_shop(world.tea.id):
        assert SlaPolicy.objects.filter(pk=policy.pk).exists()
