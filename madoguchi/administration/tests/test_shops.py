"""Workspace & shops, shop settings, engagements, invitations, categories and tags pages.

Every page is tried by its role (admin changes, supervisor reads), by a role that may not use it
(403) and by someone who cannot see the shop or workspace (404).
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.administration import shop_views
from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Category, Tag
from madoguchi.core.testing import factories
from madoguchi.operations.models import Shift, SlaPolicy
from madoguchi.operations.selectors import calendar_for_shop
from madoguchi.operations.services import sla_refresh
from madoguchi.tenancy import invitations, services
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Engagement, EngagementInvitation, Membership, Shop, Workspace
from madoguchi.tenancy.scoping import in_shop, unscoped

Role = Membership.Role

WORKSPACE_URL = reverse("administration:workspace")


def shop_url(shop, name="shop_edit"):
    return reverse(f"administration:{name}", args=[shop.slug])


def page(response):
    return response.content.decode()


@pytest.fixture
def tea_owner_admin(world):
    return factories.MembershipFactory(workspace=world.tea.workspace, role=Role.ADMIN).user


@pytest.fixture
def other_agency(db):
    agency = factories.WorkspaceFactory(name="北海サポート", slug="hokkai", kind="agency")
    admin = factories.MembershipFactory(workspace=agency, role=Role.ADMIN).user
    return agency, admin


# Workspace & shops -------------------------------------------------------------------------------


def test_admin_sees_the_agency_with_its_client_shops(english, world):
    english.force_login(world.admin)
    response = english.get(WORKSPACE_URL)
    assert response.status_code == 200
    html = page(response)
    assert html.count('data-testid="shop-row"') == 2
    assert shop_url(world.tea) in html and shop_url(world.ceramics) in html
    assert reverse("administration:shop_new", args=[world.agency.id]) in html
    assert reverse("administration:workspace_edit", args=[world.agency.id]) in html
    assert reverse("administration:engagement_accept") in html
    assert "New client shop" in html
    # The menu links the page.
    assert f'href="{WORKSPACE_URL}"' in html


def test_supervisor_reads_the_workspace_without_admin_links(english, world):
    english.force_login(world.supervisor)
    html = page(english.get(WORKSPACE_URL))
    assert html.count('data-testid="shop-row"') == 2
    assert reverse("administration:shop_new", args=[world.agency.id]) not in html
    assert reverse("administration:engagement_accept") not in html


@pytest.mark.parametrize("who", ["operator_tea", "client_tea"])
def test_operators_and_clients_get_403_and_no_menu_link(english, world, who):
    english.force_login(getattr(world, who))
    assert english.get(WORKSPACE_URL).status_code == 403
    inbox = page(english.get(reverse("conversations:inbox")))
    assert f'href="{WORKSPACE_URL}"' not in inbox
    assert f'href="{shop_url(world.tea)}"' not in inbox


def test_archived_shop_is_marked_on_the_workspace_page(english, world):
    services.shop_archive(actor=actor_for_user(world.admin), shop=world.tea)
    english.force_login(world.admin)
    html = page(english.get(WORKSPACE_URL))
    row = next(r for r in html.split('data-testid="shop-row"')[1:] if "山田園 茶舗" in r)
    assert "Archived" in row.split("</tr>")[0]


def test_admin_renames_the_workspace(english, world):
    english.force_login(world.admin)
    url = reverse("administration:workspace_edit", args=[world.agency.id])
    response = english.post(url, {"name": "窓口サポート株式会社"})
    assert response.status_code == 302
    assert response["Location"] == WORKSPACE_URL
    world.agency.refresh_from_db()
    assert world.agency.name == "窓口サポート株式会社"
    entry = AuditEntry.objects.get(action="workspace.updated")
    assert entry.changes == {"name": ["窓口サポート", "窓口サポート株式会社"]}


def test_empty_workspace_name_rerenders_in_japanese(client, world):
    client.force_login(world.admin)
    url = reverse("administration:workspace_edit", args=[world.agency.id])
    response = client.post(url, {"name": ""})
    assert response.status_code == 200
    assert "このフィールドは必須です。" in page(response)
    world.agency.refresh_from_db()
    assert world.agency.name == "窓口サポート"


def test_workspace_edit_is_403_for_the_supervisor_and_404_for_another_workspace(english, world):
    english.force_login(world.supervisor)
    url = reverse("administration:workspace_edit", args=[world.agency.id])
    assert english.get(url).status_code == 403
    english.force_login(world.admin)
    other = reverse("administration:workspace_edit", args=[world.tea.workspace_id])
    assert english.get(other).status_code == 404


# New shop ----------------------------------------------------------------------------------------


def test_agency_admin_creates_a_client_shop(english, world):
    english.force_login(world.admin)
    url = reverse("administration:shop_new", args=[world.agency.id])
    assert 'name="client_name"' in page(english.get(url))
    response = english.post(
        url,
        {
            "client_name": "桜茶舗株式会社",
            "name": "桜茶舗",
            "ticket_prefix": "skr",
            "mode": "outsourced",
            "starts_on": "",
            "ends_on": "",
        },
    )
    shop = Shop.objects.get(ticket_prefix="SKR")
    assert response.status_code == 302
    assert response["Location"] == shop_url(shop)
    assert shop.workspace.name == "桜茶舗株式会社"
    engagement = Engagement.objects.get(shop=shop)
    assert (engagement.agency, engagement.starts_on) == (world.agency, timezone.localdate())
    # The new shop's settings open right away, and it is in the switcher.
    settings_page = page(english.get(shop_url(shop)))
    assert "桜茶舗" in settings_page
    assert f"?shop={shop.slug}" in settings_page


def test_a_taken_prefix_rerenders_in_japanese_with_the_input_kept(client, world):
    client.force_login(world.admin)
    url = reverse("administration:shop_new", args=[world.agency.id])
    response = client.post(
        url,
        {
            "client_name": "桜茶舗株式会社",
            "name": "桜茶舗",
            "ticket_prefix": "TEA",
            "mode": "outsourced",
        },
    )
    assert response.status_code == 200
    html = page(response)
    assert "このチケット接頭辞は他のショップが使っています。" in html
    assert 'value="桜茶舗株式会社"' in html and 'value="TEA"' in html
    assert Shop.objects.count() == 2
    assert Workspace.objects.count() == 3


def test_a_malformed_prefix_and_reversed_period_rerender_in_japanese(client, world):
    client.force_login(world.admin)
    url = reverse("administration:shop_new", args=[world.agency.id])
    response = client.post(
        url,
        {
            "client_name": "桜茶舗",
            "name": "桜茶舗",
            "ticket_prefix": "S",
            "mode": "outsourced",
            "starts_on": "2027-04-01",
            "ends_on": "2027-03-01",
        },
    )
    assert response.status_code == 200
    html = page(response)
    assert "チケット接頭辞は英大文字または数字（A-Z、0-9）の2〜10文字にしてください。" in html
    assert "終了日は開始日より前にできません。" in html
    assert 'value="2027-04-01"' in html


def test_merchant_admin_creates_its_own_shop(english, world, tea_owner_admin):
    english.force_login(tea_owner_admin)
    url = reverse("administration:shop_new", args=[world.tea.workspace_id])
    assert 'name="client_name"' not in page(english.get(url))
    response = english.post(url, {"name": "山田園 楽天市場店", "ticket_prefix": "TEAR"})
    shop = Shop.objects.get(ticket_prefix="TEAR")
    assert response["Location"] == shop_url(shop)
    assert shop.workspace_id == world.tea.workspace_id


def test_new_shop_is_403_for_supervisors_and_404_for_strangers(english, world, other_agency):
    url = reverse("administration:shop_new", args=[world.agency.id])
    english.force_login(world.supervisor)
    assert english.get(url).status_code == 403
    english.force_login(other_agency[1])
    assert english.post(url, {"name": "x", "ticket_prefix": "XX"}).status_code == 404
    assert Shop.objects.count() == 2


# Shop settings -----------------------------------------------------------------------------------


def test_admin_changes_the_shop_settings(english, world):
    english.force_login(world.admin)
    response = english.post(
        shop_url(world.tea),
        {
            "name": "山田園 茶舗 本店",
            "ticket_prefix": "YMD",
            "time_zone": "Asia/Tokyo",
            "default_language": "en",
        },
    )
    assert response.status_code == 302
    world.tea.refresh_from_db()
    assert (world.tea.name, world.tea.ticket_prefix, world.tea.default_language) == (
        "山田園 茶舗 本店",
        "YMD",
        "en",
    )
    entry = AuditEntry.objects.get(action="shop.updated")
    assert entry.changes == {
        "name": ["山田園 茶舗", "山田園 茶舗 本店"],
        "ticket_prefix": ["TEA", "YMD"],
        "default_language": ["ja", "en"],
    }


def test_unknown_time_zone_rerenders_in_japanese_with_the_input_kept(client, world):
    client.force_login(world.admin)
    response = client.post(
        shop_url(world.tea),
        {
            "name": "山田園 新店",
            "ticket_prefix": "TEA",
            "time_zone": "Asia/Edo",
            "default_language": "ja",
        },
    )
    assert response.status_code == 200
    html = page(response)
    assert "不明なタイムゾーンです。" in html
    assert 'value="Asia/Edo"' in html and 'value="山田園 新店"' in html
    world.tea.refresh_from_db()
    assert world.tea.name == "山田園 茶舗"


def test_the_shops_time_zone_moves_the_shifts_and_the_sla_clocks(
    english, world, django_capture_on_commit_callbacks
):
    """One time zone: the shop's. The calendar page shows it; the shop page changes it."""
    tokyo, london = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/London")
    # Monday 1 June 2026, 09:30 UTC: 18:30 in Tokyo (closed), 10:30 in London (open).
    created = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)
    with in_shop(world.tea.id):
        SlaPolicy.objects.create(shop=world.tea, name="標準", first_response_minutes=60)
        ticket = factories.TicketFactory(shop=world.tea, created_at=created)
        sla_refresh(ticket_id=ticket.id)
    with unscoped("test setup"):
        # Engaged since before the week shown (the factory starts it this month).
        Engagement.objects.filter(agency=world.agency).update(starts_on=dt.date(2026, 5, 1))
        Shift.objects.create(
            workspace=world.agency,
            membership=Membership.objects.get(user=world.operator_tea),
            starts_at=dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC),
            ends_at=dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC),
        )
    shifts = reverse("operations:shifts", args=[world.tea.slug]) + "?week=2026-06-01"
    calendar = reverse("operations:calendar", args=[world.tea.slug])

    def first_response_due():
        with in_shop(world.tea.id):
            return ticket.sla_measures.get(metric="first_response").due_at

    english.force_login(world.admin)
    # Tokyo: the clock waits for Tuesday 10:00; the shift reads 19:00-21:00.
    assert first_response_due() == dt.datetime(2026, 6, 2, 11, 0, tzinfo=tokyo)
    week = page(english.get(shifts))
    assert "Times in Asia/Tokyo." in week and "19:00–21:00" in week
    assert 'name="time_zone"' not in page(english.get(calendar))

    with django_capture_on_commit_callbacks(execute=True):
        response = english.post(
            shop_url(world.tea),
            {
                "name": world.tea.name,
                "ticket_prefix": "TEA",
                "time_zone": "Europe/London",
                "default_language": "ja",
            },
        )
    assert response.status_code == 302
    # London: the shop is open at 10:30, so the hour runs at once; the shift reads 11:00-13:00.
    assert first_response_due() == dt.datetime(2026, 6, 1, 11, 30, tzinfo=london)
    week = page(english.get(shifts))
    assert "Times in Europe/London." in week and "11:00–13:00" in week
    coverage = reverse("operations:coverage", args=[world.tea.slug])
    assert "Times in Europe/London." in page(english.get(coverage))
    calendar_page = page(english.get(calendar))
    zone = calendar_page.split('data-testid="calendar-time-zone"', 1)[1].split("</div>", 1)[0]
    assert "Europe/London" in zone
    with in_shop(world.tea.id):
        assert calendar_for_shop(shop_id=world.tea.id).time_zone == "Europe/London"
    entry = AuditEntry.objects.get(action="shop.updated")
    assert entry.changes == {"time_zone": ["Asia/Tokyo", "Europe/London"]}


def test_supervisor_reads_the_shop_settings_and_cannot_post(english, world):
    english.force_login(world.supervisor)
    html = page(english.get(shop_url(world.tea)))
    assert 'data-testid="shop-facts"' in html
    assert 'data-testid="shop-form"' not in html
    assert shop_url(world.tea, "shop_archive") not in html
    response = english.post(
        shop_url(world.tea),
        {"name": "x", "ticket_prefix": "TEA", "time_zone": "Asia/Tokyo", "default_language": "ja"},
    )
    assert response.status_code == 403
    assert english.post(shop_url(world.tea, "shop_archive")).status_code == 403
    world.tea.refresh_from_db()
    assert (world.tea.name, world.tea.archived_at) == ("山田園 茶舗", None)


@pytest.mark.parametrize("who", ["operator_tea", "client_tea"])
def test_shop_settings_are_403_for_operators_and_clients(english, world, who):
    english.force_login(getattr(world, who))
    assert english.get(shop_url(world.tea)).status_code == 403
    menu = page(english.get(reverse("conversations:inbox")))
    assert f'href="{shop_url(world.tea)}"' not in menu
    assert f'href="{shop_url(world.tea, "taxonomy")}"' not in menu


def test_another_shop_is_404(english, world, other_agency):
    english.force_login(other_agency[1])
    assert english.get(shop_url(world.tea)).status_code == 404
    assert english.get(shop_url(world.tea, "taxonomy")).status_code == 404
    assert english.post(shop_url(world.tea, "shop_archive")).status_code == 404
    english.force_login(world.operator_tea)
    assert english.get(shop_url(world.ceramics, "taxonomy")).status_code == 404


def test_menu_links_the_shop_pages_for_leads(english, world):
    english.force_login(world.supervisor)
    html = page(english.get(reverse("conversations:inbox") + "?shop=tea"))
    assert f'href="{shop_url(world.tea)}"' in html
    assert f'href="{shop_url(world.tea, "taxonomy")}"' in html


def test_archiving_takes_the_shop_out_of_the_switcher_and_back(english, world):
    english.force_login(world.admin)
    response = english.post(shop_url(world.tea, "shop_archive"))
    assert response["Location"] == shop_url(world.tea)
    world.tea.refresh_from_db()
    assert world.tea.archived_at is not None
    inbox = page(english.get(reverse("conversations:inbox")))
    assert "?shop=ceramics" in inbox
    assert "?shop=tea" not in inbox
    # Its settings page still opens, to bring it back.
    settings_page = page(english.get(shop_url(world.tea)))
    assert 'data-testid="archived-notice"' in settings_page
    assert shop_url(world.tea, "shop_unarchive") in settings_page
    english.post(shop_url(world.tea, "shop_unarchive"))
    world.tea.refresh_from_db()
    assert world.tea.archived_at is None
    assert "?shop=tea" in page(english.get(reverse("conversations:inbox")))
    assert [e.action for e in AuditEntry.objects.filter(shop=world.tea).order_by("id")] == [
        "shop.archived",
        "shop.unarchived",
    ]


def test_calendar_link_only_when_the_page_exists(english, world, monkeypatch):
    english.force_login(world.admin)
    monkeypatch.setattr(shop_views, "calendar_url", lambda shop: None)
    assert 'data-testid="calendar-link"' not in page(english.get(shop_url(world.tea)))
    monkeypatch.setattr(shop_views, "calendar_url", lambda shop: f"/operations/{shop.slug}/cal/")
    html = page(english.get(shop_url(world.tea)))
    assert '<a href="/operations/tea/cal/" data-testid="calendar-link">' in html


# Engagements -------------------------------------------------------------------------------------


def engagement_url(world, name="engagement_edit"):
    engagement = Engagement.objects.get(shop=world.tea)
    return reverse(f"administration:{name}", args=[world.tea.slug, engagement.id]), engagement


def test_admin_ends_the_engagement(english, world):
    english.force_login(world.admin)
    url, engagement = engagement_url(world, "engagement_end")
    last_day = timezone.localdate() + dt.timedelta(days=10)
    response = english.post(url, {"ends_on": last_day.isoformat()})
    assert response["Location"] == shop_url(world.tea)
    engagement.refresh_from_db()
    assert engagement.ends_on == last_day
    entry = AuditEntry.objects.get(action="engagement.ended")
    assert entry.changes == {"ends_on": [None, last_day.isoformat()]}


def test_end_before_the_start_rerenders_in_japanese(client, world):
    client.force_login(world.admin)
    url, engagement = engagement_url(world, "engagement_end")
    day = (engagement.starts_on - dt.timedelta(days=1)).isoformat()
    response = client.post(url, {"ends_on": day})
    assert response.status_code == 200
    html = page(response)
    assert "終了日は開始日より前にできません。" in html
    assert f'value="{day}"' in html
    engagement.refresh_from_db()
    assert engagement.ends_on is None


def test_admin_changes_the_engagement_mode(english, world):
    english.force_login(world.admin)
    url, engagement = engagement_url(world)
    response = english.post(
        url, {"mode": "embedded", "starts_on": engagement.starts_on.isoformat(), "ends_on": ""}
    )
    assert response.status_code == 302
    engagement.refresh_from_db()
    assert engagement.mode == "embedded"
    assert AuditEntry.objects.get(action="engagement.updated").changes == {
        "mode": ["outsourced", "embedded"]
    }


def test_supervisor_reads_the_engagement_but_cannot_end_it(english, world):
    english.force_login(world.supervisor)
    url, engagement = engagement_url(world)
    html = page(english.get(url))
    assert 'data-testid="engagement-facts"' in html
    assert 'data-testid="engagement-end-form"' not in html
    end_url, _ = engagement_url(world, "engagement_end")
    assert english.post(end_url, {"ends_on": timezone.localdate().isoformat()}).status_code == 403
    engagement.refresh_from_db()
    assert engagement.ends_on is None


def test_an_agency_sees_only_its_own_engagements_of_a_shop(english, world, tea_owner_admin):
    other = factories.WorkspaceFactory(name="別の代行", kind="agency")
    other_engagement = factories.EngagementFactory(agency=other, shop=world.tea)
    english.force_login(world.admin)
    html = page(english.get(shop_url(world.tea)))
    assert html.count('data-testid="engagement-row"') == 1
    assert "別の代行" not in html
    url = reverse("administration:engagement_edit", args=[world.tea.slug, other_engagement.id])
    assert english.get(url).status_code == 404
    # The shop company sees both.
    english.force_login(tea_owner_admin)
    assert page(english.get(shop_url(world.tea))).count('data-testid="engagement-row"') == 2


# Invitations -------------------------------------------------------------------------------------


def test_shop_company_invites_and_another_agency_accepts(
    english, world, tea_owner_admin, other_agency
):
    agency, agency_admin = other_agency
    english.force_login(tea_owner_admin)
    invite_url = shop_url(world.tea, "engagement_invite")
    assert invite_url in page(english.get(shop_url(world.tea)))
    response = english.post(invite_url, {"mode": "embedded", "starts_on": "", "ends_on": ""})
    assert response.status_code == 200
    html = page(response)
    invitation = EngagementInvitation.objects.get()
    code = invitations.invitation_code(invitation)  # a fresh signature of the same invitation
    link = re.search(
        r'id="invitation-link" class="code-box" type="text" readonly value="([^"]+)"', html
    )
    assert link is not None
    assert link.group(1).startswith("http://testserver/settings/workspace/accept/?code=")
    assert AuditEntry.objects.get(action="engagement.invited").shop == world.tea

    english.force_login(agency_admin)
    accept_url = link.group(1).removeprefix("http://testserver")
    preview = page(english.get(accept_url))
    assert 'data-testid="invitation-preview"' in preview
    assert "山田園 茶舗" in preview and "Embedded (常駐型)" in preview
    response = english.post(
        reverse("administration:engagement_accept"), {"code": code, "agency": agency.id}
    )
    assert response.status_code == 302
    assert response["Location"] == WORKSPACE_URL
    engagement = Engagement.objects.get(agency=agency)
    assert (engagement.shop, engagement.mode) == (world.tea, "embedded")
    # The shop is on the agency's workspace page and its settings open.
    assert shop_url(world.tea) in page(english.get(WORKSPACE_URL))
    assert english.get(shop_url(world.tea)).status_code == 200


def test_a_used_code_is_refused_in_japanese_with_the_code_kept(
    client, world, tea_owner_admin, other_agency
):
    agency, agency_admin = other_agency
    _, code = invitations.engagement_invite(
        actor=actor_for_user(tea_owner_admin), shop=world.tea, mode="outsourced"
    )
    invitations.engagement_invitation_accept(
        actor=actor_for_user(agency_admin), code=code, agency=agency
    )
    third = factories.WorkspaceFactory(kind="agency")
    third_admin = factories.MembershipFactory(workspace=third, role=Role.ADMIN).user
    client.force_login(third_admin)
    response = client.post(
        reverse("administration:engagement_accept"), {"code": code, "agency": third.id}
    )
    assert response.status_code == 200
    html = page(response)
    assert "この招待はすでに承諾されています。" in html
    assert code in html
    assert not Engagement.objects.filter(agency=third).exists()


def test_a_forged_code_shows_the_problem(english, world, other_agency):
    english.force_login(other_agency[1])
    html = page(english.get(reverse("administration:engagement_accept") + "?code=abc:def"))
    assert 'data-testid="invitation-problem"' in html
    assert "This invitation code is not valid." in html


def test_invite_is_403_for_the_agency_and_accept_403_for_a_shop_company(
    english, world, tea_owner_admin
):
    english.force_login(world.admin)
    assert english.get(shop_url(world.tea, "engagement_invite")).status_code == 403
    assert shop_url(world.tea, "engagement_invite") not in page(english.get(shop_url(world.tea)))
    english.force_login(tea_owner_admin)
    assert english.get(reverse("administration:engagement_accept")).status_code == 403
    english.force_login(world.supervisor)
    assert english.get(reverse("administration:engagement_accept")).status_code == 403


def test_shop_company_cancels_an_invitation(english, world, tea_owner_admin):
    invitation, _ = invitations.engagement_invite(
        actor=actor_for_user(tea_owner_admin), shop=world.tea, mode="outsourced"
    )
    english.force_login(tea_owner_admin)
    html = page(english.get(shop_url(world.tea)))
    assert html.count('data-testid="invitation-row"') == 1
    url = reverse("administration:invitation_cancel", args=[world.tea.slug, invitation.id])
    english.post(url)
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None
    assert 'data-testid="invitation-row"' not in page(english.get(shop_url(world.tea)))
    # The agency's admin may not.
    english.force_login(world.admin)
    assert english.post(url).status_code == 403


# Categories and tags -----------------------------------------------------------------------------


def taxonomy_post(client, world, **data):
    return client.post(shop_url(world.tea, "taxonomy"), data)


def test_supervisor_adds_renames_and_removes_categories(english, world):
    english.force_login(world.supervisor)
    response = taxonomy_post(english, world, action="category_add", **{"category-name": "配送"})
    assert response.status_code == 302
    with in_shop(world.tea.id):
        category = Category.objects.get(shop=world.tea)
    taxonomy_post(english, world, action="category_rename", id=category.id, name="配送・送料")
    category.refresh_from_db()
    assert category.name == "配送・送料"
    world.tea_ticket.category = category
    world.tea_ticket.save(update_fields=["category"])
    response = taxonomy_post(english, world, action="category_delete", id=category.id)
    category.refresh_from_db()
    assert category.is_active is False  # in use: deactivated, not deleted
    follow = page(english.get(response["Location"]))
    assert "is in use, so it was deactivated instead" in follow
    assert [
        e.changes for e in AuditEntry.objects.filter(action="category.saved").order_by("id")
    ] == [
        {"name": [None, "配送"]},
        {"name": ["配送", "配送・送料"]},
        {"is_active": [True, False]},
    ]


def test_duplicate_category_rerenders_in_japanese_with_the_input_kept(client, world):
    client.force_login(world.admin)
    taxonomy_post(client, world, action="category_add", **{"category-name": "返品"})
    response = taxonomy_post(client, world, action="category_add", **{"category-name": "返品"})
    assert response.status_code == 200
    html = page(response)
    assert "同じ名前のカテゴリがすでにあります。" in html
    assert 'name="category-name" value="返品"' in html


def test_a_failed_rename_shows_on_its_row(client, world):
    client.force_login(world.admin)
    taxonomy_post(client, world, action="tag_add", **{"tag-name": "急ぎ"})
    taxonomy_post(client, world, action="tag_add", **{"tag-name": "至急"})
    with in_shop(world.tea.id):
        urgent = Tag.objects.get(name="急ぎ")
    response = taxonomy_post(client, world, action="tag_rename", id=urgent.id, name="至急")
    assert response.status_code == 200
    html = page(response)
    assert "同じ名前のタグがすでにあります。" in html
    assert 'value="至急" maxlength="50" aria-label="タグ名" aria-invalid="true"' in html


def test_a_tag_in_use_is_not_deleted(english, world):
    english.force_login(world.admin)
    taxonomy_post(english, world, action="tag_add", **{"tag-name": "急ぎ"})
    with in_shop(world.tea.id):
        tag = Tag.objects.get(shop=world.tea)
    world.tea_ticket.tags.add(tag)
    response = taxonomy_post(english, world, action="tag_delete", id=tag.id)
    assert "This tag is on tickets" in page(english.get(response["Location"]))
    with in_shop(world.tea.id):
        assert Tag.objects.filter(pk=tag.pk).exists()


def test_operator_reads_categories_and_cannot_change_them(english, world):
    english.force_login(world.operator_tea)
    response = english.get(shop_url(world.tea, "taxonomy"))
    assert response.status_code == 200
    html = page(response)
    assert 'data-testid="read-only"' in html
    assert 'data-testid="category-form"' not in html
    assert f'href="{shop_url(world.tea)}"' not in html  # not the page it may not open
    response = taxonomy_post(english, world, action="category_add", **{"category-name": "配送"})
    assert response.status_code == 403
    with in_shop(world.tea.id):
        assert not Category.objects.exists()


def test_client_gets_403_on_categories(english, world):
    english.force_login(world.client_tea)
    assert english.get(shop_url(world.tea, "taxonomy")).status_code == 403


def test_another_shops_category_id_is_404(english, world):
    with in_shop(world.ceramics.id):
        other = Category.objects.create(shop=world.ceramics, name="割れ")
    english.force_login(world.admin)
    response = taxonomy_post(english, world, action="category_delete", id=other.id)
    assert response.status_code == 404
    with in_shop(world.ceramics.id):
        assert Category.objects.filter(pk=other.pk).exists()
