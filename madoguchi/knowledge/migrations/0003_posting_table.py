"""PostgreSQL: a narrow posting table (token, article id) beside the GIN index (ADR 0023).

The help center's search walks it backwards in id order through its b-tree and stops after a
page, as FTS5 walks its doclists on SQLite; the GIN bitmap visited every matching article row
before sorting (8-10 ms for a word in half of 10,000 articles). The tsvector column stays for
ranked OR searches (related articles, suggestions). Existing postings come from the vectors,
whose lexemes are the same qualified tokens. SQLite keeps its FTS5 table: nothing to do.

No foreign key, like the FTS5 table: Django's flush (transactional tests) truncates the tables
it knows and PostgreSQL refuses to truncate a table another one references. Articles go away
only with their shop, and every token carries the shop id, so left-over rows are never read;
the search loads the articles by id and skips ids without one.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    "CREATE TABLE knowledge_posting ("
    "token text NOT NULL, "
    "article_id bigint NOT NULL, "
    "PRIMARY KEY (token, article_id))",
    "CREATE INDEX knowledge_posting_article ON knowledge_posting (article_id)",
    "INSERT INTO knowledge_posting (token, article_id) "
    "SELECT DISTINCT unnest(tsvector_to_array(search_vector)), id FROM knowledge_article "
    "WHERE search_vector != ''::tsvector",
]
POSTGRES_BACKWARD = ["DROP TABLE IF EXISTS knowledge_posting"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_fulltext_index")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
