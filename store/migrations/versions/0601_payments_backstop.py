"""payments backstop: the database itself refuses what the payment services never do

Revision ID: 0601
Revises: 0501
Create Date: 2026-12-02

A database login can bypass the services; these triggers make the same rules hold for it:
- a batch moves only forward (draft -> submitted -> approved -> sent -> reconciled, draft or
  submitted -> cancelled, submitted -> rejected) and is never deleted;
- from submission on, its scope, totals and required approvals are frozen; at submission its
  totals must equal its lines and it must need at least the approvals the thresholds ask for;
- it becomes approved only with that many distinct approvals recorded (approvals are added only
  while it is submitted, and never changed or removed); sent only with a sender; results (paid,
  failed) only while it is sent;
- a line is added only to a draft, never deleted, and what it pays (item, amount, payee, account)
  never changes; its item key must spell its typed columns, and "never twice" holds on those
  typed columns (enrollment for a fee, participant and instalment for an incentive).
Messages are "mitra-rule:<key>", which store/failures.py turns into the rule's own message.
"""

from alembic import op

revision = "0601"
down_revision = "0501"
branch_labels = None
depends_on = None

# What the thresholds setting defaults to when no admin changed it (store/services/settings.py).
DEFAULT_THRESHOLDS = "[[0,1],[1000000000,2]]"

FORWARD = (
    "('draft','draft'),('draft','submitted'),('draft','cancelled'),"
    "('submitted','submitted'),('submitted','approved'),('submitted','rejected'),('submitted','cancelled'),"
    "('approved','sent'),('sent','sent'),('sent','reconciled')"
)
# Columns fixed once a batch leaves draft (SQL "IS DISTINCT FROM" on PostgreSQL, "IS NOT" on SQLite).
BATCH_FROZEN = (
    "kind", "platform_id", "wave_id", "payer", "line_count", "total_idr", "commission_idr",
    "prepared_by", "prepared_at", "batch_version", "previous_batch_id", "filters",
)
LINE_FIXED = (
    "id", "batch_id", "item_key", "enrollment_id", "participant_id", "provider_id", "instalment",
    "province_code", "amount_idr", "commission_idr", "net_idr", "payee_name", "account_channel",
    "account_institution", "account_number", "retry_of_line_id",
)
LINE_RESULT = ("status", "payer_reference", "failure_reason", "reconciled_at")

TYPED_INDEXES = [
    ("uq_payment_line_live_fee", "(enrollment_id)", "live AND instalment IS NULL"),
    ("uq_payment_line_live_instalment", "(participant_id, instalment)", "live AND instalment IS NOT NULL"),
]


def _changed(columns, differs: str) -> str:
    return " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in columns)


def _key_spells_columns(kind: str) -> str:
    """The item key of a new line, written from its typed columns, by the batch's kind."""
    return (
        f"(({kind} = 'training_fee' AND NEW.instalment IS NULL AND NEW.enrollment_id IS NOT NULL"
        " AND NEW.item_key = 'fee:' || NEW.enrollment_id)"
        f" OR ({kind} = 'incentive' AND NEW.instalment IS NOT NULL AND NEW.participant_id IS NOT NULL"
        " AND NEW.item_key = 'incentive:' || NEW.participant_id || ':' || NEW.instalment))"
    )


# --- SQLite ---------------------------------------------------------------------------------

def _sqlite_required(total: str) -> str:
    return (
        "COALESCE((SELECT max(CAST(json_extract(t.value, '$[1]') AS INTEGER)) FROM json_each(COALESCE("
        "(SELECT value FROM setting WHERE key = 'payments.approval_thresholds'),"
        f" '{DEFAULT_THRESHOLDS}')) AS t WHERE CAST(json_extract(t.value, '$[0]') AS INTEGER) <= {total}), 1)"
    )


def _sqlite_raise(when: str, key: str) -> str:
    return f"SELECT RAISE(ABORT, 'mitra-rule:{key}') WHERE {when};"


SQLITE_LINES_OF_NEW = "FROM payment_line WHERE batch_id = NEW.id"
SQLITE_TRIGGERS = {
    "payment_batch_guard_update": f"""
        CREATE TRIGGER payment_batch_guard_update BEFORE UPDATE ON payment_batch BEGIN
          {_sqlite_raise(f"NEW.id IS NOT OLD.id OR (OLD.state, NEW.state) NOT IN (VALUES {FORWARD})", "payment.guard.transition")}
          {_sqlite_raise(f"OLD.state <> 'draft' AND ({_changed(BATCH_FROZEN, 'IS NOT')})", "payment.guard.frozen")}
          {_sqlite_raise("OLD.state <> 'draft' AND NEW.approvals_needed IS NOT OLD.approvals_needed", "payment.guard.frozen")}
          {_sqlite_raise(
              "OLD.state = 'draft' AND NEW.state = 'submitted' AND ("
              f"NEW.line_count <> (SELECT count(*) {SQLITE_LINES_OF_NEW})"
              f" OR NEW.total_idr <> (SELECT COALESCE(sum(amount_idr), 0) {SQLITE_LINES_OF_NEW})"
              f" OR NEW.commission_idr <> (SELECT COALESCE(sum(commission_idr), 0) {SQLITE_LINES_OF_NEW}))",
              "payment.guard.totals")}
          {_sqlite_raise(
              f"OLD.state = 'draft' AND NEW.state = 'submitted' AND NEW.approvals_needed < {_sqlite_required('NEW.total_idr')}",
              "payment.guard.approvals")}
          {_sqlite_raise(
              "OLD.state = 'submitted' AND NEW.state = 'approved' AND NEW.approvals_needed >"
              " (SELECT count(DISTINCT approver_id) FROM batch_approval WHERE batch_id = NEW.id)",
              "payment.guard.approvals")}
          {_sqlite_raise("NEW.state = 'sent' AND NEW.sent_by IS NULL", "payment.guard.transition")}
          {_sqlite_raise(
              "OLD.state NOT IN ('sent') AND (NEW.paid_idr IS NOT OLD.paid_idr OR NEW.failed_idr IS NOT OLD.failed_idr)",
              "payment.guard.frozen")}
        END""",
    "payment_batch_no_delete": f"""
        CREATE TRIGGER payment_batch_no_delete BEFORE DELETE ON payment_batch BEGIN
          SELECT RAISE(ABORT, 'mitra-rule:payment.guard.no_delete');
        END""",
    "batch_approval_guard_insert": f"""
        CREATE TRIGGER batch_approval_guard_insert BEFORE INSERT ON batch_approval BEGIN
          {_sqlite_raise("(SELECT state FROM payment_batch WHERE id = NEW.batch_id) IS NOT 'submitted'", "payment.guard.approvals")}
        END""",
    "batch_approval_no_update": """
        CREATE TRIGGER batch_approval_no_update BEFORE UPDATE ON batch_approval BEGIN
          SELECT RAISE(ABORT, 'mitra-rule:payment.guard.approvals');
        END""",
    "batch_approval_no_delete": """
        CREATE TRIGGER batch_approval_no_delete BEFORE DELETE ON batch_approval BEGIN
          SELECT RAISE(ABORT, 'mitra-rule:payment.guard.approvals');
        END""",
    "payment_line_guard_insert": f"""
        CREATE TRIGGER payment_line_guard_insert BEFORE INSERT ON payment_line BEGIN
          {_sqlite_raise("(SELECT state FROM payment_batch WHERE id = NEW.batch_id) IS NOT 'draft'", "payment.guard.frozen")}
          {_sqlite_raise("NOT " + _key_spells_columns("(SELECT kind FROM payment_batch WHERE id = NEW.batch_id)"), "payment.guard.item_key")}
        END""",
    "payment_line_guard_update": f"""
        CREATE TRIGGER payment_line_guard_update BEFORE UPDATE ON payment_line BEGIN
          {_sqlite_raise(_changed(LINE_FIXED, 'IS NOT'), "payment.guard.frozen")}
          {_sqlite_raise("NEW.live IS NOT OLD.live AND (NOT OLD.live OR NOT ("
                         "NEW.status = 'failed' OR (SELECT state FROM payment_batch WHERE id = NEW.batch_id)"
                         " IN ('rejected', 'cancelled')))", "payment.guard.frozen")}
          {_sqlite_raise(f"({_changed(LINE_RESULT, 'IS NOT')}) AND (OLD.status <> 'pending'"
                         " OR (SELECT state FROM payment_batch WHERE id = NEW.batch_id) IS NOT 'sent')",
                         "payment.guard.frozen")}
        END""",
    "payment_line_no_delete": """
        CREATE TRIGGER payment_line_no_delete BEFORE DELETE ON payment_line BEGIN
          SELECT RAISE(ABORT, 'mitra-rule:payment.guard.no_delete');
        END""",
}


# --- PostgreSQL -----------------------------------------------------------------------------



def _pg_if(condition: str, key: str) -> str:
    return f"IF {condition} THEN RAISE EXCEPTION 'mitra-rule:{key}' USING ERRCODE = '23514'; END IF;"


PG_FUNCTIONS = {
    "mitra_payment_batch_guard": f"""
        DECLARE
          lines_count bigint; lines_total numeric; lines_commission numeric; required int;
        BEGIN
          IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'mitra-rule:payment.guard.no_delete' USING ERRCODE = '23514';
          END IF;
          {_pg_if(f"NEW.id IS DISTINCT FROM OLD.id OR (OLD.state, NEW.state) NOT IN ({FORWARD})", "payment.guard.transition")}
          {_pg_if(f"OLD.state <> 'draft' AND ({_changed([*BATCH_FROZEN, 'approvals_needed'], 'IS DISTINCT FROM')})", "payment.guard.frozen")}
          IF OLD.state = 'draft' AND NEW.state = 'submitted' THEN
            SELECT count(*), COALESCE(sum(amount_idr), 0), COALESCE(sum(commission_idr), 0)
              INTO lines_count, lines_total, lines_commission FROM payment_line WHERE batch_id = NEW.id;
            {_pg_if("NEW.line_count <> lines_count OR NEW.total_idr <> lines_total OR NEW.commission_idr <> lines_commission", "payment.guard.totals")}
            SELECT COALESCE(max((t->>1)::int), 1) INTO required
              FROM jsonb_array_elements(COALESCE(
                (SELECT value FROM setting WHERE key = 'payments.approval_thresholds'), '{DEFAULT_THRESHOLDS}')::jsonb) AS t
              WHERE (t->>0)::bigint <= NEW.total_idr;
            {_pg_if("NEW.approvals_needed < required", "payment.guard.approvals")}
          END IF;
          {_pg_if("OLD.state = 'submitted' AND NEW.state = 'approved' AND NEW.approvals_needed >"
                  " (SELECT count(DISTINCT approver_id) FROM batch_approval WHERE batch_id = NEW.id)", "payment.guard.approvals")}
          {_pg_if("NEW.state = 'sent' AND NEW.sent_by IS NULL", "payment.guard.transition")}
          {_pg_if("OLD.state <> 'sent' AND (NEW.paid_idr IS DISTINCT FROM OLD.paid_idr OR NEW.failed_idr IS DISTINCT FROM OLD.failed_idr)", "payment.guard.frozen")}
          RETURN NEW;
        END""",
    "mitra_batch_approval_guard": f"""
        BEGIN
          IF TG_OP <> 'INSERT' THEN
            RAISE EXCEPTION 'mitra-rule:payment.guard.approvals' USING ERRCODE = '23514';
          END IF;
          {_pg_if("(SELECT state FROM payment_batch WHERE id = NEW.batch_id) IS DISTINCT FROM 'submitted'", "payment.guard.approvals")}
          RETURN NEW;
        END""",
    "mitra_payment_line_guard": f"""
        DECLARE
          batch_state text; batch_kind text;
        BEGIN
          IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'mitra-rule:payment.guard.no_delete' USING ERRCODE = '23514';
          END IF;
          SELECT state, kind INTO batch_state, batch_kind FROM payment_batch WHERE id = NEW.batch_id;
          IF TG_OP = 'INSERT' THEN
            {_pg_if("batch_state IS DISTINCT FROM 'draft'", "payment.guard.frozen")}
            {_pg_if("NOT " + _key_spells_columns("batch_kind"), "payment.guard.item_key")}
            RETURN NEW;
          END IF;
          {_pg_if(_changed(LINE_FIXED, 'IS DISTINCT FROM'), "payment.guard.frozen")}
          {_pg_if("NEW.live IS DISTINCT FROM OLD.live AND (NOT OLD.live OR NOT (NEW.status = 'failed'"
                  " OR batch_state IN ('rejected', 'cancelled')))", "payment.guard.frozen")}
          {_pg_if(f"({_changed(LINE_RESULT, 'IS DISTINCT FROM')}) AND (OLD.status <> 'pending'"
                  " OR batch_state IS DISTINCT FROM 'sent')", "payment.guard.frozen")}
          RETURN NEW;
        END""",
}
PG_TRIGGERS = [
    ("payment_batch_guard", "payment_batch", "UPDATE OR DELETE", "mitra_payment_batch_guard"),
    ("batch_approval_guard", "batch_approval", "INSERT OR UPDATE OR DELETE", "mitra_batch_approval_guard"),
    ("payment_line_guard", "payment_line", "INSERT OR UPDATE OR DELETE", "mitra_payment_line_guard"),
]


def upgrade() -> None:
    for name, columns, where in TYPED_INDEXES:
        op.execute(f"CREATE UNIQUE INDEX {name} ON payment_line {columns} WHERE {where}")
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)
        return
    for function, body in PG_FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$")
    for trigger, table, events, function in PG_TRIGGERS:
        op.execute(f"CREATE TRIGGER {trigger} BEFORE {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for trigger, table, _events, _function in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        for function in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    for name, _columns, _where in TYPED_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
