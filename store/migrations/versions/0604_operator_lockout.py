"""operator lockout: consecutive failed logins lock an account until a time

Revision ID: 0604
Revises: 0603
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = "0604"
down_revision = "0603"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("operator", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operator") as batch:
        batch.drop_column("locked_until")
