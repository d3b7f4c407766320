"""`mitra db upgrade` and `mitra db current`."""

from __future__ import annotations

import click

from store import migrate
from store.engine import create_database
from store.roles import DEFAULT_RUNTIME_ROLE, grant_runtime_role
from tui.commands.common import db_option, lang_option, run
from tui.i18n import t


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade it, or show its revision."""


@db_group.command("upgrade")
@click.option("--runtime-role", default=DEFAULT_RUNTIME_ROLE, show_default=True, metavar="ROLE",
              help="PostgreSQL: the group role consoles log in through (created and granted; owns nothing).")
@db_option
@lang_option
def upgrade(runtime_role: str, db_url: str | None) -> None:
    """Migrate the database to the schema this Mitra expects (an admin's step on a shared server,
    run as the schema owner); on PostgreSQL also grant the runtime role (store/roles.py)."""

    async def main() -> tuple[str | None, str, str]:
        db = create_database(db_url)
        try:
            before, after = await migrate.upgrade(db)
            return before, after, await grant_runtime_role(db, runtime_role)
        finally:
            await db.dispose()

    before, after, role = run(main)
    if before == after:
        click.echo(t("cli.db.up_to_date", revision=after))
    else:
        click.echo(t("cli.db.upgraded", before=before or "-", after=after))
    if role:
        click.echo(t("cli.db.runtime_role", role=role))


@db_group.command("current")
@db_option
@lang_option
def current(db_url: str | None) -> None:
    """Show the database's schema revision and the one this Mitra expects."""

    async def main() -> str | None:
        db = create_database(db_url)
        try:
            return await migrate.current_revision(db)
        finally:
            await db.dispose()

    revision = run(main)
    click.echo(t("cli.db.current", current=revision or "-", expected=migrate.head_revision()))
