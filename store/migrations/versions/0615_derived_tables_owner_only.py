"""derived tables owner only: the tally and the search table are written by their triggers alone

Revision ID: 0615
Revises: 0614
Create Date: 2026-12-06

`participant_tally` (0610) and PostgreSQL's `participant_search` (0613) are derived from
`participant` by triggers. Their trigger functions ran as the login whose statement fired them, so
the runtime role needed INSERT, UPDATE and DELETE on both, and with them any login of a console
could set a wave's funnel to any count, or hide a person from the search, without touching a
participant. The functions now run as their owner, the schema owner (SECURITY DEFINER, with the
schema fixed in their search_path so no table of the caller's can stand in), and `mitra db
upgrade` grants the runtime role only SELECT on both tables (store/roles.py).

SQLite has no logins: whoever opens the file owns it. Nothing changes there.
"""

from alembic import op

revision = "0615"
down_revision = "0614"
branch_labels = None
depends_on = None

FUNCTIONS = ("mitra_participant_tally()", "mitra_participant_search()", "mitra_participant_tally_truncate()")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for function in FUNCTIONS:
        # format(%I): the schema's name quoted as an identifier, whatever it is.
        op.execute(f"""DO $$ BEGIN
            EXECUTE format('ALTER FUNCTION {function} SECURITY DEFINER SET search_path = %I, pg_temp',
                           current_schema());
        END $$""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path")
