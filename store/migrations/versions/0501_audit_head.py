"""audit head: the chain's recorded end, so removing the newest events is detected

Revision ID: 0501
Revises: 0301
Create Date: 2026-11-30

Every append moves the single `audit_head` row forward in the same transaction. Triggers refuse
deleting it or moving it backwards, like the append-only triggers on `audit_event`.
"""

from alembic import op
import sqlalchemy as sa

revision = "0501"
down_revision = "0301"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

SQLITE_HEAD_TRIGGERS = [
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
       WHEN NEW.id <> OLD.id OR NEW.last_id <= OLD.last_id
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
]
# The message matches the audit log's own triggers, so the store reports both the same way.
PG_HEAD_TRIGGERS = [
    """CREATE FUNCTION mitra_audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_id > OLD.last_id THEN RETURN NEW; END IF;
         RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'P0001';
       END $$""",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
       FOR EACH ROW EXECUTE FUNCTION mitra_audit_head_forward_only()""",
    """CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
       FOR EACH STATEMENT EXECUTE FUNCTION mitra_audit_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # Start from the chain as it stands (an existing database keeps its events).
    op.execute(
        "INSERT INTO audit_head (id, last_id, last_hash) "
        f"SELECT 1, COALESCE(MAX(id), 0), COALESCE((SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1), '{GENESIS_HASH}') "
        "FROM audit_event"
    )
    is_sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_HEAD_TRIGGERS if is_sqlite else PG_HEAD_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_head")  # its triggers go with it
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS mitra_audit_head_forward_only()")
