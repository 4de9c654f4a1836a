"""Secrets at rest: Fernet tokens keyed from the environment, rotatable, plain text readable."""

from io import StringIO
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from madoguchi.core import secrets


def _keys(settings, *keys: str) -> None:  # type: ignore[no-untyped-def]
    settings.MADOGUCHI = {**settings.MADOGUCHI, "SECRET_KEYS": list(keys)}


def test_a_value_is_stored_encrypted_and_read_back(settings) -> None:
    _keys(settings, Fernet.generate_key().decode())
    stored = secrets.encrypt("imap-app-password")
    assert stored.startswith("fernet:")
    assert "imap-app-password" not in stored
    assert secrets.decrypt(stored) == "imap-app-password"


def test_empty_stays_empty_and_plain_text_reads_as_plain(settings) -> None:
    assert secrets.encrypt("") == ""
    assert secrets.decrypt("") == ""
    assert secrets.decrypt("written-before-encryption") == "written-before-encryption"


def test_without_keys_the_key_comes_from_the_secret_key(settings) -> None:
    _keys(settings)
    stored = secrets.encrypt("token")
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(ImproperlyConfigured, match="lacks the key"):
        secrets.decrypt(stored)


def test_rotation_reencrypts_with_the_new_first_key(settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _keys(settings, old)
    stored = secrets.encrypt("line-channel-secret")
    _keys(settings, new, old)
    rotated = secrets.rotate(stored)
    assert rotated != stored
    _keys(settings, new)
    assert secrets.decrypt(rotated) == "line-channel-secret"
    with pytest.raises(ImproperlyConfigured):
        secrets.decrypt(stored)


def test_rotation_encrypts_plain_text(settings) -> None:
    _keys(settings, Fernet.generate_key().decode())
    rotated = secrets.rotate("plain")
    assert rotated.startswith("fernet:")
    assert secrets.decrypt(rotated) == "plain"


def test_a_malformed_key_is_a_configuration_error(settings) -> None:
    _keys(settings, "not-a-fernet-key")
    with pytest.raises(ImproperlyConfigured, match="Fernet keys"):
        secrets.encrypt("x")


def test_keep_secret_keeps_the_stored_value_when_left_empty() -> None:
    assert secrets.keep_secret("", "stored") == "stored"
    assert secrets.keep_secret("new", "stored") == "new"


def _raw_password(mailbox_id: int) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM mail_mailbox WHERE id = %s", [mailbox_id])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_rotate_secrets_reencrypts_stored_rows_with_the_new_key(world, settings) -> None:
    from django.core.management import call_command

    from madoguchi.connectors.mail.models import Mailbox
    from madoguchi.tenancy.scoping import unscoped

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _keys(settings, old)
    with unscoped("test setup"):
        mailbox = Mailbox.objects.create(
            shop=world.tea, name="受信箱", host="imap.example.jp", username="u", password="app-pw"
        )
    stored = _raw_password(mailbox.id)
    assert stored.startswith("fernet:") and "app-pw" not in stored

    _keys(settings, new, old)
    call_command("rotate_secrets", stdout=StringIO())
    _keys(settings, new)  # the old key retired
    with unscoped("test assertion"):
        assert Mailbox.objects.get(pk=mailbox.pk).password == "app-pw"
    assert _raw_password(mailbox.id) != stored


@pytest.mark.django_db
def test_the_migration_operation_encrypts_plain_values_and_decrypts_them_back(world) -> None:
    from django.apps import apps
    from django.db import connection

    from madoguchi.connectors.mail.models import Mailbox
    from madoguchi.tenancy.scoping import unscoped

    with unscoped("test setup"):
        mailbox = Mailbox.objects.create(
            shop=world.tea, name="受信箱", host="imap.example.jp", username="u", password="x"
        )
    with connection.cursor() as cursor:  # a password stored before encryption existed
        cursor.execute("UPDATE mail_mailbox SET password = %s WHERE id = %s", ["plain", mailbox.id])
    operation = secrets.encrypt_columns("mail", "Mailbox", ("password",))
    editor = SimpleNamespace(connection=connection)  # what the operation uses of a schema editor
    operation.code(apps, editor)
    encrypted = _raw_password(mailbox.id)
    operation.code(apps, editor)  # a second run leaves encrypted values alone
    assert _raw_password(mailbox.id) == encrypted
    assert encrypted.startswith("fernet:")
    assert secrets.decrypt(encrypted) == "plain"
    operation.reverse_code(apps, editor)
    assert _raw_password(mailbox.id) == "plain"
