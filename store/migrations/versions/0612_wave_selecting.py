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
carry it: a wave renamed after its selection let a new wave of the old number collide with them;
and in five digits, so a wave's number is at most 99,999). A selecting wave's seed, quota and
dates, and its province quotas, are fixed: its draw depends on them. A downgrade refuses while a wave is selecting.
"""

from alembic import op
import sqlalchemy as sa

revision = "0612"
down_revision = "0611"
branch_labels = None
depends_on = None

STATES = ("planned", "open", "in_progress", "closed")
SELECTING = sa.text("state = 'selecting'")
NUMBER_RANGE = "number BETWEEN 1 AND 99999"


def _states(*states: str) -> str:
    return "state IN ({})".format(", ".join(f"'{state}'" for state in states))


MOVES = (
    "(OLD.state = 'planned' AND NEW.state IN ('open', 'selecting'))"
    " OR (OLD.state = 'open' AND NEW.state = 'selecting')"
    " OR (OLD.state = 'selecting' AND NEW.state = 'in_progress')"
    " OR (OLD.state = 'in_progress' AND NEW.state = 'closed')"
)
PRE_SELECTION = "('planned', 'open')"
# (name, condition, message key) of each check before an UPDATE of a wave; conditions in SQLite's
# words, IS NOT for PostgreSQL's IS DISTINCT FROM. Message keys without placeholders: a trigger
# names no wave.
GUARDS = (
    ("wave_state_order", f"OLD.state <> NEW.state AND NOT ({MOVES})", "wave.state_order"),
    ("wave_number_fixed",
     f"OLD.number <> NEW.number AND (OLD.state NOT IN {PRE_SELECTION} OR NEW.state NOT IN {PRE_SELECTION}"
     " OR EXISTS (SELECT 1 FROM participant WHERE participant.wave_id = OLD.id))", "wave.number_locked"),
    # What a selection under way draws by: its seed, quota and dates.
    ("wave_selecting_fixed",
     "OLD.state = 'selecting' AND (NEW.selection_seed IS NOT OLD.selection_seed OR NEW.quota <> OLD.quota"
     " OR NEW.starts_on <> OLD.starts_on OR NEW.purchase_deadline_days <> OLD.purchase_deadline_days)",
     "wave.selecting_fixed"),
)


# A selecting wave's province quotas are fixed too: a row of them added, changed or removed.
QUOTA_EVENTS = (("INSERT", ("NEW",)), ("UPDATE", ("NEW", "OLD")), ("DELETE", ("OLD",)))


def _selecting(row: str) -> str:
    return f"(SELECT state FROM wave WHERE wave.id = {row}.wave_id) = 'selecting'"


def _create_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, condition, key in GUARDS:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE ON wave WHEN {condition}"
                f" BEGIN SELECT RAISE(ABORT, 'mitra-rule:{key}'); END"
            )
        for event, rows in QUOTA_EVENTS:
            op.execute(
                f"CREATE TRIGGER wave_province_quota_selecting_{event.lower()} BEFORE {event} ON wave_province_quota"
                f" WHEN {' OR '.join(_selecting(row) for row in rows)}"
                " BEGIN SELECT RAISE(ABORT, 'mitra-rule:wave.selecting_fixed'); END"
            )
        return
    quota_checks = " ".join(
        f"IF TG_OP = '{event}' AND ({' OR '.join(_selecting(row) for row in rows)}) THEN"
        " RAISE EXCEPTION 'mitra-rule:wave.selecting_fixed' USING ERRCODE = '23514'; END IF;"
        for event, rows in QUOTA_EVENTS
    )
    op.execute(
        "CREATE FUNCTION mitra_wave_province_quota_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" {quota_checks} RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END; END $$"
    )
    op.execute(
        "CREATE TRIGGER wave_province_quota_guard BEFORE INSERT OR UPDATE OR DELETE ON wave_province_quota"
        " FOR EACH ROW EXECUTE FUNCTION mitra_wave_province_quota_guard()"
    )
    checks = " ".join(
        f"IF {condition.replace(' IS NOT ', ' IS DISTINCT FROM ')} THEN"
        f" RAISE EXCEPTION 'mitra-rule:{key}' USING ERRCODE = '23514'; END IF;"
        for _name, condition, key in GUARDS
    )
    op.execute(f"CREATE FUNCTION mitra_wave_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {checks} RETURN NEW; END $$")
    op.execute("CREATE TRIGGER wave_guard BEFORE UPDATE ON wave FOR EACH ROW EXECUTE FUNCTION mitra_wave_guard()")


def _drop_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, *_rest in GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for event, _rows in QUOTA_EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS wave_province_quota_selecting_{event.lower()}")
    else:
        op.execute("DROP TRIGGER IF EXISTS wave_guard ON wave")
        op.execute("DROP FUNCTION IF EXISTS mitra_wave_guard()")
        op.execute("DROP TRIGGER IF EXISTS wave_province_quota_guard ON wave_province_quota")
        op.execute("DROP FUNCTION IF EXISTS mitra_wave_province_quota_guard()")


def upgrade() -> None:
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_wave_state_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_wave_state_valid"), _states(*STATES[:2], "selecting", *STATES[2:]))
        # A selection cut short is finished with the seed it began with.
        batch_op.create_check_constraint(
            op.f("ck_wave_selecting_has_seed"), "state <> 'selecting' OR selection_seed IS NOT NULL"
        )
        # Card numbers carry the wave's number in five digits.
        batch_op.create_check_constraint(op.f("ck_wave_number_range"), NUMBER_RANGE)
    where = {"sqlite_where": SELECTING} if op.get_bind().dialect.name == "sqlite" else {"postgresql_where": SELECTING}
    op.create_index("uq_wave_selecting", "wave", ["state"], unique=True, **where)
    _create_guards()


def downgrade() -> None:
    selecting = op.get_bind().execute(sa.text("SELECT number FROM wave WHERE state = 'selecting'")).scalar()
    if selecting is not None:
        # Set back to 'open' it would keep its members and their cards, and could be renamed.
        raise RuntimeError(f"wave {selecting} is being selected: finish its selection before downgrading")
    _drop_guards()
    op.drop_index("uq_wave_selecting", table_name="wave")
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_wave_number_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_wave_selecting_has_seed"), type_="check")
        batch_op.drop_constraint(op.f("ck_wave_state_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_wave_state_valid"), _states(*STATES))
