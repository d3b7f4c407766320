"""wave selecting: a selection is written in parts while its wave is `selecting`

Revision ID: 0612
Revises: 0611
Create Date: 2026-12-05

Selecting a wave of 800,000 in one transaction held the write lock (SQLite) or its participants'
rows (PostgreSQL) for tens of seconds. It is now written in parts, each its own transaction;
between them the wave is `selecting`, and the database allows one such wave at a time (a partial
unique index), since two selections at once would draw from the same pool, and only with its
seed (a selection cut short is finished with the seed it began with).
"""

from alembic import op
import sqlalchemy as sa

revision = "0612"
down_revision = "0611"
branch_labels = None
depends_on = None

STATES = ("planned", "open", "in_progress", "closed")
SELECTING = sa.text("state = 'selecting'")


def _states(*states: str) -> str:
    return "state IN ({})".format(", ".join(f"'{state}'" for state in states))


def upgrade() -> None:
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_wave_state_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_wave_state_valid"), _states(*STATES[:2], "selecting", *STATES[2:]))
        # A selection cut short is finished with the seed it began with.
        batch_op.create_check_constraint(
            op.f("ck_wave_selecting_has_seed"), "state <> 'selecting' OR selection_seed IS NOT NULL"
        )
    where = {"sqlite_where": SELECTING} if op.get_bind().dialect.name == "sqlite" else {"postgresql_where": SELECTING}
    op.create_index("uq_wave_selecting", "wave", ["state"], unique=True, **where)


def downgrade() -> None:
    op.drop_index("uq_wave_selecting", table_name="wave")
    op.execute("UPDATE wave SET state = 'open' WHERE state = 'selecting'")
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_wave_selecting_has_seed"), type_="check")
        batch_op.drop_constraint(op.f("ck_wave_state_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_wave_state_valid"), _states(*STATES))
