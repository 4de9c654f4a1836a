"""Re-cut the index: every token is now qualified by the document's shop and kind.

The stored `content` is unchanged; the FTS5 table (contentless, so emptied with 'delete-all')
or the tsvector column is refilled from it with the current tokenizer, in batches.
"""

from django.db import migrations

BATCH = 2000


def forward(apps, schema_editor):
    from madoguchi.search.fulltext import document_tokens
    from madoguchi.search.normalize import search_form
    from madoguchi.search.tokens import index_tokens

    connection = schema_editor.connection
    if connection.vendor not in ("sqlite", "postgresql"):
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
        last_id = 0
        while True:
            cursor.execute(
                "SELECT id, shop_id, kind, content FROM search_searchdocument "
                "WHERE id > %s ORDER BY id LIMIT %s",
                [last_id, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            entries = [
                (
                    doc_id,
                    document_tokens(
                        shop_id=shop_id, kind=kind, tokens=index_tokens(search_form(content))
                    ),
                )
                for doc_id, shop_id, kind, content in rows
            ]
            if connection.vendor == "sqlite":
                cursor.executemany(
                    "INSERT INTO search_fts (rowid, tokens) VALUES (%s, %s)",
                    [(doc_id, " ".join(tokens)) for doc_id, tokens in entries],
                )
            else:
                cursor.executemany(
                    "UPDATE search_searchdocument "
                    "SET search_vector = array_to_tsvector(%s::text[]) WHERE id = %s",
                    [(list(dict.fromkeys(tokens)), doc_id) for doc_id, tokens in entries],
                )
            last_id = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("search", "0003_kind_recent_index")]

    # Backwards the old tokens are not restored: run `search_rebuild` after migrating back.
    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
