"""applications: workflow rules as constraints, decided applications read-only, obligation periods

Revision ID: 0101
Revises: 0002
Create Date: 2026-11-30

Autogenerate found the columns, unique constraints and the partial index; the CHECK constraints
and the triggers are written by hand (autogenerate sees neither). No application or obligation
rows exist before this revision (nothing created them), so the new NOT NULL column needs no
default.
"""

from alembic import op
import sqlalchemy as sa

revision = "0101"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN = "'in_review', 'needs_info', 'recommended', 'submitted'"
DECIDED = "'approved', 'reclassified', 'rejected'"

APPLICATION_CHECKS = {
    "reject_reason_code_valid": "reject_reason_code IS NULL OR reject_reason_code IN ('criteria_not_met', "
    "'incomplete_documents', 'no_response', 'conflict_of_interest', 'false_information', 'other')",
    "recommendation_recorded": "state NOT IN ('approved', 'reclassified', 'recommended', 'rejected') "
    "OR (recommendation IS NOT NULL AND recommended_by IS NOT NULL)",
    "decision_recorded": f"state NOT IN ({DECIDED}) "
    "OR (decided_by IS NOT NULL AND decided_at IS NOT NULL AND decision_note <> '')",
    "approved_has_platform": "state <> 'approved' OR platform_id IS NOT NULL",
    "reclassified_has_provider": "state <> 'reclassified' OR provider_id IS NOT NULL",
    "rejected_has_reason": "state <> 'rejected' OR reject_reason_code IS NOT NULL",
}
OBLIGATION_CHECKS = {
    "period_order": "period_end >= period_start",
    "due_after_period": "due_on >= period_end",
    "submission_complete": "(submitted_on IS NULL AND submitted_by IS NULL) OR "
    "(submitted_on IS NOT NULL AND submitted_by IS NOT NULL AND reference <> '')",
    "submitted_after_start": "submitted_on IS NULL OR submitted_on >= period_start",
}

# Decided applications are read-only, whoever connects: a backstop under the services' own check.
# The refusal reads like a named CHECK constraint on both back ends, so the store's error
# classification (store/failures.py) maps it to the rule "application.decided".
DECIDED_RULE = "platform_application_decided"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER platform_application_decided_no_update BEFORE UPDATE ON platform_application
       WHEN OLD.state IN ({DECIDED})
       BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {DECIDED_RULE}'); END""",
    f"""CREATE TRIGGER platform_application_decided_no_delete BEFORE DELETE ON platform_application
       WHEN OLD.state IN ({DECIDED})
       BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {DECIDED_RULE}'); END""",
    f"""CREATE TRIGGER application_criterion_decided_no_update BEFORE UPDATE ON application_criterion
       WHEN (SELECT state FROM platform_application WHERE id = OLD.application_id) IN ({DECIDED})
       BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {DECIDED_RULE}'); END""",
]
PG_TRIGGERS = [
    f"""CREATE FUNCTION mitra_application_decided() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE application_state text;
       BEGIN
         IF TG_TABLE_NAME = 'application_criterion' THEN
           SELECT state INTO application_state FROM platform_application WHERE id = OLD.application_id;
         ELSE
           application_state := OLD.state;
         END IF;
         IF application_state IN ({DECIDED}) THEN
           RAISE EXCEPTION 'platform application is decided: read-only'
             USING ERRCODE = 'check_violation', CONSTRAINT = '{DECIDED_RULE}';
         END IF;
         IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER platform_application_decided BEFORE UPDATE OR DELETE ON platform_application
       FOR EACH ROW EXECUTE FUNCTION mitra_application_decided()""",
    """CREATE TRIGGER application_criterion_decided BEFORE UPDATE ON application_criterion
       FOR EACH ROW EXECUTE FUNCTION mitra_application_decided()""",
]


def upgrade() -> None:
    # Existing items were monthly: their period ends the day before the next month begins.
    with op.batch_alter_table("obligation_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period_end", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE obligation_item SET period_end = date(period_start, '+1 month', '-1 day')")
    else:
        op.execute("UPDATE obligation_item SET period_end = (period_start + interval '1 month' - interval '1 day')::date")
    with op.batch_alter_table("obligation_item", schema=None) as batch_op:
        batch_op.alter_column("period_end", existing_type=sa.Date(), nullable=False)
        for name, condition in OBLIGATION_CHECKS.items():
            batch_op.create_check_constraint(op.f(f"ck_obligation_item_{name}"), condition)

    with op.batch_alter_table("platform", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_platform_agreement_number"), ["agreement_number"])

    with op.batch_alter_table("platform_application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_platform_application_open_nib", ["nib"], unique=True,
            sqlite_where=sa.text(f"state IN ({OPEN})"), postgresql_where=sa.text(f"state IN ({OPEN})"),
        )
        batch_op.create_unique_constraint(batch_op.f("uq_platform_application_platform_id"), ["platform_id"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_platform_application_previous_application_id"), ["previous_application_id"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_platform_application_provider_id"), ["provider_id"])
        for name, condition in APPLICATION_CHECKS.items():
            batch_op.create_check_constraint(op.f(f"ck_platform_application_{name}"), condition)

    # After the batch operations: on SQLite they recreate the table, which drops its triggers.
    is_sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if is_sqlite else PG_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "platform_application_decided_no_update", "platform_application_decided_no_delete",
            "application_criterion_decided_no_update",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS platform_application_decided ON platform_application")
        op.execute("DROP TRIGGER IF EXISTS application_criterion_decided ON application_criterion")
        op.execute("DROP FUNCTION IF EXISTS mitra_application_decided()")

    with op.batch_alter_table("platform_application", schema=None) as batch_op:
        for name in APPLICATION_CHECKS:
            batch_op.drop_constraint(op.f(f"ck_platform_application_{name}"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_platform_application_provider_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_platform_application_previous_application_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_platform_application_platform_id"), type_="unique")
        batch_op.drop_index("ix_platform_application_open_nib")
        batch_op.drop_column("updated_at")

    with op.batch_alter_table("platform", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_platform_agreement_number"), type_="unique")

    with op.batch_alter_table("obligation_item", schema=None) as batch_op:
        for name in OBLIGATION_CHECKS:
            batch_op.drop_constraint(op.f(f"ck_obligation_item_{name}"), type_="check")
        batch_op.drop_column("period_end")
