"""participant wave fixed: once in a wave, a participant stays in it and keeps their card

Revision ID: 0603
Revises: 0602
Create Date: 2026-12-02

Two selections racing each other on PostgreSQL moved participants from one wave to the other and
reissued their cards. The selection now takes only participants still registered (and selections
take turns), and the database refuses any change of a participant's wave or card once given.
"""

from alembic import op

revision = "0603"
down_revision = "0602"
branch_labels = None
depends_on = None

CONDITION = (
    "(OLD.wave_id IS NOT NULL AND NEW.wave_id IS DISTINCT FROM OLD.wave_id)"
    " OR (OLD.card_number IS NOT NULL AND NEW.card_number IS DISTINCT FROM OLD.card_number)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER participant_wave_fixed BEFORE UPDATE OF wave_id, card_number ON participant"
            f" WHEN {CONDITION.replace('IS DISTINCT FROM', 'IS NOT')}"
            " BEGIN SELECT RAISE(ABORT, 'mitra-rule:participant.wave_fixed'); END"
        )
        return
    op.execute(
        "CREATE FUNCTION mitra_participant_wave_fixed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF {CONDITION} THEN"
        " RAISE EXCEPTION 'mitra-rule:participant.wave_fixed' USING ERRCODE = '23514'; END IF;"
        " RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER participant_wave_fixed BEFORE UPDATE OF wave_id, card_number ON participant"
        " FOR EACH ROW EXECUTE FUNCTION mitra_participant_wave_fixed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS participant_wave_fixed")
    else:
        op.execute("DROP TRIGGER IF EXISTS participant_wave_fixed ON participant")
        op.execute("DROP FUNCTION IF EXISTS mitra_participant_wave_fixed()")
