"""Secrets at rest: IMAP/SMTP passwords, LINE tokens and webhook secrets are stored encrypted.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, keyed by
`MADOGUCHI_SECRET_KEYS`: a comma-separated list of Fernet keys, the first of which encrypts and
all of which decrypt (`MultiFernet`), so a key is rotated by putting a new one first and running
`madoguchi rotate_secrets`. Without the variable (the embedded default) one key is derived from
`SECRET_KEY`. A stored value is the Fernet token prefixed with `fernet:`; anything else in the
column is read as plain text written before encryption existed, and `rotate_secrets` encrypts it.

A secret is shown to nobody after it is saved: forms leave the field empty and keep the stored
value when it is left empty (`keep_secret`).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(f"madoguchi-secrets:{secret_key}".encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "MADOGUCHI_SECRET_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes each)."
        ) from error


def cipher() -> MultiFernet:
    keys = tuple(key for key in settings.MADOGUCHI.get("SECRET_KEYS", ()) if key)
    return _cipher(keys, settings.SECRET_KEY)


def encrypt(value: str) -> str:
    """Return `value` encrypted for storage (empty stays empty)."""
    if not value:
        return ""
    return PREFIX + cipher().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    """Return the plain text of a stored value; a value without the prefix is plain already."""
    if not stored or not stored.startswith(PREFIX):
        return stored
    try:
        return cipher().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: MADOGUCHI_SECRET_KEYS lacks the key it was"
            " encrypted with."
        ) from error


def rotate(stored: str) -> str:
    """Return the stored value re-encrypted with the first key (plain text gets encrypted)."""
    if not stored:
        return stored
    if not stored.startswith(PREFIX):
        return encrypt(stored)
    return PREFIX + cipher().rotate(stored[len(PREFIX) :].encode()).decode()


def new_key() -> str:
    """Return a fresh Fernet key for MADOGUCHI_SECRET_KEYS."""
    return Fernet.generate_key().decode()


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column whose value is encrypted in the database and plain text in Python."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if isinstance(value, str) and value.startswith(PREFIX):
            return value
        return encrypt(str(value))


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) stored with `EncryptedTextField`, for key rotation."""
    from django.apps import apps

    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedTextField)
    ]


def keep_secret(submitted: str, stored: str) -> str:
    """Return the submitted secret, or the stored one when the form field was left empty."""
    return submitted if submitted else stored


def encrypt_columns(app_label: str, model_name: str, columns: tuple[str, ...]) -> Any:
    """A migration operation that encrypts the plain values stored in `columns` (and decrypts
    them when migrated back), for a column that becomes an `EncryptedTextField`.

    The values are rewritten in SQL, so the field's own conversion cannot interfere.
    """
    from django.db import migrations

    def rewrite(apps: Any, schema_editor: Any, change: Any) -> None:
        quote = schema_editor.connection.ops.quote_name
        table = quote(apps.get_model(app_label, model_name)._meta.db_table)
        names = ", ".join(quote(column) for column in columns)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"SELECT id, {names} FROM {table}")  # noqa: S608 - our own names
            for pk, *stored in cursor.fetchall():
                for column, value in zip(columns, stored, strict=True):
                    new = change(value or "")
                    if new != (value or ""):
                        cursor.execute(
                            f"UPDATE {table} SET {quote(column)} = %s WHERE id = %s",  # noqa: S608
                            [new, pk],
                        )

    def forwards(apps: Any, schema_editor: Any) -> None:
        rewrite(
            apps, schema_editor, lambda value: value if value.startswith(PREFIX) else encrypt(value)
        )

    def backwards(apps: Any, schema_editor: Any) -> None:
        rewrite(apps, schema_editor, decrypt)

    return migrations.RunPython(forwards, backwards)
