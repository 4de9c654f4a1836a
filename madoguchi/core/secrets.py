"""Secrets at rest: IMAP/SMTP passwords, LINE tokens and webhook secrets are stored encrypted.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, keyed by
`MADOGUCHI_SECRET_KEYS`: a comma-separated list of Fernet keys, the first of which encrypts and
all of which decrypt (`MultiFernet`), so a key is rotated by putting a new one first and running
`madoguchi rotate_secrets`. Without the variable (the embedded default) one key is derived from
`SECRET_KEY`. A stored value is the Fernet token prefixed with `fernet:`; anything else in the
column is read as plain text written before encryption existed, and `rotate_secrets` encrypts it.

A secret is shown to nobody after it is saved: forms leave the field empty and keep the stored
value when it is left empty (`keep_secret`).

Customers' contacts (email addresses, phone numbers, postal addresses) are encrypted the same
way (ADR 0013). A value that must be found again (the contact a mail came from) is looked up by
its keyed digest instead, `keyed_digest`: HMAC-SHA256 under `MADOGUCHI_HASH_KEY`, which does
not change when the Fernet keys rotate (unset: derived from `SECRET_KEY`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.lookups import (
    Contains,
    EndsWith,
    Exact,
    IContains,
    IEndsWith,
    IExact,
    In,
    IRegex,
    IStartsWith,
    Regex,
    StartsWith,
)
from django.utils.module_loading import import_string

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


def _column_type(field: models.Field[Any, Any], connection: Any, internal_type: str) -> str:
    """The column type Django gives a field of `internal_type` (as `Field.db_type` does)."""
    data = field.db_type_parameters(connection)
    column_type = connection.data_types[internal_type]
    return str(column_type(data) if callable(column_type) else column_type % data)


@lru_cache(maxsize=4)
def _hash_key(configured: str, secret_key: str) -> bytes:
    if configured:
        return configured.encode()
    return hashlib.sha256(f"madoguchi-digest:{secret_key}".encode()).digest()


def keyed_digest(text: str) -> str:
    """Return the hex HMAC-SHA256 of `text` under the hash key ("" for ""): equal texts give
    equal digests, so a unique index and an equality lookup work on it; nobody without the key
    can test a guessed address against it."""
    if not text:
        return ""
    key = _hash_key(settings.MADOGUCHI.get("HASH_KEY", ""), settings.SECRET_KEY)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column whose value is encrypted in the database and plain text in Python.

    Its own internal type keeps the value out of fast paths that write plain text columns as
    they are (`core.db.insert_all`): every write goes through `get_prep_value`. A lookup by
    value (`=`, `in`, `contains`, ...) cannot match, each encryption being different: it raises
    instead of finding nothing (only `= ""`, stored as it is, is allowed).
    """

    def get_internal_type(self) -> str:
        return "EncryptedTextField"

    def db_type(self, connection: Any) -> str | None:
        return _column_type(self, connection, "TextField")

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


def _refuse(lookup: Any) -> None:
    field = lookup.lhs.target
    raise TypeError(
        f"{field.model.__name__}.{field.name} is encrypted: look it up by its digest"
        f" ({lookup.lookup_name} cannot match an encrypted value)."
    )


class _RefusedExact(Exact):  # type: ignore[type-arg]
    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None):  # an empty value is stored as it is
            _refuse(self)
        return super().get_prep_lookup()


EncryptedTextField.register_lookup(_RefusedExact)
for _lookup in (
    In,
    IExact,
    Contains,
    IContains,
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    Regex,
    IRegex,
):
    EncryptedTextField.register_lookup(
        type(f"_Refused{_lookup.__name__}", (_lookup,), {"get_prep_lookup": _refuse})
    )


class DigestField(models.CharField):  # type: ignore[type-arg]
    """The keyed digest of other fields of the row, filled on every save and bulk insert as
    `auto_now` is (empty when the last of them is empty).

    `of` names the fields, joined with ":" ("kind", "value" -> "email:taro@example.jp");
    `label` goes first instead of a field ("email" + the order's email), and `normalize`, the
    dotted path of a function, turns the last field into its normal form before it is hashed.
    """

    def __init__(
        self,
        *args: Any,
        of: tuple[str, ...] = (),
        label: str = "",
        normalize: str = "",
        **kwargs: Any,
    ) -> None:
        self.of, self.label, self.normalize = tuple(of), label, normalize
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["of"] = self.of
        for option in ("label", "normalize"):
            if getattr(self, option):
                kwargs[option] = getattr(self, option)
        for option, default in (("max_length", 64), ("editable", False), ("blank", True)):
            if kwargs.get(option) == default:
                del kwargs[option]
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "DigestField"

    def db_type(self, connection: Any) -> str | None:
        return _column_type(self, connection, "CharField")

    def digest_of(self, model_instance: models.Model) -> str:
        """Return the digest the row's current values give."""
        parts = [str(getattr(model_instance, name) or "") for name in self.of]
        if self.normalize and parts:
            parts[-1] = _normalizer(self.normalize)(parts[-1])
        if not parts or not parts[-1]:
            return ""
        return keyed_digest(":".join([self.label, *parts] if self.label else parts))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = self.digest_of(model_instance)
        setattr(model_instance, self.attname, value)
        return value


@lru_cache(maxsize=16)
def _normalizer(path: str) -> Callable[[str], str]:
    return import_string(path)  # type: ignore[no-any-return]


def digest_fields() -> list[tuple[type[models.Model], DigestField]]:
    """Every (model, field) stored with `DigestField`, for a change of the hash key."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, DigestField)
    ]


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
