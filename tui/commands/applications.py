"""`mitra import applications FILE`, and `mitra platforms list|roll-obligations`."""

from __future__ import annotations

from pathlib import Path

import click

from store import csvio
from store.engine import Database
from store.services import obligations, platforms
from store.services.application_intake import import_applications
from tui.commands.imports import import_group, report_import
from tui.commands.common import (
    acting_operator,
    db_option,
    lang_option,
    operator_option,
    with_database,
)
from tui.i18n import t


@import_group.command("applications")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the rejected rows to this CSV (line, column, reason).")
@db_option
@operator_option
@lang_option
def applications_import(file, errors_path, db_url, operator_name) -> None:
    """Import platform applications from a CSV file (state: submitted).

    \b
    Header (comma or semicolon separated, UTF-8 with or without BOM):
      required: legal_name, brand_name, legal_form, nib, npwp, portal_url, provinces
      optional: payment_integration, own_group_providers, third_party_providers,
                licence_ref, deed_ref, ownership_group, contact_name, contact_email,
                contact_phone, submitted_on
    \b
      legal_form      pt, other_private, bumn, bumd or government
      nib             13 digits; npwp: 15 or 16 digits (dots and dashes allowed)
      provinces       two-digit province codes where it has users ("31 32 33")
      own_group_providers / third_party_providers
                      how many training providers it works with inside / outside
                      its own ownership group (blank: 0)
      ownership_group code of a known ownership group (blank: none)
      submitted_on    YYYY-MM-DD, not in the future (blank: today)

    Each rejected row is printed as "line N, column C: reason"; valid rows are imported.
    A company with an application under way is refused; one rejected before is linked to
    its previous application. Exit status: 0 all imported, 2 some rows rejected, 1 the
    file could not be used (unreadable, wrong header).
    """

    @with_database
    async def main(db: Database):
        text = csvio.read_text(file)
        actor = await acting_operator(db, operator_name)
        return await import_applications(db, actor, text, source_name=Path(file).name)

    report_import(main(db_url), errors_path)


@click.group("platforms")
def platforms_group() -> None:
    """Platform partners and their periodic obligations."""


@platforms_group.command("list")
@db_option
@operator_option
@lang_option
def platforms_list(db_url, operator_name) -> None:
    """Platforms with their status and overdue obligation reports."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        return await platforms.list_platforms(db, actor)

    for row in main(db_url):
        click.echo(
            f"{row.code:<16} {row.name:<24} {t('platforms.status.' + row.status):<12} "
            + t("cli.platforms.overdue", count=row.overdue)
        )


@platforms_group.command("roll-obligations")
@click.option("--through", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Open every period begun by this date (default: today).")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="For platforms without obligations yet, start at this date's month "
                   "(default: their agreement month).")
@db_option
@operator_option
@lang_option
def roll_obligations(through, start, db_url, operator_name) -> None:
    """Open the obligation periods that have begun (idempotent: run it daily from cron)."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        return await obligations.roll_forward(
            db, actor, through.date() if through else None, start=start.date() if start else None
        )

    result: obligations.RollResult = main(db_url)
    click.echo(t("cli.platforms.rolled", created=result.created, platforms=result.platforms,
                 through=result.through.isoformat()))
