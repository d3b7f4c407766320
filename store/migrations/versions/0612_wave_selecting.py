"""wave selecting: a selection is written in parts while its wave is `selecting`

Revision ID: 0612
Revises: 0611
Create Date: 2026-12-05

Selecting a wave of 800,000 in one transaction held the write lock (SQLite) or its participants'
rows (PostgreSQL) for tens of seconds. It is now written in parts, each its own transaction;
between them the wave is `selecting`, and the database allows one such wave at a time (a partial
unique index), since two selections at once would draw from the same pool, and only with its
seed (a selection cut short is finished with the seed it began with).

Triggers keep a wave's states in their order (planned -> open -> selecting -> in progress ->
closed, planned may go straight to selecting; never back: a wave set back to `selecting` by hand
was "resumed" over its finished selection), and its number once it may hold cards (card numbers
carry it: a wave renamed after its selection let a new wave of the old number collide with them).
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


MOVES = (
    "(OLD.state = 'planned' AND NEW.state IN ('open', 'selecting'))"
    " OR (OLD.state = 'open' AND NEW.state = 'selecting')"
    " OR (OLD.state = 'selecting' AND NEW.state = 'in_progress')"
    " OR (OLD.state = 'in_progress' AND NEW.state = 'closed')"
)
BAD_MOVE = f"OLD.state <> NEW.state AND NOT ({MOVES})"
NUMBER_MOVED = "OLD.number <> NEW.number AND OLD.state NOT IN ('planned', 'open')"
GUARDS = ((BAD_MOVE, "wave.state_order"), (NUMBER_MOVED, "wave.number_locked"))


def _create_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, (condition, key) in zip(("wave_state_order", "wave_number_fixed"), GUARDS):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE ON wave WHEN {condition}"
                f" BEGIN SELECT RAISE(ABORT, 'mitra-rule:{key}'); END"
            )
        return
    checks = " ".join(
        f"IF {condition} THEN RAISE EXCEPTION 'mitra-rule:{key}' USING ERRCODE = '23514'; END IF;"
        for condition, key in GUARDS
    )
    op.execute(f"CREATE FUNCTION mitra_wave_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {checks} RETURN NEW; END $$")
    op.execute("CREATE TRIGGER wave_guard BEFORE UPDATE ON wave FOR EACH ROW EXECUTE FUNCTION mitra_wave_guard()")


def _drop_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS wave_state_order")
        op.execute("DROP TRIGGER IF EXISTS wave_number_fixed")
    else:
        op.execute("DROP TRIGGER IF EXISTS wave_guard ON wave")
        op.execute("DROP FUNCTION IF EXISTS mitra_wave_guard()")


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
    _create_guards()


def downgrade() -> None:
    _drop_guards()
    op.drop_index("uq_wave_selecting", table_name="wave")
    op.execute("UPDATE wave SET state = 'open' WHERE state = 'selecting'")
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_wave_selecting_has_seed"), type_="check")
        batch_op.drop_constraint(op.f("ck_wave_state_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_wave_state_valid"), _states(*STATES))
