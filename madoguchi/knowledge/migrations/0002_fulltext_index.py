"""Create the articles' full-text index (see `knowledge.index`).

SQLite: an FTS5 table whose rowid is the article id, over already-cut tokens (the tokenizer
only splits on spaces). PostgreSQL: a tsvector column of the article built from the same
tokens with array_to_tsvector, and a GIN index.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE knowledge_fts USING fts5("
    "title, body, tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\")"
]
SQLITE_BACKWARD = ["DROP TABLE IF EXISTS knowledge_fts"]
POSTGRES_FORWARD = [
    "ALTER TABLE knowledge_article ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''",
    "CREATE INDEX knowledge_article_vector ON knowledge_article USING gin (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS knowledge_article_vector",
    "ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_vector",
]


def _statements(vendor, sqlite, postgres):
    return {"sqlite": sqlite, "postgresql": postgres}.get(vendor, [])


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in _statements(vendor, SQLITE_FORWARD, POSTGRES_FORWARD):
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in _statements(vendor, SQLITE_BACKWARD, POSTGRES_BACKWARD):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
