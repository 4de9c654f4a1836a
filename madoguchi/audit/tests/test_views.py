"""The audit log page and its CSV: who reads which entries, the filters, the pages, the export.

The world: an agency works the tea and ceramics shops; the tea shop's company has a client
(`client_tea`), the ceramics shop's another. Entries are written through `audit.record` with
their time set afterwards where the test is about time (the model refuses updates, so through
a raw UPDATE of the test's own rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from madoguchi.audit import actions, selectors
from madoguchi.audit.export import spreadsheet_safe
from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import record
from madoguchi.core.testing import factories

pytestmark = pytest.mark.django_db

LOG = reverse("audit:log")
EXPORT = reverse("audit:export")


def _at(entry: AuditEntry, when: dt.datetime) -> AuditEntry:
    """Move a test entry in time (the ORM refuses: entries are append-only)."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET occurred_at = %s WHERE id = %s",  # noqa: S608
            [connection.ops.adapt_datetimefield_value(when), entry.id],
        )
    return AuditEntry.objects.get(pk=entry.pk)


@pytest.fixture
def entries(world: Any) -> dict[str, AuditEntry]:
    """One entry of each reach: the tea shop, the ceramics shop, an agency member's sign-in,
    a failed sign-in under a member's address, a tea-company client's sign-in, and a stranger's."""
    stranger = factories.MembershipFactory(
        workspace=factories.WorkspaceFactory(name="別の代行会社", slug="other", kind="agency"),
        role="admin",
    ).user
    return {
        "tea": record(
            actor=world.operator_tea,
            action=actions.TICKET_UPDATED,
            target=world.tea_ticket,
            changes={"priority": ["normal", "high"]},
            ip_address="192.0.2.10",
        ),
        "ceramics": record(
            actor=world.operator_ceramics,
            action=actions.CUSTOMER_VIEWED,
            target=world.ceramics_ticket.customer,
            ip_address="192.0.2.11",
        ),
        "sign_in": record(
            actor=world.supervisor, action=actions.USER_LOGGED_IN, ip_address="2001:db8::5"
        ),
        "failed": record(
            actor=None,
            action=actions.USER_LOGIN_FAILED,
            actor_label=world.operator_tea.email,
            ip_address="198.51.100.9",
        ),
        "client_sign_in": record(actor=world.client_tea, action=actions.USER_LOGGED_IN),
        "stranger": record(actor=stranger, action=actions.USER_LOGGED_IN),
    }


def _ids(response: Any) -> set[int]:
    """The entries shown, without the reader's own sign-in to the test client."""
    reader = response.wsgi_request.user
    return {
        entry.id
        for entry, _label, _group in response.context["rows"]
        if not (entry.action == actions.USER_LOGGED_IN and entry.actor_id == reader.id)
    }


def _get(client: Client, user: Any, url: str = LOG, **params: str) -> Any:
    client.force_login(user)
    return client.get(url, params)


# Who reads what -----------------------------------------------------------------------------


def test_the_agencys_admin_reads_its_shops_and_members_entries(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    response = _get(client, world.admin)
    assert response.status_code == 200
    assert _ids(response) == {entries[name].id for name in ("tea", "ceramics", "sign_in", "failed")}


def test_the_shop_companys_client_reads_only_its_shops_entries(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    response = _get(client, world.client_tea)
    assert response.status_code == 200
    assert response.context["reach"].workspace == world.tea.workspace
    # The agency's operator's change in the tea shop, not the client's own sign-in.
    assert _ids(response) == {entries["tea"].id}


def test_the_shop_companys_admin_reads_its_shop_and_its_members(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    owner_admin = factories.MembershipFactory(workspace=world.tea.workspace, role="admin").user
    response = _get(client, owner_admin)
    assert _ids(response) == {entries["tea"].id, entries["client_sign_in"].id}


@pytest.mark.parametrize("user", ["supervisor", "operator_tea"])
def test_supervisors_and_operators_read_no_audit_log(
    client: Client, world: Any, entries: dict[str, AuditEntry], user: str
) -> None:
    assert _get(client, getattr(world, user)).status_code == 404
    assert _get(client, getattr(world, user), EXPORT).status_code == 404


def test_another_workspace_is_not_found(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    for url in (LOG, EXPORT):
        response = _get(client, world.client_ceramics, url, workspace=world.agency.slug)
        assert response.status_code == 404
        response = _get(client, world.admin, url, workspace="other")
        assert response.status_code == 404
    assert not AuditEntry.objects.filter(action=actions.AUDIT_EXPORTED).exists()


def test_an_ended_engagement_takes_its_shop_out_of_the_agencys_log(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    from madoguchi.tenancy.models import Engagement

    Engagement.objects.filter(agency=world.agency, shop=world.ceramics).update(
        starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2020, 12, 31)
    )
    assert entries["ceramics"].id not in _ids(_get(client, world.admin))


def test_the_page_has_no_way_to_change_entries(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    response = _get(client, world.admin)
    assert "<form" in response.text  # the filters (GET)
    assert 'method="post"' not in response.text.split('data-testid="audit-filters"')[1]
    client.force_login(world.admin)
    assert client.post(LOG, {}).status_code == 405


# Showing and filtering ----------------------------------------------------------------------


def test_actions_are_shown_in_japanese_in_the_shops_time_zone(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    _at(entries["tea"], dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC))
    client.force_login(world.admin)
    html = client.get(LOG).text  # Japanese by default
    assert "チケット変更" in html and "サインイン失敗" in html
    assert "2026-12-01 08:30:00" in html  # 23:30 UTC in Asia/Tokyo


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"group": "sign_in"}, {"sign_in", "failed"}),
        ({"group": "personal_data"}, {"ceramics"}),
        ({"group": "work"}, {"tea"}),
        ({"actor": "OPERATOR"}, set()),  # replaced below by the operators' addresses
        ({"target": "conversations.ticket"}, {"tea"}),
        ({"date_from": "2026-11-02", "date_to": "2026-11-02"}, {"tea"}),
    ],
)
def test_filters(
    client: Client,
    world: Any,
    entries: dict[str, AuditEntry],
    params: dict[str, str],
    expected: set[str],
) -> None:
    # Tokyo days: the tea entry on 2 November, the others on 1 November.
    _at(entries["tea"], dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC))  # 2 Nov 00:00 JST
    for name in ("ceramics", "sign_in", "failed"):
        _at(entries[name], dt.datetime(2026, 11, 1, 14, 59, tzinfo=dt.UTC))  # 1 Nov 23:59
    if params.get("actor") == "OPERATOR":
        params = {"actor": world.operator_tea.email.upper()}
        expected = {"tea", "failed"}
    response = _get(client, world.admin, **params)
    assert response.status_code == 200
    assert _ids(response) == {entries[name].id for name in expected}


def test_the_shop_filter_and_a_shop_outside_the_reach(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    response = _get(client, world.admin, shop=str(world.ceramics.id))
    assert _ids(response) == {entries["ceramics"].id}
    # The tea company's client may not choose the ceramics shop: the form refuses the choice
    # and the page still shows only the tea shop's entries.
    response = _get(client, world.client_tea, shop=str(world.ceramics.id))
    assert response.context["form"].errors
    assert _ids(response) == {entries["tea"].id}


def test_pages_follow_each_other_without_gaps_or_repeats(
    client: Client, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)
    same_time = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    written = [
        _at(
            record(
                actor=world.operator_tea, action=actions.TICKET_UPDATED, target=world.tea_ticket
            ),
            same_time,
        )
        for _ in range(7)
    ]
    client.force_login(world.admin)
    seen: list[int] = []
    params: dict[str, str] = {"group": "work"}
    for _ in range(5):
        response = client.get(LOG, params)
        seen += [entry.id for entry, _label, _group in response.context["rows"]]
        if response.context["next_before"] is None:
            break
        params = {"group": "work", "before": str(response.context["next_before"])}
        assert f"before={response.context['next_before']}" in response.text
    assert seen == sorted((entry.id for entry in written), reverse=True)


# The CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+81-3-1234", "'+81-3-1234"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_spreadsheet_safe(value: str, expected: str) -> None:
    assert spreadsheet_safe(value) == expected


def test_the_export_is_excel_ready_csv_in_utc_and_is_audited(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    tricky = record(
        actor=world.admin,
        action=actions.SHOP_UPDATED,
        target=world.tea,
        shop=world.tea,
        changes={"name": ["山田園", '=cmd|"/c calc"!A1, "引用"\n2行目']},
        actor_label="=evil@example.jp",
    )
    _at(tricky, dt.datetime(2026, 11, 30, 23, 30, 5, tzinfo=dt.UTC))
    client.force_login(world.admin)

    response = client.get(EXPORT, {"group": "settings"}, REMOTE_ADDR="192.0.2.77")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-agency-')
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    text = body.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\r\n" in text.split("\n")[0] + "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [
        "日時（UTC）",
        "操作",
        "操作名",
        "実行者",
        "ショップ",
        "対象",
        "対象ID",
        "IPアドレス",
        "詳細",
    ]
    assert rows[1:] == [
        [
            "2026-11-30T23:30:05Z",
            "ショップの変更",
            "shop.updated",
            "'=evil@example.jp",
            "山田園 茶舗",
            "tenancy.shop",
            str(world.tea.id),
            "",
            '{"name": ["山田園", "=cmd|\\"/c calc\\"!A1, \\"引用\\"\\n2行目"]}',
        ]
    ]
    exported = AuditEntry.objects.get(action=actions.AUDIT_EXPORTED)
    assert exported.actor_id == world.admin.id
    assert exported.ip_address == "192.0.2.77"
    assert exported.changes == {
        "workspace": world.agency.id,
        "filters": {"group": "settings"},
        "rows": 1,
    }


def test_the_export_quotes_fields_as_rfc_4180_says(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    record(
        actor=world.admin,
        action=actions.SHOP_UPDATED,
        target=world.tea,
        actor_label='a "quoted", name',
    )
    client.force_login(world.admin)
    body = b"".join(client.get(EXPORT, {"group": "settings"}).streaming_content).decode()
    assert ',"a ""quoted"", name",' in body


def test_the_export_holds_the_same_entries_as_the_page(
    client: Client, world: Any, entries: dict[str, AuditEntry]
) -> None:
    client.force_login(world.client_tea)
    body = b"".join(client.get(EXPORT).streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body, newline="")))[1:]
    assert [row[2] for row in rows] == ["ticket.updated"]
    assert world.operator_ceramics.email not in body
