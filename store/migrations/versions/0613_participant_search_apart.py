"""participant search apart: PostgreSQL's trigram indexes move to a table of their own

Revision ID: 0613
Revises: 0612
Create Date: 2026-12-06

The pg_trgm GIN indexes of 0609 were on `participant` itself. Every change of a participant's
status, wave, card or balance (a selection, the purchase-deadline sweep, a bulk assignment) is an
update PostgreSQL cannot make in place (status and wave are indexed), so each wrote the row's
trigrams into both GIN indexes again, though the name and NIK had not changed. GIN gathers such
entries in a pending list and merges it into the index when it passes 4 MB, in whichever
statement tips it over: at 20 million participants a registration that did so during the sweep
waited 6.5 s. And a selection wrote some thirty index entries a person for nothing.

Now `participant_search` (id, name_key, nik) holds what is searched, with the two GIN indexes,
kept in step by triggers: rows added with every insert (a statement trigger over its new rows, so
an import's COPY adds them in one statement), changed only when a name or NIK changes, removed
with the participant (deleted or truncated). A status change no longer touches them. The upgrade
copies every name and NIK and indexes them (153 s at 20 million on 2 cores) while writes to `participant` wait.

SQLite already searched a table apart (0609's FTS5 `participant_search`, whose update trigger
fires only on name_key and nik): nothing changes there.
"""

from alembic import op

revision = "0613"
down_revision = "0612"
branch_labels = None
depends_on = None

PG_UP = (
    # Writers of participant wait for the whole upgrade (reads go on): one registered between the
    # copy below and the triggers would be missing from the search for good.
    "LOCK TABLE participant IN SHARE ROW EXCLUSIVE MODE",
    "CREATE TABLE participant_search (id BIGINT NOT NULL, name_key VARCHAR NOT NULL, nik VARCHAR NOT NULL,"
    " CONSTRAINT pk_participant_search PRIMARY KEY (id))",
    "INSERT INTO participant_search (id, name_key, nik) SELECT id, name_key, nik FROM participant",
    "CREATE INDEX ix_participant_search_name_key_trgm ON participant_search USING gin (name_key gin_trgm_ops)",
    "CREATE INDEX ix_participant_search_nik_trgm ON participant_search USING gin (nik gin_trgm_ops)",
    """CREATE FUNCTION mitra_participant_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO participant_search (id, name_key, nik) SELECT id, name_key, nik FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    UPDATE participant_search SET id = NEW.id, name_key = NEW.name_key, nik = NEW.nik WHERE id = OLD.id;
  ELSIF TG_OP = 'DELETE' THEN
    DELETE FROM participant_search WHERE id IN (SELECT id FROM old_rows);
  ELSE
    TRUNCATE participant_search;
  END IF;
  RETURN NULL;
END $$""",
    "CREATE TRIGGER participant_search_insert AFTER INSERT ON participant REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION mitra_participant_search()",
    # A row trigger: one with a column list cannot see the statement's transition tables. It fires
    # only when an UPDATE sets one of these columns, which no selection, sweep or payment does.
    "CREATE TRIGGER participant_search_update AFTER UPDATE OF id, name_key, nik ON participant FOR EACH ROW"
    " WHEN (OLD.id <> NEW.id OR OLD.name_key IS DISTINCT FROM NEW.name_key OR OLD.nik IS DISTINCT FROM NEW.nik)"
    " EXECUTE FUNCTION mitra_participant_search()",
    "CREATE TRIGGER participant_search_delete AFTER DELETE ON participant REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION mitra_participant_search()",
    # A registry emptied by its owner (TRUNCATE fires no delete trigger): ids started again would
    # otherwise meet the old names' rows.
    "CREATE TRIGGER participant_search_truncate AFTER TRUNCATE ON participant"
    " FOR EACH STATEMENT EXECUTE FUNCTION mitra_participant_search()",
    "DROP INDEX ix_participant_name_key_trgm",
    "DROP INDEX ix_participant_nik_trgm",
)
PG_DOWN = (
    "CREATE INDEX ix_participant_name_key_trgm ON participant USING gin (name_key gin_trgm_ops)",
    "CREATE INDEX ix_participant_nik_trgm ON participant USING gin (nik gin_trgm_ops)",
    "DROP TRIGGER IF EXISTS participant_search_truncate ON participant",
    "DROP TRIGGER IF EXISTS participant_search_delete ON participant",
    "DROP TRIGGER IF EXISTS participant_search_update ON participant",
    "DROP TRIGGER IF EXISTS participant_search_insert ON participant",
    "DROP FUNCTION IF EXISTS mitra_participant_search()",
    "DROP TABLE IF EXISTS participant_search",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for statement in PG_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for statement in PG_DOWN:
            op.execute(statement)
