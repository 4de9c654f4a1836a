"""Tenancy services with real rows: shops, engagements, invitations, archiving, audit."""

import datetime as dt

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.tenancy import services
from madoguchi.tenancy.access import access_shop, actor_for_user, visible_shops
from madoguchi.tenancy.models import Engagement, Membership, Shop, Workspace

Role = Membership.Role
Mode = Engagement.Mode


def actor(user):
    return actor_for_user(user)


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


@pytest.fixture
def tea_owner_admin(world):
    """An admin of the tea shop's own company (山田園)."""
    return factories.MembershipFactory(workspace=world.tea.workspace, role=Role.ADMIN).user


@pytest.fixture
def other_agency(db):
    agency = factories.WorkspaceFactory(name="北海サポート", slug="hokkai", kind="agency")
    admin = factories.MembershipFactory(workspace=agency, role=Role.ADMIN).user
    return agency, admin


# Shops -------------------------------------------------------------------------------------------


def test_agency_admin_creates_a_client_shop_with_its_company_and_engagement(world):
    today = timezone.localdate()
    shop = services.shop_create(
        actor=actor(world.admin),
        workspace=world.agency,
        name="Sakura Tea 本店",
        ticket_prefix="skr",
        client_name="桜茶舗株式会社",
        mode=Mode.EMBEDDED,
        ends_on=today + dt.timedelta(days=365),
    )
    client = shop.workspace
    assert (client.name, client.kind, client.slug) == ("桜茶舗株式会社", "merchant", "ws-4")
    assert (shop.name, shop.ticket_prefix, shop.slug) == ("Sakura Tea 本店", "SKR", "sakura-tea")
    engagement = Engagement.objects.get(shop=shop)
    assert (engagement.agency, engagement.mode) == (world.agency, Mode.EMBEDDED)
    assert (engagement.starts_on, engagement.ends_on) == (today, today + dt.timedelta(days=365))
    # The agency admin works the new shop from today.
    assert actor(world.admin).role_for(shop.id) == Role.ADMIN

    [created_workspace] = entries("workspace.created")
    assert created_workspace.changes == {
        "name": [None, "桜茶舗株式会社"],
        "kind": [None, "merchant"],
    }
    [created_shop] = entries("shop.created")
    assert created_shop.shop == shop
    assert created_shop.changes == {
        "name": [None, "Sakura Tea 本店"],
        "ticket_prefix": [None, "SKR"],
        "workspace": [None, "桜茶舗株式会社"],
    }
    [created_engagement] = entries("engagement.created")
    assert created_engagement.actor == world.admin
    assert created_engagement.changes == {
        "agency": [None, "窓口サポート"],
        "mode": [None, "embedded"],
        "starts_on": [None, today.isoformat()],
        "ends_on": [None, (today + dt.timedelta(days=365)).isoformat()],
    }


def test_merchant_admin_creates_its_own_shop_with_a_slug_from_the_prefix(world, tea_owner_admin):
    shop = services.shop_create(
        actor=actor(tea_owner_admin),
        workspace=world.tea.workspace,
        name="山田園 楽天市場店",
        ticket_prefix="ｔｅａ２",  # full-width, as a Japanese keyboard types it
    )
    assert (shop.workspace, shop.ticket_prefix, shop.slug) == (world.tea.workspace, "TEA2", "tea2")
    assert not Engagement.objects.filter(shop=shop).exists()
    assert actor(tea_owner_admin).role_for(shop.id) == Role.ADMIN


def test_a_taken_prefix_is_refused_in_japanese(world):
    with pytest.raises(ValidationError) as refused:
        services.shop_create(
            actor=actor(world.admin),
            workspace=world.agency,
            name="別の店",
            ticket_prefix="tea",
            client_name="別会社",
        )
    assert refused.value.message == "Another shop uses this ticket prefix."
    with translation.override("ja"):
        assert gettext(refused.value.message) == "このチケット接頭辞は他のショップが使っています。"
    assert Shop.objects.count() == 2
    assert Workspace.objects.count() == 3  # the client company was rolled back too


@pytest.mark.parametrize("prefix", ["T", "TOO-LONG-PREFIX", "TE A", "日本"])
def test_a_malformed_prefix_is_refused(world, prefix):
    with pytest.raises(ValidationError) as refused:
        services.clean_ticket_prefix(prefix)
    assert refused.value.message == services.PREFIX_INVALID


def test_supervisor_and_strangers_cannot_create_shops(world, other_agency):
    with pytest.raises(PermissionDeniedError):
        services.shop_create(
            actor=actor(world.supervisor),
            workspace=world.agency,
            name="店",
            ticket_prefix="ABC",
            client_name="会社",
        )
    _, stranger = other_agency
    with pytest.raises(NotFoundError):
        services.shop_create(
            actor=actor(stranger),
            workspace=world.agency,
            name="店",
            ticket_prefix="ABC",
            client_name="会社",
        )
    assert Shop.objects.count() == 2


def test_shop_update_records_before_and_after(world):
    services.shop_update(
        actor=actor(world.admin),
        shop=world.tea,
        name="山田園 茶舗 本店",
        ticket_prefix="TEA",
        time_zone="Asia/Tokyo",
        default_language="en",
    )
    world.tea.refresh_from_db()
    assert (world.tea.name, world.tea.default_language) == ("山田園 茶舗 本店", "en")
    [entry] = entries("shop.updated")
    assert entry.shop == world.tea
    assert entry.changes == {
        "name": ["山田園 茶舗", "山田園 茶舗 本店"],
        "default_language": ["ja", "en"],
    }


def test_shop_update_refuses_an_unknown_time_zone_and_another_shops_prefix(world):
    admin = actor(world.admin)
    fields = {"name": "山田園", "time_zone": "Asia/Tokyo", "default_language": "ja"}
    with pytest.raises(ValidationError) as refused:
        services.shop_update(
            actor=admin, shop=world.tea, ticket_prefix="TEA", **{**fields, "time_zone": "Asia/Edo"}
        )
    assert refused.value.message == "Unknown time zone."
    with pytest.raises(ValidationError) as refused:
        services.shop_update(actor=admin, shop=world.tea, ticket_prefix="CER", **fields)
    assert refused.value.message == "Another shop uses this ticket prefix."
    world.tea.refresh_from_db()
    assert (world.tea.name, world.tea.ticket_prefix) == ("山田園 茶舗", "TEA")
    assert entries("shop.updated") == []


def test_only_admins_change_a_shop(world):
    fields = {
        "name": "x",
        "ticket_prefix": "TEA",
        "time_zone": "Asia/Tokyo",
        "default_language": "ja",
    }
    for user in (world.supervisor, world.operator_tea, world.client_tea):
        with pytest.raises(PermissionDeniedError):
            services.shop_update(actor=actor(user), shop=world.tea, **fields)


def test_archived_shop_leaves_the_lists_but_stays_reachable_and_comes_back(world):
    admin = actor(world.admin)
    services.shop_archive(actor=admin, shop=world.tea)
    world.tea.refresh_from_db()
    assert world.tea.archived_at is not None
    assert [shop.slug for shop in visible_shops(actor(world.admin))] == ["ceramics"]
    # Its data and its settings page stay: the grant is unchanged.
    assert access_shop(actor=actor(world.admin), slug="tea") == world.tea
    [archived] = entries("shop.archived")
    assert archived.changes == {"archived_at": [None, world.tea.archived_at.isoformat()]}

    services.shop_unarchive(actor=admin, shop=world.tea)
    world.tea.refresh_from_db()
    assert world.tea.archived_at is None
    assert [shop.slug for shop in visible_shops(actor(world.admin))] == ["tea", "ceramics"]
    [unarchived] = entries("shop.unarchived")
    assert unarchived.changes == {"archived_at": [archived.changes["archived_at"][1], None]}


def test_supervisor_cannot_archive(world):
    with pytest.raises(PermissionDeniedError):
        services.shop_archive(actor=actor(world.supervisor), shop=world.tea)
    world.tea.refresh_from_db()
    assert world.tea.archived_at is None


# Workspaces --------------------------------------------------------------------------------------


def test_workspace_update_records_the_rename(world):
    services.workspace_update(
        actor=actor(world.admin), workspace=world.agency, name=" 窓口  サポート "
    )
    world.agency.refresh_from_db()
    assert world.agency.name == "窓口 サポート"
    [entry] = entries("workspace.updated")
    assert entry.changes == {"name": ["窓口サポート", "窓口 サポート"]}


def test_workspace_update_is_for_its_admins(world):
    with pytest.raises(PermissionDeniedError):
        services.workspace_update(actor=actor(world.supervisor), workspace=world.agency, name="x")
    with pytest.raises(NotFoundError):
        services.workspace_update(actor=actor(world.admin), workspace=world.tea.workspace, name="x")


# Engagements -------------------------------------------------------------------------------------


def test_engagement_update_and_end_record_before_and_after(world):
    engagement = Engagement.objects.get(shop=world.tea)
    starts_on = engagement.starts_on
    services.engagement_update(
        actor=actor(world.admin),
        engagement=engagement,
        mode=Mode.EMBEDDED,
        starts_on=starts_on,
        ends_on=None,
    )
    [updated] = entries("engagement.updated")
    assert updated.changes == {"mode": ["outsourced", "embedded"]}

    last_day = timezone.localdate() + dt.timedelta(days=30)
    services.engagement_end(actor=actor(world.admin), engagement=engagement, ends_on=last_day)
    engagement.refresh_from_db()
    assert engagement.ends_on == last_day
    [ended] = entries("engagement.ended")
    assert ended.shop == world.tea
    assert ended.changes == {"ends_on": [None, last_day.isoformat()]}


def test_ended_engagement_takes_the_shop_away_the_day_after(world):
    engagement = Engagement.objects.get(shop=world.tea)
    today = timezone.localdate()
    services.engagement_end(actor=actor(world.admin), engagement=engagement, ends_on=today)
    assert world.tea.id in actor_for_user(world.admin, on=today).grants
    assert world.tea.id not in actor_for_user(world.admin, on=today + dt.timedelta(days=1)).grants


def test_engagement_end_before_its_start_is_refused(world):
    engagement = Engagement.objects.get(shop=world.tea)
    with pytest.raises(ValidationError) as refused:
        services.engagement_end(
            actor=actor(world.admin),
            engagement=engagement,
            ends_on=engagement.starts_on - dt.timedelta(days=1),
        )
    assert refused.value.message == "The end date must not be before the start date."


def test_supervisor_reads_but_cannot_change_engagements(world):
    engagement = Engagement.objects.get(shop=world.tea)
    with pytest.raises(PermissionDeniedError):
        services.engagement_end(
            actor=actor(world.supervisor), engagement=engagement, ends_on=timezone.localdate()
        )
    assert entries("engagement.ended") == []


def test_the_shop_company_admin_may_end_the_agency_engagement(world, tea_owner_admin):
    engagement = Engagement.objects.get(shop=world.tea)
    today = timezone.localdate()
    services.engagement_end(actor=actor(tea_owner_admin), engagement=engagement, ends_on=today)
    engagement.refresh_from_db()
    assert engagement.ends_on == today


def test_workspace_roles_are_on_the_actor(world, tea_owner_admin):
    assert actor(world.admin).workspace_roles == {world.agency.id: Role.ADMIN}
    assert actor(world.client_tea).workspace_roles == {world.tea.workspace_id: Role.CLIENT}
