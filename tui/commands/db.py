"""`mitra db upgrade` and `mitra db current`."""

from __future__ import annotations

import click

from store import migrate
from store.engine import create_database
from tui.commands.common import db_option, lang_option, run
from tui.i18n import t


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade it, or show its revision."""


@db_group.command("upgrade")
@db_option
@lang_option
def upgrade(db_url: str | None) -> None:
    """Migrate the database to the schema this Mitra expects (an admin's step on a shared server)."""

    async def main() -> tuple[str | None, str]:
        db = create_database(db_url)
        try:
            return await migrate.upgrade(db)
        finally:
            await db.dispose()

    before, after = run(main)
    if before == after:
        click.echo(t("cli.db.up_to_date", revision=after))
    else:
        click.echo(t("cli.db.upgraded", before=before or "-", after=after))


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
