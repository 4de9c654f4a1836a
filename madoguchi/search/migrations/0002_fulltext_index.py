"""Create the engine's full-text index over the documents' tokens.

SQLite: a contentless FTS5 table whose rowid is the document id; the tokens are already cut
(bigrams, unigrams, words), so the tokenizer only splits on spaces ('_' kept for the private
shop and kind tokens). PostgreSQL: a tsvector column built from the same tokens with
array_to_tsvector (no text-search parser involved) and a GIN index.
"""

from django.db import migrations

SQLITE_FORWARD = (
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "tokens, content='', tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\")"
)
SQLITE_BACKWARD = "DROP TABLE IF EXISTS search_fts"
POSTGRES_FORWARD = [
    "ALTER TABLE search_searchdocument ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''",
    "CREATE INDEX search_document_vector ON search_searchdocument USING gin (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS search_document_vector",
    "ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS search_vector",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, [SQLITE_FORWARD])
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, [SQLITE_BACKWARD])
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
