"""payment retry overrides: a failed line's item goes to the same account again only when an
approver records why

Revision ID: 0607
Revises: 0605
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from store.models.base import ID


revision = "0607"
down_revision = "0605"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_retry_override",
        sa.Column("id", ID, nullable=False),
        sa.Column("failed_line_id", ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("allowed_by", ID, nullable=False),
        sa.Column("allowed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason <> ''", name=op.f("ck_payment_retry_override_retry_override_reasoned")),
        sa.ForeignKeyConstraint(["failed_line_id"], ["payment_line.id"],
                                name=op.f("fk_payment_retry_override_failed_line_id_payment_line")),
        sa.ForeignKeyConstraint(["allowed_by"], ["operator.id"], name=op.f("fk_payment_retry_override_allowed_by_operator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_retry_override")),
        sa.UniqueConstraint("failed_line_id", name=op.f("uq_payment_retry_override_failed_line_id")),
    )


def downgrade() -> None:
    op.drop_table("payment_retry_override")
