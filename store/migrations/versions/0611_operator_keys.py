"""operator keys: SSH public keys that log an operator into `mitra serve ssh`; a session
records the key that logged it in

Revision ID: 0611
Revises: 0610
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from store.models.base import ID

revision = "0611"
down_revision = "0610"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_key",
        sa.Column("id", ID, nullable=False),
        sa.Column("operator_id", ID, nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=60), nullable=False),
        sa.Column("comment", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", ID, nullable=True),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"], name=op.f("fk_operator_key_operator_id_operator")),
        sa.ForeignKeyConstraint(["added_by"], ["operator.id"], name=op.f("fk_operator_key_added_by_operator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_key")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_operator_key_fingerprint")),
    )
    op.create_index(op.f("ix_operator_key_operator_id"), "operator_key", ["operator_id"])
    with op.batch_alter_table("operator_session") as batch:
        batch.add_column(sa.Column("key_fingerprint", sa.String(length=60), nullable=False, server_default=""))
        batch.alter_column("key_fingerprint", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("operator_session") as batch:
        batch.drop_column("key_fingerprint")
    op.drop_table("operator_key")
