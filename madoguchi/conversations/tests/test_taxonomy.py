"""A shop's categories and tags: add, rename, deactivate, delete; audited; leads only."""

import pytest
from django.utils import translation
from django.utils.translation import gettext

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations import taxonomy
from madoguchi.conversations.models import Category, Tag
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.operations.models import ReplyTemplate
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped


@pytest.fixture
def tea_scope(world):
    with in_shop(world.tea.id):
        yield


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_supervisor_adds_and_renames_a_category_with_audit(world, tea_scope):
    lead = actor_for_user(world.supervisor)
    category = taxonomy.category_save(actor=lead, shop=world.tea, name="  配送  について ")
    assert (category.shop, category.name, category.is_active) == (world.tea, "配送 について", True)
    taxonomy.category_save(actor=lead, shop=world.tea, category=category, name="配送")
    category.refresh_from_db()
    assert category.name == "配送"
    added, renamed = entries("category.saved")
    assert added.changes == {"name": [None, "配送 について"]}
    assert renamed.changes == {"name": ["配送 について", "配送"]}
    assert (renamed.shop, renamed.target_id) == (world.tea, str(category.id))


def test_a_duplicate_category_name_is_refused_in_japanese(world, tea_scope):
    lead = actor_for_user(world.admin)
    taxonomy.category_save(actor=lead, shop=world.tea, name="返品")
    with pytest.raises(ValidationError) as refused:
        taxonomy.category_save(actor=lead, shop=world.tea, name="返品")
    with translation.override("ja"):
        assert gettext(refused.value.message) == "同じ名前のカテゴリがすでにあります。"
    assert Category.objects.filter(shop=world.tea).count() == 1


def test_the_same_name_in_another_shop_is_fine(world):
    lead = actor_for_user(world.admin)
    with in_shop(world.tea.id):
        taxonomy.category_save(actor=lead, shop=world.tea, name="返品")
    with in_shop(world.ceramics.id):
        taxonomy.category_save(actor=lead, shop=world.ceramics, name="返品")
    with unscoped("test assertion"):
        assert Category.objects.filter(name="返品").count() == 2


def test_an_unused_category_is_deleted(world, tea_scope):
    lead = actor_for_user(world.admin)
    category = taxonomy.category_save(actor=lead, shop=world.tea, name="その他")
    category_id = category.id
    assert taxonomy.category_delete(actor=lead, category=category) is True
    assert not Category.objects.filter(shop=world.tea).exists()
    [deleted] = entries("category.deleted")
    assert deleted.changes == {"name": ["その他", None], "is_active": [True, None]}
    assert (deleted.target_type, deleted.target_id) == ("conversations.category", str(category_id))


def test_a_category_on_a_ticket_is_deactivated_instead(world, tea_scope):
    lead = actor_for_user(world.admin)
    category = taxonomy.category_save(actor=lead, shop=world.tea, name="配送")
    world.tea_ticket.category = category
    world.tea_ticket.save(update_fields=["category"])

    assert taxonomy.category_delete(actor=lead, category=category) is False
    category.refresh_from_db()
    assert category.is_active is False
    world.tea_ticket.refresh_from_db()
    assert world.tea_ticket.category == category
    assert entries("category.deleted") == []
    assert entries("category.saved")[-1].changes == {"is_active": [True, False]}
    # New tickets cannot choose it; the ticket that has it keeps it in its choices.
    assert list(taxonomy.choosable_categories(shop_id=world.tea.id)) == []
    assert list(taxonomy.choosable_categories(shop_id=world.tea.id, keep_id=category.id)) == [
        category
    ]


def test_a_category_a_reply_template_sets_is_deactivated_instead(world, tea_scope):
    lead = actor_for_user(world.admin)
    category = taxonomy.category_save(actor=lead, shop=world.tea, name="お礼")
    ReplyTemplate.objects.create(
        shop=world.tea, name="お礼", body="ありがとうございます。", set_category=category
    )
    assert taxonomy.category_delete(actor=lead, category=category) is False
    category.refresh_from_db()
    assert category.is_active is False


def test_a_deactivated_category_comes_back(world, tea_scope):
    lead = actor_for_user(world.supervisor)
    category = taxonomy.category_save(actor=lead, shop=world.tea, name="配送")
    taxonomy.category_set_active(actor=lead, category=category, is_active=False)
    taxonomy.category_set_active(actor=lead, category=category, is_active=True)
    category.refresh_from_db()
    assert category.is_active is True
    assert [e.changes for e in entries("category.saved")][1:] == [
        {"is_active": [True, False]},
        {"is_active": [False, True]},
    ]


def test_operators_and_clients_cannot_change_categories(world, tea_scope):
    for user in (world.operator_tea, world.client_tea):
        with pytest.raises(PermissionDeniedError):
            taxonomy.category_save(actor=actor_for_user(user), shop=world.tea, name="配送")
    assert not Category.objects.filter(shop=world.tea).exists()


def test_a_tag_in_use_is_not_deleted_but_can_be_renamed(world, tea_scope):
    lead = actor_for_user(world.admin)
    tag = taxonomy.tag_save(actor=lead, shop=world.tea, name="急ぎ")
    world.tea_ticket.tags.add(tag)
    with pytest.raises(ValidationError) as refused:
        taxonomy.tag_delete(actor=lead, tag=tag)
    assert refused.value.message == "This tag is on tickets; it can be renamed, but not deleted."
    taxonomy.tag_save(actor=lead, shop=world.tea, tag=tag, name="至急")
    assert [t.name for t in world.tea_ticket.tags.all()] == ["至急"]
    assert [e.changes for e in entries("tag.saved")] == [
        {"name": [None, "急ぎ"]},
        {"name": ["急ぎ", "至急"]},
    ]


def test_an_unused_tag_is_deleted(world, tea_scope):
    lead = actor_for_user(world.admin)
    tag = taxonomy.tag_save(actor=lead, shop=world.tea, name="キャンペーン")
    taxonomy.tag_delete(actor=lead, tag=tag)
    assert not Tag.objects.filter(shop=world.tea).exists()
    [deleted] = entries("tag.deleted")
    assert deleted.changes == {"name": ["キャンペーン", None]}


def test_reads_count_tickets_per_category_and_tag(world, tea_scope):
    lead = actor_for_user(world.admin)
    shipping = taxonomy.category_save(actor=lead, shop=world.tea, name="配送")
    taxonomy.category_save(actor=lead, shop=world.tea, name="返品")
    world.tea_ticket.category = shipping
    world.tea_ticket.save(update_fields=["category"])
    urgent = taxonomy.tag_save(actor=lead, shop=world.tea, name="急ぎ")
    world.tea_ticket.tags.add(urgent)

    rows = taxonomy.shop_categories(shop=world.tea)
    assert [(r.name, r.is_active, r.ticket_count) for r in rows] == [
        ("返品", True, 0),
        ("配送", True, 1),
    ]
    assert [(r.name, r.ticket_count) for r in taxonomy.shop_tags(shop=world.tea)] == [("急ぎ", 1)]


def test_another_shops_category_is_not_found(world):
    lead = actor_for_user(world.admin)
    with in_shop(world.ceramics.id):
        other = taxonomy.category_save(actor=lead, shop=world.ceramics, name="割れ")
    with in_shop(world.tea.id), pytest.raises(NotFoundError):
        taxonomy.access_category(shop=world.tea, category_id=other.id)
    with in_shop(world.tea.id), pytest.raises(NotFoundError):
        taxonomy.category_save(actor=lead, shop=world.tea, category=other, name="x")
