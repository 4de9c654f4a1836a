# Orders' contacts and addresses encrypted at rest; their match keys become keyed digests
# (ADR 0013).

from django.db import migrations, models

import madoguchi.core.secrets

ENCRYPTED = (
    "email",
    "shipping_postal_code",
    "shipping_address1",
    "shipping_address2",
    "shipping_phone",
)


def _rewrite(apps, schema_editor, *, forwards):
    """Encrypt (or decrypt) the columns and recompute the match keys, in SQL."""
    from madoguchi.core.secrets import PREFIX, decrypt, encrypt, keyed_digest
    from madoguchi.customers.normalize import matchable_email, matchable_phone

    connection = schema_editor.connection
    quote = connection.ops.quote_name
    table = quote(apps.get_model("commerce", "Order")._meta.db_table)
    names = ", ".join(quote(column) for column in ENCRYPTED)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {names} FROM {table}")  # noqa: S608
        updates = []
        for pk, *stored in cursor.fetchall():
            plain = dict(zip(ENCRYPTED, (decrypt(value or "") for value in stored), strict=True))
            email, phone = matchable_email(plain["email"]), matchable_phone(plain["shipping_phone"])
            if forwards:
                values = [
                    value if (value or "").startswith(PREFIX) else encrypt(value or "")
                    for value in stored
                ]
                keys = [
                    keyed_digest(f"email:{email}") if email else "",
                    keyed_digest(f"phone:{phone}") if phone else "",
                ]
            else:
                values = [plain[column] for column in ENCRYPTED]
                keys = [email[:254], phone[:30]]
            updates.append((*values, *keys, pk))
        assignments = ", ".join(f"{quote(column)} = %s" for column in ENCRYPTED)
        cursor.executemany(
            f"UPDATE {table} SET {assignments}, contact_email = %s, contact_phone = %s"  # noqa: S608
            " WHERE id = %s",
            updates,
        )


def encrypt_orders(apps, schema_editor):
    _rewrite(apps, schema_editor, forwards=True)


def decrypt_orders(apps, schema_editor):
    _rewrite(apps, schema_editor, forwards=False)


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0003_order_match_keys_notice_reason"),
    ]

    operations = [
        # Wide enough for the tokens and the digests first, the digests' width after.
        migrations.AlterField(
            model_name="order",
            name="email",
            field=madoguchi.core.secrets.EncryptedTextField(blank=True, verbose_name="email"),
        ),
        migrations.AlterField(
            model_name="order",
            name="shipping_address1",
            field=madoguchi.core.secrets.EncryptedTextField(blank=True, verbose_name="address"),
        ),
        migrations.AlterField(
            model_name="order",
            name="shipping_address2",
            field=madoguchi.core.secrets.EncryptedTextField(blank=True, verbose_name="building"),
        ),
        migrations.AlterField(
            model_name="order",
            name="shipping_phone",
            field=madoguchi.core.secrets.EncryptedTextField(blank=True, verbose_name="phone"),
        ),
        migrations.AlterField(
            model_name="order",
            name="shipping_postal_code",
            field=madoguchi.core.secrets.EncryptedTextField(blank=True, verbose_name="postal code"),
        ),
        migrations.AlterField(
            model_name="order",
            name="contact_phone",
            field=models.CharField(blank=True, editable=False, max_length=254),
        ),
        migrations.RunPython(encrypt_orders, decrypt_orders),
        migrations.AlterField(
            model_name="order",
            name="contact_email",
            field=madoguchi.core.secrets.DigestField(
                label="email",
                normalize="madoguchi.customers.normalize.matchable_email",
                of=("email",),
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="contact_phone",
            field=madoguchi.core.secrets.DigestField(
                label="phone",
                normalize="madoguchi.customers.normalize.matchable_phone",
                of=("shipping_phone",),
            ),
        ),
    ]
