"""Customers' contacts at rest: encrypted, found by their keyed digest, rotatable, migrated."""

import datetime as dt
import importlib
from io import StringIO
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django_scopes import scopes_disabled

from madoguchi.commerce.models import Order
from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_create
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.sending import recipient_for
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, make_mail
from madoguchi.conversations.models import Ticket
from madoguchi.core import secrets
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.normalize import identity_digest
from madoguchi.customers.services import (
    IdentityInput,
    customer_create,
    customer_find,
    customer_find_by_contacts,
)
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db

TOKYO = dt.timezone(dt.timedelta(hours=9))


def _keys(settings, *keys):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "SECRET_KEYS": list(keys)}


def _raw(table, columns, pk):
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {quote(table)} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()


def _hanako(shop):
    with in_shop(shop.id):
        return customer_create(
            shop=shop,
            name="佐藤 花子",
            identities=[
                IdentityInput(kind="email", value="Hanako.Sato@Example.jp"),
                IdentityInput(kind="phone", value="090-1234-5678"),
            ],
        )


def _order(shop, number="P-1"):
    with in_shop(shop.id):
        return order_create(
            shop=shop,
            data=OrderInput(
                number=number,
                placed_at=dt.datetime(2026, 11, 1, 10, 0, tzinfo=TOKYO),
                payment_method="bank_transfer",
                lines=[LineInput(name="煎茶", unit_price=3142)],
                source=Order.Source.PHONE,
                email="Hanako.Sato@Example.jp",
                address=AddressInput(
                    postal_code="150-0001",
                    prefecture="東京都",
                    address1="渋谷区神宮前1-1-1",
                    address2="青山ハイツ101",
                    name="佐藤 花子",
                    phone="090-1234-5678",
                ),
            ),
        )


def test_contacts_are_stored_encrypted_with_their_digest(world):
    customer = _hanako(world.tea)
    with in_shop(world.tea.id):
        email = ContactIdentity.objects.get(customer=customer, kind="email")
    value, display_value, digest = _raw(
        ContactIdentity._meta.db_table, ("value", "display_value", "value_digest"), email.pk
    )
    assert value.startswith("fernet:") and display_value.startswith("fernet:")
    assert "hanako" not in (value + display_value).lower()
    assert digest == identity_digest("email", "hanako.sato@example.jp")
    assert len(digest) == 64 and "hanako" not in digest
    # The application reads them in plain text.
    assert (email.value, email.display_value) == (
        "hanako.sato@example.jp",
        "Hanako.Sato@Example.jp",
    )


def test_an_orders_contacts_and_address_are_stored_encrypted(world):
    order = _order(world.tea)
    columns = (*Order.ENCRYPTED_FIELDS, "contact_email", "contact_phone", "shipping_prefecture")
    row = dict(zip(columns, _raw(Order._meta.db_table, columns, order.pk), strict=True))
    for name in Order.ENCRYPTED_FIELDS:
        assert row[name].startswith("fernet:"), name
    text = "".join(row.values())
    for plain in ("hanako", "Hanako", "150-0001", "神宮前", "青山", "5678"):
        assert plain not in text
    assert (row["contact_email"], row["contact_phone"], row["shipping_prefecture"]) == (
        identity_digest("email", "hanako.sato@example.jp"),
        identity_digest("phone", "09012345678"),
        "東京都",
    )
    with in_shop(world.tea.id):
        order = Order.objects.get(pk=order.pk)
    assert (order.shipping_address1, order.shipping_phone) == ("渋谷区神宮前1-1-1", "090-1234-5678")


def test_looking_up_an_encrypted_value_directly_is_refused(world):
    _hanako(world.tea)
    with in_shop(world.tea.id), pytest.raises(TypeError, match="look it up by its digest"):
        ContactIdentity.objects.filter(value="hanako.sato@example.jp").exists()
    with in_shop(world.tea.id), pytest.raises(TypeError, match="look it up by its digest"):
        Order.objects.filter(email__in=["hanako.sato@example.jp"]).exists()


def test_lookups_find_the_customer_by_digest_however_the_value_is_typed(world):
    customer = _hanako(world.tea)
    with in_shop(world.tea.id):
        by_email = customer_find(
            shop=world.tea,
            identities=[IdentityInput(kind="email", value=" HANAKO.sato@example.JP")],
        )
        by_phone = customer_find_by_contacts(shop=world.tea, phone="+81 90 1234 5678")
        assert (by_email, by_phone) == (customer, customer)
        # The order taken on the phone belongs to her.
        assert _order(world.tea).customer_id == customer.id
    with in_shop(world.ceramics.id):
        assert (
            customer_find_by_contacts(shop=world.ceramics, email="hanako.sato@example.jp") is None
        )


def test_a_mail_from_a_known_customer_finds_them_and_the_reply_goes_to_the_plain_address(
    world, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_PORT = 9  # nothing listens: queued mail stays queued
    mail_setup(world)
    customer = _hanako(world.tea)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_raw(
            shop_ids=[world.tea.id],
            raw=make_mail(sender="hanako.sato@example.jp", sender_name="花子"),
            source="imap",
        )
    with scopes_disabled():
        ticket = Ticket.objects.filter(shop=world.tea).exclude(pk=world.tea_ticket.pk).get()
        assert ticket.customer_id == customer.id
        assert Customer.objects.filter(shop=world.tea).count() == 2  # hers and the world's
        # The reply path reads the address decrypted (no mail of hers: her identity).
        assert recipient_for(ticket, None) == "hanako.sato@example.jp"


def test_rotation_reencrypts_contacts_and_they_stay_readable(world, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _keys(settings, old)
    customer = _hanako(world.tea)
    order = _order(world.tea)
    with in_shop(world.tea.id):
        email = ContactIdentity.objects.get(customer=customer, kind="email")
    before = _raw(ContactIdentity._meta.db_table, ("value", "value_digest"), email.pk)
    order_before = _raw(Order._meta.db_table, ("shipping_address1",), order.pk)
    _keys(settings, new, old)
    call_command("rotate_secrets", stdout=StringIO())
    after = _raw(ContactIdentity._meta.db_table, ("value", "value_digest"), email.pk)
    assert after[0] != before[0] and after[1] == before[1]  # the digest does not rotate
    assert _raw(Order._meta.db_table, ("shipping_address1",), order.pk) != order_before
    _keys(settings, new)  # the old key is gone: everything reads with the new one
    with in_shop(world.tea.id):
        assert ContactIdentity.objects.get(pk=email.pk).value == "hanako.sato@example.jp"
        assert Order.objects.get(pk=order.pk).shipping_address1 == "渋谷区神宮前1-1-1"
        assert customer_find_by_contacts(shop=world.tea, email="hanako.sato@example.jp") == customer


def test_a_new_hash_key_is_taken_up_by_rehash_digests(world, settings):
    customer = _hanako(world.tea)
    order = _order(world.tea, number="P-2")
    settings.MADOGUCHI = {**settings.MADOGUCHI, "HASH_KEY": "a-new-hash-key"}
    with in_shop(world.tea.id):
        assert customer_find_by_contacts(shop=world.tea, email="hanako.sato@example.jp") is None
    output = StringIO()
    call_command("rehash_digests", stdout=output)
    assert output.getvalue() == "4 digests recomputed.\n"  # two identities, two order keys
    with in_shop(world.tea.id):
        assert customer_find_by_contacts(shop=world.tea, email="hanako.sato@example.jp") == customer
        order.refresh_from_db()
    assert order.contact_phone == identity_digest("phone", "09012345678")


def _migration(name):
    return importlib.import_module(name)


def test_the_migration_encrypts_plain_contacts_and_back(world):
    customer = _hanako(world.tea)
    with in_shop(world.tea.id):
        phone = ContactIdentity.objects.get(customer=customer, kind="phone")
        ContactIdentity.objects.filter(customer=customer, kind="email").delete()
    table = connection.ops.quote_name(ContactIdentity._meta.db_table)
    with connection.cursor() as cursor:  # as the rows were before the migration
        cursor.execute(
            f"UPDATE {table} SET value = %s, display_value = %s, value_digest = ''"  # noqa: S608
            " WHERE id = %s",
            ["09012345678", "090-1234-5678", phone.pk],
        )
    migration = _migration("madoguchi.customers.migrations.0003_identity_values_encrypted")
    editor = SimpleNamespace(connection=connection)
    migration.encrypt_values(apps, editor)
    value, display_value, digest = _raw(
        ContactIdentity._meta.db_table, ("value", "display_value", "value_digest"), phone.pk
    )
    assert (secrets.decrypt(value), secrets.decrypt(display_value)) == (
        "09012345678",
        "090-1234-5678",
    )
    assert value.startswith("fernet:") and digest == identity_digest("phone", "09012345678")
    migration.encrypt_values(apps, editor)  # again: nothing is encrypted twice
    assert secrets.decrypt(_raw(ContactIdentity._meta.db_table, ("value",), phone.pk)[0]) == (
        "09012345678"
    )
    with in_shop(world.tea.id):
        assert customer_find_by_contacts(shop=world.tea, phone="090-1234-5678") == customer
    migration.decrypt_values(apps, editor)
    assert _raw(
        ContactIdentity._meta.db_table, ("value", "display_value", "value_digest"), phone.pk
    ) == ("09012345678", "090-1234-5678", "")


def test_the_migration_encrypts_plain_orders_and_back(world):
    order = _order(world.tea)
    plain = {
        "email": "Hanako.Sato@Example.jp",
        "shipping_postal_code": "150-0001",
        "shipping_address1": "渋谷区神宮前1-1-1",
        "shipping_address2": "青山ハイツ101",
        "shipping_phone": "090-1234-5678",
    }
    quote = connection.ops.quote_name
    table = quote(Order._meta.db_table)
    assignments = ", ".join(f"{quote(column)} = %s" for column in plain)
    with connection.cursor() as cursor:  # as the row was before the migration
        cursor.execute(
            f"UPDATE {table} SET {assignments}, contact_email = %s, contact_phone = %s"  # noqa: S608
            " WHERE id = %s",
            [*plain.values(), "hanako.sato@example.jp", "09012345678", order.pk],
        )
    migration = _migration("madoguchi.commerce.migrations.0004_order_contacts_encrypted")
    editor = SimpleNamespace(connection=connection)
    migration.encrypt_orders(apps, editor)
    columns = (*plain, "contact_email", "contact_phone")
    row = dict(zip(columns, _raw(Order._meta.db_table, columns, order.pk), strict=True))
    assert {name: secrets.decrypt(row[name]) for name in plain} == plain
    assert all(row[name].startswith("fernet:") for name in plain)
    assert (row["contact_email"], row["contact_phone"]) == (
        identity_digest("email", "hanako.sato@example.jp"),
        identity_digest("phone", "09012345678"),
    )
    migration.decrypt_orders(apps, editor)
    assert _raw(Order._meta.db_table, columns, order.pk) == (
        *plain.values(),
        "hanako.sato@example.jp",
        "09012345678",
    )
