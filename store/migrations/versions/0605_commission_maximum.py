"""commission maximum: no platform cap and no listing above the program's maximum commission

Revision ID: 0605
Revises: 0604
Create Date: 2026-12-02

The maximum is the setting `platforms.max_commission_bp` (default 1500, 15 %); triggers read it,
so the database refuses what the services refuse, whoever writes.
"""

from alembic import op

revision = "0605"
down_revision = "0604"
branch_labels = None
depends_on = None

DEFAULT_MAX = 1500
TARGETS = (("platform", "commission_cap_bp"), ("course_listing", "commission_bp"))


def _sqlite_trigger(table: str, column: str, event: str) -> str:
    name = f"{table}_commission_max_{event.lower()}"
    return (
        f"CREATE TRIGGER {name} BEFORE {event} ON {table}"
        f" WHEN NEW.{column} > COALESCE((SELECT CAST(value AS INTEGER) FROM setting"
        f" WHERE key = 'platforms.max_commission_bp'), {DEFAULT_MAX})"
        " BEGIN SELECT RAISE(ABORT, 'mitra-rule:platforms.commission_above_program_max'); END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, column in TARGETS:
            for event in ("INSERT", "UPDATE"):
                op.execute(_sqlite_trigger(table, column, event))
        return
    for table, column in TARGETS:
        op.execute(
            f"CREATE FUNCTION mitra_{table}_commission_max() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.{column} > COALESCE((SELECT value::int FROM setting WHERE key = 'platforms.max_commission_bp'),"
            f" {DEFAULT_MAX}) THEN RAISE EXCEPTION 'mitra-rule:platforms.commission_above_program_max'"
            " USING ERRCODE = '23514'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_commission_max BEFORE INSERT OR UPDATE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION mitra_{table}_commission_max()"
        )


def downgrade() -> None:
    is_sqlite = op.get_bind().dialect.name == "sqlite"
    for table, _column in TARGETS:
        if is_sqlite:
            for event in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_commission_max_{event}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_commission_max ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS mitra_{table}_commission_max()")
