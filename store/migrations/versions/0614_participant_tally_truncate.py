"""participant tally truncate: a registry emptied by TRUNCATE empties its tally too

Revision ID: 0614
Revises: 0613
Create Date: 2026-12-06

TRUNCATE fires no delete trigger, so on PostgreSQL the tally of 0610 kept counting the
participants of a registry its owner had emptied (the funnels and counts read it). A TRUNCATE
trigger now empties the tally with it, as 0613's does for the search table. SQLite has no
TRUNCATE: its DELETE without WHERE fires the row triggers when a table has any.
"""

from alembic import op

revision = "0614"
down_revision = "0613"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # no TRUNCATE there
    op.execute("CREATE FUNCTION mitra_participant_tally_truncate() RETURNS trigger LANGUAGE plpgsql AS $$"
               " BEGIN DELETE FROM participant_tally; RETURN NULL; END $$")
    op.execute("CREATE TRIGGER participant_tally_truncate AFTER TRUNCATE ON participant"
               " FOR EACH STATEMENT EXECUTE FUNCTION mitra_participant_tally_truncate()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS participant_tally_truncate ON participant")
    op.execute("DROP FUNCTION IF EXISTS mitra_participant_tally_truncate()")
