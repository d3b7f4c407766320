"""wave scheme fixed: once its selection begins, a wave's scheme and quota no longer change

Revision ID: 0617
Revises: 0616
Create Date: 2026-12-06

The services lock a wave's scheme (training balance, incentive and survey amounts and counts) and
its quota from its selection on (store/services/waves.py); the database did not. A login raising a
live wave's training balance raised what each of its participants may buy (0616 caps their
courses at it), and its incentive amount what each is paid. The database refuses it now.
"""

from alembic import op

revision = "0617"
down_revision = "0616"
branch_labels = None
depends_on = None

SCHEME = ("training_balance_idr", "incentive_idr", "incentive_count", "survey_idr", "survey_count")


def _changed(distinct: str) -> str:
    """The scheme changed from the selection on; the quota after it (while selecting, 0612's
    wave.selecting_fixed holds it, with the seed and dates the draw depends on)."""
    scheme = " OR ".join(f"NEW.{column} {distinct} OLD.{column}" for column in SCHEME)
    return (f"(OLD.state IN ('selecting', 'in_progress', 'closed') AND ({scheme}))"
            f" OR (OLD.state IN ('in_progress', 'closed') AND NEW.quota {distinct} OLD.quota)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TRIGGER wave_scheme_fixed BEFORE UPDATE ON wave WHEN {_changed('IS NOT')}"
            " BEGIN SELECT RAISE(ABORT, 'mitra-rule:wave.scheme_fixed'); END"
        )
        return
    op.execute(
        "CREATE FUNCTION mitra_wave_scheme_fixed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " RAISE EXCEPTION 'mitra-rule:wave.scheme_fixed' USING ERRCODE = '23514'; END $$"
    )
    op.execute(
        "CREATE TRIGGER wave_scheme_fixed BEFORE UPDATE ON wave FOR EACH ROW"
        f" WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION mitra_wave_scheme_fixed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS wave_scheme_fixed")
        return
    op.execute("DROP TRIGGER IF EXISTS wave_scheme_fixed ON wave")
    op.execute("DROP FUNCTION IF EXISTS mitra_wave_scheme_fixed()")
