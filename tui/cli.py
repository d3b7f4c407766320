"""The `mitra` command. Without a subcommand it opens the console.

Every command takes `--db URL` (else $MITRA_DATABASE_URL, else a SQLite file in the user data
directory) and `--lang en|id`. Commands that change data act as `--operator USER`.
"""

from __future__ import annotations

import os

import click

from tui.commands.applications import platforms_group
from tui.commands.audit import audit_group
from tui.commands.common import db_option, lang_option
from tui.commands.console import console, demo, open_checked, run_console
from tui.commands.db import db_group
from tui.commands.imports import import_group
from tui.commands.operators import operators_group
from tui.commands.payments import payments_group
from tui.commands.providers import curation_group
from tui.commands.participants import blacklist_group, participants_group
from tui.commands.waves import waves_group


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--theme", type=click.Choice(["default", "ansi"]), default="default",
              help="Colours: the default theme, or ansi to follow the terminal's palette (good over SSH).")
@db_option
@click.option("--read-db", metavar="URL", envvar="MITRA_READ_DATABASE_URL", default=None, expose_value=False,
              callback=lambda _ctx, _param, value: _use_replica(value),
              help="A read replica (PostgreSQL) for lists, counts and reports (default: $MITRA_READ_DATABASE_URL).")
@lang_option
@click.pass_context
def main(ctx: click.Context, theme: str, db_url: str | None) -> None:
    """Mitra: the Kartu Prakerja back office in your terminal."""
    if ctx.invoked_subcommand is None:
        run_console(open_checked(db_url), theme=theme)


def _use_replica(url: str | None) -> None:
    # Every command opens its database through store.migrate.open_database, which reads this.
    if url:
        os.environ["MITRA_READ_DATABASE_URL"] = url


main.add_command(demo)
main.add_command(console)
main.add_command(db_group)
main.add_command(operators_group)
main.add_command(audit_group)
main.add_command(import_group)
main.add_command(platforms_group)
main.add_command(curation_group)
main.add_command(payments_group)
main.add_command(waves_group)
main.add_command(participants_group)
main.add_command(blacklist_group)
