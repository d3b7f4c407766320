"""participants: revocation and cancellation records, one card per NIK in the schema, list indexes

Revision ID: 0301
Revises: 0401
Create Date: 2026-11-30

- participant: when and why a card was revoked; a CHECK that a card (and a wave) exists exactly
  when the participant left `registered`; keyset indexes (wave|province, status, id).
- enrollment: when and why it was cancelled (a cancellation needs a reason).
- wave: how many registered participants the selection considered (the funnel's first figure).
- one rejection per participant and wave; one entry per NIK in an exclusion list.
"""

from alembic import op
import sqlalchemy as sa

revision = "0301"
down_revision = "0401"
branch_labels = None
depends_on = None

CARD_ONLY_WHEN_SELECTED = (
    "(status = 'registered' AND card_number IS NULL AND wave_id IS NULL AND balance_idr = 0)"
    " OR (status <> 'registered' AND card_number IS NOT NULL AND wave_id IS NOT NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        # The server default only fills existing rows; the model supplies the value afterwards.
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=False, server_default=""))
        batch_op.create_check_constraint(
            op.f("ck_enrollment_cancellation_is_reasoned"), "status <> 'cancelled' OR cancel_reason <> ''"
        )
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.alter_column("cancel_reason", server_default=None)

    with op.batch_alter_table("exclusion_entry", schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f("uq_exclusion_entry_list_id_nik"), ["list_id", "nik"])

    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoke_reason", sa.String(length=40), nullable=False, server_default=""))
        batch_op.create_check_constraint(op.f("ck_participant_card_only_when_selected"), CARD_ONLY_WHEN_SELECTED)
        batch_op.drop_index("ix_participant_province_status")
        batch_op.drop_index("ix_participant_wave_status")
        batch_op.create_index("ix_participant_province_status_id", ["province_code", "status", "id"], unique=False)
        batch_op.create_index("ix_participant_wave_status_id", ["wave_id", "status", "id"], unique=False)
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.alter_column("revoke_reason", server_default=None)

    with op.batch_alter_table("selection_rejection", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            op.f("uq_selection_rejection_wave_id_participant_id"), ["wave_id", "participant_id"]
        )

    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registered_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_column("registered_count")

    with op.batch_alter_table("selection_rejection", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_selection_rejection_wave_id_participant_id"), type_="unique")

    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_index("ix_participant_wave_status_id")
        batch_op.drop_index("ix_participant_province_status_id")
        batch_op.create_index("ix_participant_wave_status", ["wave_id", "status"], unique=False)
        batch_op.create_index("ix_participant_province_status", ["province_code", "status"], unique=False)
        batch_op.drop_constraint(op.f("ck_participant_card_only_when_selected"), type_="check")
        batch_op.drop_column("revoke_reason")
        batch_op.drop_column("revoked_at")

    with op.batch_alter_table("exclusion_entry", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_exclusion_entry_list_id_nik"), type_="unique")

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enrollment_cancellation_is_reasoned"), type_="check")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")
