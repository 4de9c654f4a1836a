"""Data migrations of operations, run forward (and back) on real rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("operations", "0005_routingsettings_channel_modes_and_more")
AFTER = ("operations", "0006_calendar_time_zone_is_the_shops")


def _migrate(target):
    """Migrate operations to `target` (every other app stays at its latest); its models."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != target[0]]
    executor.migrate([*others, target])
    return executor.loader.project_state([*others, target]).apps


@pytest.mark.django_db(transaction=True)
def test_the_calendars_time_zone_moves_to_the_shop():
    apps = _migrate(BEFORE)
    try:
        workspace = apps.get_model("tenancy", "Workspace")._base_manager.create(
            name="山田園", slug="yamada-en", kind="merchant"
        )
        shops = apps.get_model("tenancy", "Shop")._base_manager
        calendars = apps.get_model("operations", "BusinessCalendarSettings")._base_manager
        # (shop's zone, calendar's zone or None for no calendar row) -> the one zone after.
        cases = {
            "SAME": ("Asia/Tokyo", "Asia/Tokyo"),
            "CAL": ("Asia/Tokyo", "Asia/Seoul"),  # chosen on the calendar page only
            "SHOP": ("Europe/London", "Asia/Tokyo"),  # chosen on the shop page only
            "BOTH": ("Europe/London", "Asia/Seoul"),  # both chosen: what the clocks used
            "NONE": ("Europe/London", None),
        }
        for prefix, (shop_zone, calendar_zone) in cases.items():
            shop = shops.create(
                workspace=workspace,
                name=prefix,
                slug=prefix.lower(),
                ticket_prefix=prefix,
                time_zone=shop_zone,
            )
            if calendar_zone is not None:
                calendars.create(shop=shop, time_zone=calendar_zone)
        apps = _migrate(AFTER)
        zones = dict(
            apps.get_model("tenancy", "Shop")._base_manager.values_list(
                "ticket_prefix", "time_zone"
            )
        )
        assert zones == {
            "SAME": "Asia/Tokyo",
            "CAL": "Asia/Seoul",
            "SHOP": "Europe/London",
            "BOTH": "Asia/Seoul",
            "NONE": "Europe/London",
        }
        field_names = {
            field.name
            for field in apps.get_model("operations", "BusinessCalendarSettings")._meta.fields
        }
        assert "time_zone" not in field_names
        # Backwards, each calendar gets its shop's zone again.
        apps = _migrate(BEFORE)
        calendars = apps.get_model("operations", "BusinessCalendarSettings")._base_manager
        assert sorted(calendars.values_list("shop__ticket_prefix", "time_zone")) == [
            ("BOTH", "Asia/Seoul"),
            ("CAL", "Asia/Seoul"),
            ("SAME", "Asia/Tokyo"),
            ("SHOP", "Europe/London"),
        ]
    finally:
        _migrate_to_latest()


def _migrate_to_latest():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_after_hours_texts_stay_approved_only_if_a_lead_saved_them():
    apps = _migrate(AFTER)
    try:
        tenancy = apps.get_model("tenancy", "Workspace")._base_manager
        users = apps.get_model("accounts", "User")._base_manager
        memberships = apps.get_model("tenancy", "Membership")._base_manager
        workspace = tenancy.create(name="山田園", slug="yamada-en", kind="merchant")
        agency = tenancy.create(name="代行", slug="agency", kind="agency")
        shops = apps.get_model("tenancy", "Shop")._base_manager
        apps.get_model("tenancy", "Engagement")._base_manager.create(
            agency=agency,
            shop=shops.create(workspace=workspace, name="A", slug="a", ticket_prefix="A"),
            mode="outsourced",
            starts_on="2026-01-01",
        )
        roles = {"owner": ("admin", workspace), "lead": ("supervisor", agency)}
        roles |= {"operator": ("operator", agency), "gone": ("supervisor", agency)}
        people = {}
        for name, (role, where) in roles.items():
            people[name] = users.create(email=f"{name}@example.jp")
            memberships.create(
                user=people[name], workspace=where, role=role, is_active=name != "gone"
            )
        after_hours = apps.get_model("operations", "AfterHoursSettings")._base_manager
        entries = apps.get_model("audit", "AuditEntry")._base_manager
        # (who saved the text last, or None for no audit entry) per shop.
        cases = {"A": "lead", "B": "owner", "C": "operator", "D": "gone", "E": None}
        for prefix, who in cases.items():
            shop = shops.filter(slug=prefix.lower()).first() or shops.create(
                workspace=workspace, name=prefix, slug=prefix.lower(), ticket_prefix=prefix
            )
            row = after_hours.create(shop=shop, is_enabled=True, body=f"{prefix} の文面")
            if who is not None:
                entries.create(
                    occurred_at="2026-11-01T00:00:00Z",
                    actor=people[who],
                    action="after_hours.changed",
                    shop=shop,
                    target_type="operations.afterhourssettings",
                    target_id=str(row.pk),
                )
        apps = _migrate(("operations", "0007_after_hours_text_approved"))
        approved = dict(
            apps.get_model("operations", "AfterHoursSettings")._base_manager.values_list(
                "shop__ticket_prefix", "body_approved_by__email"
            )
        )
        assert approved == {
            "A": "lead@example.jp",
            "B": "owner@example.jp",
            "C": None,
            "D": None,
            "E": None,
        }
    finally:
        _migrate_to_latest()
