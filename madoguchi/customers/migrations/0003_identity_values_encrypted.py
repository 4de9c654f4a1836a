# Contacts encrypted at rest and found by their keyed digest (ADR 0013).

from django.db import migrations, models

import madoguchi.core.secrets


def encrypt_values(apps, schema_editor):
    """Encrypt the plain values and write their digests, in SQL (the fields would convert)."""
    from madoguchi.core.secrets import PREFIX, decrypt, encrypt, keyed_digest

    connection = schema_editor.connection
    table = connection.ops.quote_name(apps.get_model("customers", "ContactIdentity")._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, kind, value, display_value FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
        updates = []
        for pk, kind, value, display_value in rows:
            plain = decrypt(value or "")
            updates.append(
                (
                    value if (value or "").startswith(PREFIX) else encrypt(value or ""),
                    display_value
                    if (display_value or "").startswith(PREFIX)
                    else encrypt(display_value or ""),
                    keyed_digest(f"{kind}:{plain}") if plain else "",
                    pk,
                )
            )
        cursor.executemany(
            f"UPDATE {table} SET value = %s, display_value = %s, value_digest = %s"  # noqa: S608
            " WHERE id = %s",
            updates,
        )


def decrypt_values(apps, schema_editor):
    from madoguchi.core.secrets import decrypt

    connection = schema_editor.connection
    table = connection.ops.quote_name(apps.get_model("customers", "ContactIdentity")._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, value, display_value FROM {table}")  # noqa: S608
        updates = [
            (decrypt(value or ""), decrypt(display_value or ""), pk)
            for pk, value, display_value in cursor.fetchall()
        ]
        cursor.executemany(
            f"UPDATE {table} SET value = %s, display_value = %s, value_digest = ''"  # noqa: S608
            " WHERE id = %s",
            updates,
        )


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0002_customer_memo"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="contactidentity",
            name="identity_unique_per_shop",
        ),
        migrations.AddField(
            model_name="contactidentity",
            name="value_digest",
            field=madoguchi.core.secrets.DigestField(of=("kind", "value"), default=""),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="contactidentity",
            name="display_value",
            field=madoguchi.core.secrets.EncryptedTextField(verbose_name="as entered"),
        ),
        migrations.AlterField(
            model_name="contactidentity",
            name="value",
            field=madoguchi.core.secrets.EncryptedTextField(
                help_text="Normalised: lower-case email, digits-only phone.", verbose_name="value"
            ),
        ),
        migrations.RunPython(encrypt_values, decrypt_values),
        migrations.AddConstraint(
            model_name="contactidentity",
            constraint=models.UniqueConstraint(
                fields=("shop", "kind", "value_digest"), name="identity_unique_per_shop"
            ),
        ),
    ]
