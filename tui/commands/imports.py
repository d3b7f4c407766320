"""`mitra import ...`: loading operators' CSV files. Each area adds its subcommands here.

Exit status: 0 when every row was imported, 2 when some rows were rejected (each reported as
"line N, column C: reason", all of them with --errors FILE), 1 when the file could not be
imported at all (unreadable, not UTF-8, wrong header) or the command failed.
"""

from __future__ import annotations

import sys

import click

from store import csvio
from store.engine import Database
from store.errors import MitraError
from store.services import participant_import
from tui.commands.common import (
    acting_operator, db_option, lang_option, operator_option, progress_on_terminal, with_database,
)
from tui.i18n import describe_error, t

SHOWN_ERRORS = 20


@click.group("import")
def import_group() -> None:
    """Import CSV files (UTF-8, comma or semicolon delimited)."""


def report_import(
    report: csvio.ImportReport, errors_path: str | None = None, summary_key: str = "cli.import.summary"
) -> None:
    """Print the rejected rows (the first few, all of them into --errors) and the summary line,
    then exit 0 (all imported) or 2 (rows rejected)."""

    for error in report.errors[:SHOWN_ERRORS]:
        click.echo(t("cli.import.row_error", line=error.line, column=error.column,
                     reason=describe_error(MitraError(error.key, **error.params))), err=True)
    if len(report.errors) > SHOWN_ERRORS and not errors_path:
        click.echo(t("cli.import.more_errors", count=len(report.errors) - SHOWN_ERRORS), err=True)
    if errors_path:
        csvio.write_errors(report, errors_path, describe_error)
        click.echo(t("cli.import.errors_written", path=errors_path), err=True)
    click.echo(t(summary_key, read=report.read, imported=report.imported, rejected=report.rejected))
    sys.exit(report.exit_status)


@import_group.command("participants")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the whole file and report; write nothing.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write every rejected row (line, column, reason) to this CSV file.")
@db_option
@operator_option
@lang_option
def participants(file, dry_run, errors_path, db_url, operator_name) -> None:
    """Import participants: header nik,full_name,birth_date,sex,phone,email,family_card.

    Rows already in the registry (by NIK) or repeated in the file are rejected as duplicates, so
    running the same file again imports nothing new, and an interrupted import can simply be run
    again."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        return await participant_import.import_participants(
            db, actor, file, dry_run=dry_run, progress=progress_on_terminal("cli.import.progress"))

    report = main(db_url)
    report_import(report, errors_path, "cli.import.dry_run_summary" if dry_run else "cli.import.summary")


@import_group.command("exclusions")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", required=True,
              type=click.Choice(["formal_education", "excluded_occupation", "wage_above_ceiling"]),
              help="What the list excludes.")
@click.option("--source", required=True, help="Where the list comes from (e.g. 'Kemendikbud PDDikti').")
@click.option("--date", "dated", required=True, type=click.DateTime(["%Y-%m-%d"]), help="The list's date (YYYY-MM-DD).")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write every rejected row (line, column, reason) to this CSV file.")
@db_option
@operator_option
@lang_option
def exclusions(file, kind, source, dated, errors_path, db_url, operator_name) -> None:
    """Import an exclusion list: header nik (and optionally detail). Excluded NIKs are refused
    at selection."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        return await participant_import.import_exclusions(db, actor, file, kind, source, dated.date())

    result = main(db_url)
    if result.list_id is not None:
        click.echo(t("cli.import.exclusion_hits", count=result.registry_hits, id=result.list_id))
    report_import(result.report, errors_path, "cli.import.summary")




# The other groups' modules add their own `import` subcommands (applications, providers): load
# them with the group, since the command line imports each group only when it is used.
from tui.commands import applications, providers  # noqa: E402,F401
