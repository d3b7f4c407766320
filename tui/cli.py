"""The `mitra` command. Without a subcommand it opens the console.

Every command takes `--db URL` (else $MITRA_DATABASE_URL, else a SQLite file in the user data
directory) and `--lang en|id`. Commands that change data act as `--operator USER`.

Each subcommand's module (and with it SQLAlchemy, the models and the services) is imported only
when that subcommand runs: `mitra --help` and `mitra --version` answer at once, and the console
starts without loading what only the command line needs.
"""

from __future__ import annotations

import importlib
import os

import click

from tui import heap
from tui.commands.options import db_option, lang_option

# name -> (module, attribute, one-line help). The help is written here so that listing the
# commands imports none of them; tests/test_cli_light.py checks it against each command's own.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("tui.commands.console", "demo",
             "Open the console on a copy of the demo database (DEMO badge), built once and cached."),
    "console": ("tui.commands.console", "console", "Open the console on the configured database."),
    "db": ("tui.commands.db", "db_group", "Database schema: upgrade it, or show its revision."),
    "operators": ("tui.commands.operators", "operators_group", "Operators: who may log in, with which roles."),
    "audit": ("tui.commands.audit", "audit_group", "The audit log: verify its hash chain, export it for auditors."),
    "import": ("tui.commands.imports", "import_group", "Import CSV files (UTF-8, comma or semicolon delimited)."),
    "platforms": ("tui.commands.applications", "platforms_group", "Platform partners and their periodic obligations."),
    "curation": ("tui.commands.providers", "curation_group",
                 "Provider curation: the scheme of indicators and thresholds, curators' affiliations."),
    "payments": ("tui.commands.payments", "payments_group",
                 "Payment batches: training fees and incentives, prepared by one, approved by another."),
    "waves": ("tui.commands.waves", "waves_group",
              "Waves: their funnel, selection of participants, and the purchase-deadline sweep."),
    "participants": ("tui.commands.participants", "participants_group", "The participant registry."),
    "serve": ("tui.commands.serve", "serve_group", "Serve the console to field staff: over SSH or in a browser."),
    "blacklist": ("tui.commands.participants", "blacklist_group",
                  "NIKs that may not be selected, and lifting an entry by a recorded decision."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _help = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_module, _attribute, help_) in COMMANDS.items()])


def _use_replica(url: str | None) -> None:
    # Every command opens its database through store.migrate.open_database, which reads this.
    if url:
        os.environ["MITRA_READ_DATABASE_URL"] = url


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mitra", prog_name="mitra", message="%(prog)s %(version)s")
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
    heap.collect_less_often()
    if ctx.invoked_subcommand is None:
        from tui.commands.console import require_terminal, run_console

        require_terminal()
        run_console(db_url=db_url, theme=theme)
