"""operator sessions: consoles logged in (from a terminal, over SSH or in a browser), their last
action, and their end (logged out, or ended by an admin)

Revision ID: 0608
Revises: 0607
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from store.models.base import ID

revision = "0608"
down_revision = "0607"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_session",
        sa.Column("id", ID, nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("operator_id", ID, nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("peer", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_action_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", ID, nullable=True),
        sa.Column("end_reason", sa.String(length=300), nullable=False),
        sa.CheckConstraint("origin IN ('terminal', 'ssh', 'web')", name=op.f("ck_operator_session_origin_valid")),
        sa.CheckConstraint("ended_at IS NULL OR end_reason <> ''", name=op.f("ck_operator_session_ended_with_reason")),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"], name=op.f("fk_operator_session_operator_id_operator")),
        sa.ForeignKeyConstraint(["ended_by"], ["operator.id"], name=op.f("fk_operator_session_ended_by_operator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_session")),
        sa.UniqueConstraint("token", name=op.f("uq_operator_session_token")),
    )
    op.create_index(op.f("ix_operator_session_operator_id"), "operator_session", ["operator_id"])
    op.create_index("ix_operator_session_open", "operator_session", ["ended_at", "last_action_at"])


def downgrade() -> None:
    op.drop_table("operator_session")
