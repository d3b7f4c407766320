"""platform payee: fees are paid to the platform; failed payouts are retried only to a changed account

Revision ID: 0607
Revises: 0605
Create Date: 2026-12-03

- payout_account: a third owner kind, the platform (platform_id, one account per platform, held
  under a tax number like a provider's). The PMO pays a training fee to the platform (gross); the
  platform passes it on to the provider less its commission.
- obligation_item.reported_idr: the amount a "fees disbursed to providers" report states, checked
  against the nets owed to providers (store/services/obligations.py).
- payment_line.failure_kind: "account" or "other" once a line failed ("" before). SQLite cannot add
  a CHECK to an existing table without recreating it (which would drop its guard triggers), so the
  rule is kept by the line guard triggers, redefined here on both back ends: the kind is set only
  with a failed result. And a new line may not pay again, to the very account it failed on, an item
  whose latest failure was for an account reason, unless an override was recorded: SQLite checks
  it per row (an item-key index probe), PostgreSQL once per INSERT statement over its new rows
  (payment_line_retry_guard, planned afresh each time).
- payment_retry_override: that override (one per failed line, with who and why), never changed or
  removed, and only for a line that failed for an account reason.
Lines that failed before this revision are taken as account failures (their reasons were never
classified): they come back after the account changed, or with an override.
"""

from alembic import op
import sqlalchemy as sa

revision = "0607"
down_revision = "0605"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

ACCOUNT_CHECKS_NEW = {
    "ck_payout_account_owner_kind_valid": "owner_kind IN ('participant', 'provider', 'platform')",
    "ck_payout_account_one_owner": (
        "(owner_kind = 'participant' AND participant_id IS NOT NULL AND provider_id IS NULL AND platform_id IS NULL)"
        " OR (owner_kind = 'provider' AND provider_id IS NOT NULL AND participant_id IS NULL AND platform_id IS NULL)"
        " OR (owner_kind = 'platform' AND platform_id IS NOT NULL AND participant_id IS NULL AND provider_id IS NULL)"
    ),
    "ck_payout_account_holder_identified": (
        "(owner_kind = 'participant' AND length(holder_nik) = 16)"
        " OR (owner_kind IN ('provider', 'platform') AND holder_npwp <> '')"
    ),
}
ACCOUNT_CHECKS_OLD = {
    "ck_payout_account_owner_kind_valid": "owner_kind IN ('participant', 'provider')",
    "ck_payout_account_one_owner": (
        "(owner_kind = 'participant' AND participant_id IS NOT NULL AND provider_id IS NULL)"
        " OR (owner_kind = 'provider' AND provider_id IS NOT NULL AND participant_id IS NULL)"
    ),
    "ck_payout_account_holder_identified": (
        "(owner_kind = 'participant' AND length(holder_nik) = 16)"
        " OR (owner_kind = 'provider' AND holder_npwp <> '')"
    ),
}
REPORTED_CHECK = (
    "reported_idr IS NULL OR (kind = 'disburse_fees' AND submitted_on IS NOT NULL AND reported_idr >= 0)"
)

# --- the payment line guard, as 0601 left it and as it is now ----------------------------------

LINE_FIXED = (
    "id", "batch_id", "item_key", "enrollment_id", "participant_id", "provider_id", "instalment",
    "province_code", "amount_idr", "commission_idr", "net_idr", "payee_name", "account_channel",
    "account_institution", "account_number", "retry_of_line_id",
)
LINE_RESULT_OLD = ("status", "payer_reference", "failure_reason", "reconciled_at")
LINE_RESULT_NEW = (*LINE_RESULT_OLD, "failure_kind")
KIND_MATCHES_STATUS = (
    "((NEW.status = 'failed' AND NEW.failure_kind IN ('account', 'other'))"
    " OR (NEW.status <> 'failed' AND NEW.failure_kind = ''))"
)
# The item's latest failed line failed for an account reason, on the account this new line names,
# and nobody recorded an override for it.
RETRY_TO_SAME_ACCOUNT = (
    "EXISTS (SELECT 1 FROM payment_line f WHERE f.item_key = NEW.item_key AND f.status = 'failed'"
    " AND f.failure_kind = 'account' AND f.payee_name = NEW.payee_name"
    " AND f.account_channel = NEW.account_channel AND f.account_institution = NEW.account_institution"
    " AND f.account_number = NEW.account_number"
    " AND NOT EXISTS (SELECT 1 FROM payment_retry_override o WHERE o.line_id = f.id)"
    " AND NOT EXISTS (SELECT 1 FROM payment_line g WHERE g.item_key = f.item_key AND g.status = 'failed'"
    " AND g.id > f.id))"
)


def _changed(columns, differs: str) -> str:
    return " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in columns)


def _key_spells_columns(kind: str) -> str:
    return (
        f"(({kind} = 'training_fee' AND NEW.instalment IS NULL AND NEW.enrollment_id IS NOT NULL"
        " AND NEW.item_key = 'fee:' || NEW.enrollment_id)"
        f" OR ({kind} = 'incentive' AND NEW.instalment IS NOT NULL AND NEW.participant_id IS NOT NULL"
        " AND NEW.item_key = 'incentive:' || NEW.participant_id || ':' || NEW.instalment))"
    )


def _sqlite_raise(when: str, key: str) -> str:
    return f"SELECT RAISE(ABORT, 'mitra-rule:{key}') WHERE {when};"


def _sqlite_line_triggers(new: bool) -> dict[str, str]:
    result = LINE_RESULT_NEW if new else LINE_RESULT_OLD
    insert_extra = update_extra = ""
    if new:
        insert_extra = (
            _sqlite_raise(f"NOT {KIND_MATCHES_STATUS}", "payment.guard.failure_kind")
            + _sqlite_raise(RETRY_TO_SAME_ACCOUNT, "payment.guard.retry_account")
        )
        update_extra = _sqlite_raise(f"NOT {KIND_MATCHES_STATUS}", "payment.guard.failure_kind")
    return {
        "payment_line_guard_insert": f"""
        CREATE TRIGGER payment_line_guard_insert BEFORE INSERT ON payment_line BEGIN
          {_sqlite_raise("(SELECT state FROM payment_batch WHERE id = NEW.batch_id) IS NOT 'draft'", "payment.guard.frozen")}
          {_sqlite_raise("NOT " + _key_spells_columns("(SELECT kind FROM payment_batch WHERE id = NEW.batch_id)"), "payment.guard.item_key")}
          {insert_extra}
        END""",
        "payment_line_guard_update": f"""
        CREATE TRIGGER payment_line_guard_update BEFORE UPDATE ON payment_line BEGIN
          {_sqlite_raise(_changed(LINE_FIXED, 'IS NOT'), "payment.guard.frozen")}
          {_sqlite_raise("NEW.live IS NOT OLD.live AND (NOT OLD.live OR NOT ("
                         "NEW.status = 'failed' OR (SELECT state FROM payment_batch WHERE id = NEW.batch_id)"
                         " IN ('rejected', 'cancelled')))", "payment.guard.frozen")}
          {_sqlite_raise(f"({_changed(result, 'IS NOT')}) AND (OLD.status <> 'pending'"
                         " OR (SELECT state FROM payment_batch WHERE id = NEW.batch_id) IS NOT 'sent')",
                         "payment.guard.frozen")}
          {update_extra}
        END""",
    }


def _pg_if(condition: str, key: str) -> str:
    return f"IF {condition} THEN RAISE EXCEPTION 'mitra-rule:{key}' USING ERRCODE = '23514'; END IF;"


def _pg_line_guard(new: bool) -> str:
    """The row trigger's function. On PostgreSQL the retry rule is checked once per statement
    instead (PG_RETRY_GUARD): a per-row look-up, planned while payment_line was still small, would
    scan the whole table for every row of an 800,000-line INSERT."""
    result = LINE_RESULT_NEW if new else LINE_RESULT_OLD
    insert_extra = update_extra = ""
    if new:
        insert_extra = _pg_if(f"NOT {KIND_MATCHES_STATUS}", "payment.guard.failure_kind")
        update_extra = _pg_if(f"NOT {KIND_MATCHES_STATUS}", "payment.guard.failure_kind")
    return f"""
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
            {insert_extra}
            RETURN NEW;
          END IF;
          {_pg_if(_changed(LINE_FIXED, 'IS DISTINCT FROM'), "payment.guard.frozen")}
          {_pg_if("NEW.live IS DISTINCT FROM OLD.live AND (NOT OLD.live OR NOT (NEW.status = 'failed'"
                  " OR batch_state IN ('rejected', 'cancelled')))", "payment.guard.frozen")}
          {_pg_if(f"({_changed(result, 'IS DISTINCT FROM')}) AND (OLD.status <> 'pending'"
                  " OR batch_state IS DISTINCT FROM 'sent')", "payment.guard.frozen")}
          {update_extra}
          RETURN NEW;
        END"""


# PostgreSQL: the retry rule over the rows one INSERT added, set-based and planned afresh each time
# (EXECUTE), against payment_line as it is then. (SQLite's row trigger probes the item key index.)
PG_RETRY_GUARD = (
    "DECLARE found_one boolean; BEGIN"
    " EXECUTE 'SELECT EXISTS (SELECT 1 FROM new_lines n JOIN payment_line f ON f.item_key = n.item_key"
    " WHERE f.status = ''failed'' AND f.failure_kind = ''account'' AND f.payee_name = n.payee_name"
    " AND f.account_channel = n.account_channel AND f.account_institution = n.account_institution"
    " AND f.account_number = n.account_number"
    " AND NOT EXISTS (SELECT 1 FROM payment_retry_override o WHERE o.line_id = f.id)"
    " AND NOT EXISTS (SELECT 1 FROM payment_line g WHERE g.item_key = f.item_key AND g.status = ''failed''"
    " AND g.id > f.id))' INTO STRICT found_one;"
    " IF found_one THEN RAISE EXCEPTION 'mitra-rule:payment.guard.retry_account' USING ERRCODE = '23514';"
    " END IF; RETURN NULL; END"
)


# --- the override's own guard ------------------------------------------------------------------

OVERRIDE_FOR_ACCOUNT_FAILURE = (
    "EXISTS (SELECT 1 FROM payment_line WHERE id = NEW.line_id AND status = 'failed' AND failure_kind = 'account')"
)
SQLITE_OVERRIDE_TRIGGERS = {
    "payment_retry_override_guard_insert": f"""
        CREATE TRIGGER payment_retry_override_guard_insert BEFORE INSERT ON payment_retry_override BEGIN
          {_sqlite_raise("NOT " + OVERRIDE_FOR_ACCOUNT_FAILURE, "payment.guard.override")}
        END""",
    "payment_retry_override_no_update": """
        CREATE TRIGGER payment_retry_override_no_update BEFORE UPDATE ON payment_retry_override BEGIN
          SELECT RAISE(ABORT, 'mitra-rule:payment.guard.override');
        END""",
    "payment_retry_override_no_delete": """
        CREATE TRIGGER payment_retry_override_no_delete BEFORE DELETE ON payment_retry_override BEGIN
          SELECT RAISE(ABORT, 'mitra-rule:payment.guard.override');
        END""",
}
PG_OVERRIDE_GUARD = f"""
        BEGIN
          IF TG_OP <> 'INSERT' THEN
            RAISE EXCEPTION 'mitra-rule:payment.guard.override' USING ERRCODE = '23514';
          END IF;
          {_pg_if("NOT " + OVERRIDE_FOR_ACCOUNT_FAILURE, "payment.guard.override")}
          RETURN NEW;
        END"""


def _set_line_guard(new: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, statement in _sqlite_line_triggers(new).items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)
    else:
        op.execute(
            f"CREATE OR REPLACE FUNCTION mitra_payment_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$ {_pg_line_guard(new)} $$"
        )


def upgrade() -> None:
    is_sqlite = op.get_bind().dialect.name == "sqlite"

    with op.batch_alter_table("payout_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform_id", ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_payout_account_platform_id_platform"), "platform", ["platform_id"], ["id"])
        batch_op.create_unique_constraint(batch_op.f("uq_payout_account_platform_id"), ["platform_id"])
        for name in ACCOUNT_CHECKS_OLD:
            batch_op.drop_constraint(batch_op.f(name), type_="check")
        for name, condition in ACCOUNT_CHECKS_NEW.items():
            batch_op.create_check_constraint(batch_op.f(name), condition)

    with op.batch_alter_table("obligation_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reported_idr", sa.BigInteger(), nullable=True))
        batch_op.create_check_constraint(batch_op.f("ck_obligation_item_reported_amount"), REPORTED_CHECK)

    # A plain ADD COLUMN (no batch): recreating payment_line on SQLite would drop its triggers.
    op.add_column("payment_line", sa.Column("failure_kind", sa.String(length=20), nullable=False, server_default=""))
    op.execute("UPDATE payment_line SET failure_kind = 'account' WHERE status = 'failed'")

    op.create_table(
        "payment_retry_override",
        sa.Column("id", ID, nullable=False),
        sa.Column("line_id", ID, nullable=False),
        sa.Column("granted_by", ID, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("reason <> ''", name=op.f("ck_payment_retry_override_reasoned")),
        sa.ForeignKeyConstraint(["line_id"], ["payment_line.id"], name=op.f("fk_payment_retry_override_line_id_payment_line")),
        sa.ForeignKeyConstraint(["granted_by"], ["operator.id"], name=op.f("fk_payment_retry_override_granted_by_operator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_retry_override")),
        sa.UniqueConstraint("line_id", name=op.f("uq_payment_retry_override_line_id")),
    )

    _set_line_guard(True)
    if is_sqlite:
        for statement in SQLITE_OVERRIDE_TRIGGERS.values():
            op.execute(statement)
    else:
        op.execute(
            f"CREATE FUNCTION mitra_payment_line_retry_guard() RETURNS trigger LANGUAGE plpgsql AS $$ {PG_RETRY_GUARD} $$"
        )
        op.execute(
            "CREATE TRIGGER payment_line_retry_guard AFTER INSERT ON payment_line REFERENCING NEW TABLE AS new_lines"
            " FOR EACH STATEMENT EXECUTE FUNCTION mitra_payment_line_retry_guard()"
        )
        op.execute(
            "CREATE FUNCTION mitra_payment_retry_override_guard() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" {PG_OVERRIDE_GUARD} $$"
        )
        op.execute(
            "CREATE TRIGGER payment_retry_override_guard BEFORE INSERT OR UPDATE OR DELETE ON payment_retry_override"
            " FOR EACH ROW EXECUTE FUNCTION mitra_payment_retry_override_guard()"
        )


def downgrade() -> None:
    is_sqlite = op.get_bind().dialect.name == "sqlite"
    if is_sqlite:
        for name in SQLITE_OVERRIDE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS payment_line_retry_guard ON payment_line")
        op.execute("DROP FUNCTION IF EXISTS mitra_payment_line_retry_guard()")
        op.execute("DROP TRIGGER IF EXISTS payment_retry_override_guard ON payment_retry_override")
        op.execute("DROP FUNCTION IF EXISTS mitra_payment_retry_override_guard()")
    op.drop_table("payment_retry_override")
    _set_line_guard(False)
    if is_sqlite:
        op.execute("ALTER TABLE payment_line DROP COLUMN failure_kind")
    else:
        op.drop_column("payment_line", "failure_kind")

    with op.batch_alter_table("obligation_item", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_obligation_item_reported_amount"), type_="check")
        batch_op.drop_column("reported_idr")

    op.execute("DELETE FROM payout_account WHERE owner_kind = 'platform'")
    with op.batch_alter_table("payout_account", schema=None) as batch_op:
        for name in ACCOUNT_CHECKS_NEW:
            batch_op.drop_constraint(batch_op.f(name), type_="check")
        for name, condition in ACCOUNT_CHECKS_OLD.items():
            batch_op.create_check_constraint(batch_op.f(name), condition)
        batch_op.drop_constraint(batch_op.f("uq_payout_account_platform_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_payout_account_platform_id_platform"), type_="foreignkey")
        batch_op.drop_column("platform_id")
