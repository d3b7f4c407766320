"""`mitra import applications FILE`, and `mitra platforms list|roll-obligations|fee-check`."""

from __future__ import annotations

import datetime as dt
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
from tui.money import rupiah


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


def describe_fee_check(check: obligations.FeeDisbursementCheck) -> str:
    """One line: what the platform was paid, what it owes on, what it reported, the difference."""
    period = f"{check.period_start.isoformat()}..{check.period_end.isoformat()}"
    owed = t("cli.platforms.fee_check", period=period, lines=check.lines, gross=rupiah(check.gross_idr),
             commission=rupiah(check.commission_idr), owed=rupiah(check.owed_idr))
    if check.reported_idr is None:
        return owed + " " + t("cli.platforms.fee_check_unreported")
    difference = check.difference_idr or 0
    sign = "+" if difference > 0 else "-" if difference < 0 else ""
    key = "cli.platforms.fee_check_agrees" if check.agrees else "cli.platforms.fee_check_differs"
    return owed + " " + t(key, reported=rupiah(check.reported_idr), difference=sign + rupiah(abs(difference)))


@platforms_group.command("fee-check")
@click.argument("platform_code")
@click.option("--period", "period", type=click.DateTime(formats=["%Y-%m", "%Y-%m-%d"]), default=None,
              help="The period (YYYY-MM, or a day in it; default: last month).")
@db_option
@operator_option
@lang_option
def fee_check(platform_code, period, db_url, operator_name) -> None:
    """The platform's "fees disbursed to providers" report against the nets it owes on: the fee
    lines the PMO paid it in the period (gross, commission, net) and the amount it reported."""
    day = period.date() if period else (dt.date.today().replace(day=1) - dt.timedelta(days=1))

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        found = [row for row in await platforms.list_platforms(db, actor) if row.code == platform_code]
        if not found:
            raise click.ClickException(t("platform.not_found", code=platform_code))
        return await obligations.fee_disbursement_check(db, actor, found[0].id, day)

    check: obligations.FeeDisbursementCheck = main(db_url)
    click.echo(describe_fee_check(check))
    for provider in check.by_provider:
        click.echo(f"  {provider.provider:<40} {provider.lines:>6}  {rupiah(provider.net_idr):>20}")
