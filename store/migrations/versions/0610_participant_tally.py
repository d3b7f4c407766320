"""participant tally: how many participants per (wave, status), kept by triggers

The wave funnels and the registry's counts read a handful of rows instead of scanning the
participants (20 million at the program's scale). The database keeps the tally in the same
transaction as every insert, status or wave change and delete of a participant, whoever makes it:
on SQLite by row triggers (writers take turns anyway); on PostgreSQL by statement triggers over
the statement's transition tables (one upsert per (wave, status) a statement touches, in a fixed
order, so two transactions never wait on each other's counters the wrong way round).

Revision ID: 0610
Revises: 0609
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

revision = "0610"
down_revision = "0609"
branch_labels = None
depends_on = None

_ADD_SQLITE = (
    "INSERT INTO participant_tally (wave_key, status, n) VALUES (coalesce(NEW.wave_id, 0), NEW.status, 1)"
    " ON CONFLICT (wave_key, status) DO UPDATE SET n = n + 1;"
)
_TAKE_SQLITE = "UPDATE participant_tally SET n = n - 1 WHERE wave_key = coalesce(OLD.wave_id, 0) AND status = OLD.status;"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER participant_tally_insert AFTER INSERT ON participant BEGIN {_ADD_SQLITE} END",
    "CREATE TRIGGER participant_tally_update AFTER UPDATE OF status, wave_id ON participant"
    f" WHEN OLD.status IS NOT NEW.status OR OLD.wave_id IS NOT NEW.wave_id BEGIN {_TAKE_SQLITE} {_ADD_SQLITE} END",
    f"CREATE TRIGGER participant_tally_delete AFTER DELETE ON participant BEGIN {_TAKE_SQLITE} END",
)


def _pg_changes(*parts: str) -> str:
    """Upsert the net change per (wave, status) of the statement's rows, in key order."""
    union = " UNION ALL ".join(parts)
    return (
        "INSERT INTO participant_tally (wave_key, status, n)"
        f" SELECT wave_key, status, sum(n) FROM ({union}) AS changes"
        " GROUP BY wave_key, status HAVING sum(n) <> 0 ORDER BY wave_key, status"
        " ON CONFLICT (wave_key, status) DO UPDATE SET n = participant_tally.n + EXCLUDED.n;"
    )


_NEW = "SELECT coalesce(wave_id, 0) AS wave_key, status, 1 AS n FROM new_rows"
_OLD = "SELECT coalesce(wave_id, 0) AS wave_key, status, -1 AS n FROM old_rows"
PG_FUNCTION = f"""
CREATE FUNCTION mitra_participant_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_changes(_NEW)}
  ELSIF TG_OP = 'UPDATE' THEN
    {_pg_changes(_NEW, _OLD)}
  ELSE
    {_pg_changes(_OLD)}
  END IF;
  RETURN NULL;
END $$
"""
PG_TRIGGERS = (
    PG_FUNCTION,
    "CREATE TRIGGER participant_tally_insert AFTER INSERT ON participant REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION mitra_participant_tally()",
    "CREATE TRIGGER participant_tally_update AFTER UPDATE ON participant"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mitra_participant_tally()",
    "CREATE TRIGGER participant_tally_delete AFTER DELETE ON participant REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION mitra_participant_tally()",
)


def upgrade() -> None:
    op.create_table(
        "participant_tally",
        sa.Column("wave_key", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("wave_key", "status", name=op.f("pk_participant_tally")),
    )
    op.execute(
        "INSERT INTO participant_tally (wave_key, status, n)"
        " SELECT coalesce(wave_id, 0), status, count(*) FROM participant GROUP BY coalesce(wave_id, 0), status"
    )
    for statement in SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else PG_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for name in ("participant_tally_insert", "participant_tally_update", "participant_tally_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if op.get_bind().dialect.name == "sqlite" else " ON participant"))
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS mitra_participant_tally()")
    op.drop_table("participant_tally")
