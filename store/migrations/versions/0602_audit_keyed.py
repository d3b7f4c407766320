"""audit keyed: events are hashed under a key kept outside the database (HMAC)

Revision ID: 0602
Revises: 0601
Create Date: 2026-12-02

The head records the key's fingerprint (set by the first keyed append, then fixed) and the first
event hashed with the key (`keyed_from`; events before it keep their plain sha256). Triggers keep
both fixed, besides moving the head only forward.
"""

from alembic import op
import sqlalchemy as sa

revision = "0602"
down_revision = "0601"
branch_labels = None
depends_on = None

SQLITE_HEAD_TRIGGER = """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
   WHEN NEW.id <> OLD.id OR NEW.last_id <= OLD.last_id OR NEW.keyed_from <> OLD.keyed_from
     OR (OLD.key_fingerprint <> '' AND NEW.key_fingerprint <> OLD.key_fingerprint)
   BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"""
PG_HEAD_FUNCTION = """CREATE OR REPLACE FUNCTION mitra_audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_id > OLD.last_id AND NEW.keyed_from = OLD.keyed_from
        AND (OLD.key_fingerprint = '' OR NEW.key_fingerprint = OLD.key_fingerprint) THEN RETURN NEW; END IF;
     RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'P0001';
   END $$"""


def upgrade() -> None:
    op.add_column("audit_head", sa.Column("key_fingerprint", sa.String(length=16), nullable=False, server_default=""))
    op.add_column("audit_head", sa.Column("keyed_from", sa.BigInteger(), nullable=False, server_default="1"))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_head_forward_only")
        op.execute("UPDATE audit_head SET keyed_from = last_id + 1")
        op.execute(SQLITE_HEAD_TRIGGER)
    else:
        op.execute("ALTER TABLE audit_head DISABLE TRIGGER audit_head_forward_only")
        op.execute("UPDATE audit_head SET keyed_from = last_id + 1")
        op.execute("ALTER TABLE audit_head ENABLE TRIGGER audit_head_forward_only")
        op.execute(PG_HEAD_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_head_forward_only")
        op.execute("""CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
           WHEN NEW.id <> OLD.id OR NEW.last_id <= OLD.last_id
           BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")
        with op.batch_alter_table("audit_head") as batch:
            batch.drop_column("keyed_from")
            batch.drop_column("key_fingerprint")
    else:
        op.drop_column("audit_head", "keyed_from")
        op.drop_column("audit_head", "key_fingerprint")
        op.execute("""CREATE OR REPLACE FUNCTION mitra_audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_id > OLD.last_id THEN RETURN NEW; END IF;
             RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'P0001';
           END $$""")
