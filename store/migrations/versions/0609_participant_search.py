"""participant search by any part of the name and by part of the NIK: a trigram index

SQLite: an FTS5 table with the trigram tokenizer over participant (name_key, the folded name,
and nik), external content kept in step by triggers (so bulk inserts through the driver fill it
too). PostgreSQL: pg_trgm GIN indexes on name_key and nik (pg_trgm is a trusted extension: the schema owner may
create it). See store/search.py for the queries.

Revision ID: 0609
Revises: 0608
Create Date: 2026-12-03
"""

from alembic import op

revision = "0609"
down_revision = "0608"
branch_labels = None
depends_on = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE participant_search USING fts5("
    "name_key, nik, content='participant', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER participant_search_insert AFTER INSERT ON participant BEGIN"
    " INSERT INTO participant_search(rowid, name_key, nik) VALUES (NEW.id, NEW.name_key, NEW.nik); END",
    "CREATE TRIGGER participant_search_delete AFTER DELETE ON participant BEGIN"
    " INSERT INTO participant_search(participant_search, rowid, name_key, nik)"
    " VALUES ('delete', OLD.id, OLD.name_key, OLD.nik); END",
    "CREATE TRIGGER participant_search_update AFTER UPDATE OF name_key, nik ON participant BEGIN"
    " INSERT INTO participant_search(participant_search, rowid, name_key, nik)"
    " VALUES ('delete', OLD.id, OLD.name_key, OLD.nik);"
    " INSERT INTO participant_search(rowid, name_key, nik) VALUES (NEW.id, NEW.name_key, NEW.nik); END",
    "INSERT INTO participant_search(participant_search) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS participant_search_update",
    "DROP TRIGGER IF EXISTS participant_search_delete",
    "DROP TRIGGER IF EXISTS participant_search_insert",
    "DROP TABLE IF EXISTS participant_search",
)
POSTGRES_UP = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_participant_name_key_trgm ON participant USING gin (name_key gin_trgm_ops)",
    "CREATE INDEX ix_participant_nik_trgm ON participant USING gin (nik gin_trgm_ops)",
)
POSTGRES_DOWN = (
    "DROP INDEX IF EXISTS ix_participant_nik_trgm",
    "DROP INDEX IF EXISTS ix_participant_name_key_trgm",
)


def upgrade() -> None:
    for statement in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
