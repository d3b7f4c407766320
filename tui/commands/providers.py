"""`mitra import providers FILE` and `mitra curation scheme|affiliation`."""

from __future__ import annotations

import json

import click

from store import csvio
from store.engine import Database
from store.errors import InvalidInput
from store.services import curation, provider_import
from tui.commands.imports import import_group, report_import
from tui.commands.common import (
    Failure, acting_operator, db_option, lang_option, operator_option, with_database,
)
from tui.i18n import describe_error, t


@import_group.command("providers")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the rejected rows with their reasons to this CSV file.")
@db_option
@operator_option
@lang_option
def import_providers(file, errors_path, db_url, operator_name) -> None:
    """Inventory providers from a CSV file. Columns: name, legal_form, nib, npwp, province, address,
    online, offline; optional: founded_on, contact_name, contact_email, contact_phone, platforms,
    ownership_group, documents_present. Good rows are imported, bad rows reported; exit status 2
    when rows were rejected, 1 when the file cannot be read."""

    @with_database
    async def main(db: Database) -> csvio.ImportReport:
        actor = await acting_operator(db, operator_name)
        return await provider_import.import_providers(db, actor, file)

    report_import(main(db_url), errors_path)


@click.group("curation")
def curation_group() -> None:
    """Provider curation: the scheme of indicators and thresholds, curators' affiliations."""


@curation_group.group("scheme")
def scheme_group() -> None:
    """The versioned scheme: indicators (weights) and pass thresholds of each stage."""


@scheme_group.command("show")
@click.option("--version", "version", type=int, default=None, help="A past version (default: the newest).")
@db_option
@operator_option
@lang_option
def show_scheme(version, db_url, operator_name) -> None:
    """Print a scheme version as JSON (edit it and pass it to `scheme set`)."""

    @with_database
    async def main(db: Database) -> curation.Scheme:
        actor = await acting_operator(db, operator_name)
        return await curation.get_scheme(db, actor, version)

    scheme = main(db_url)
    click.echo(json.dumps(
        {"version": scheme.version, "stages": curation.stages_json(scheme.stages)}, indent=2, ensure_ascii=False
    ))


@scheme_group.command("set")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@db_option
@operator_option
@lang_option
def set_scheme(file, db_url, operator_name) -> None:
    """Write a new scheme version from a JSON file shaped like `scheme show` prints it (admin).
    Thresholds are in hundredths of a point (250 = 2.50); providers already in curation keep the
    version they started with."""
    try:
        with open(file, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise Failure(describe_error(InvalidInput("input.scheme", field="scheme", problem=str(error)))) from None

    @with_database
    async def main(db: Database) -> curation.Scheme:
        actor = await acting_operator(db, operator_name)
        return await curation.change_scheme(db, actor, data.get("stages", data) if isinstance(data, dict) else data)

    scheme = main(db_url)
    click.echo(t("cli.curation.scheme_written", version=scheme.version))


@curation_group.command("affiliation")
@click.argument("username")
@click.option("--group", "group_code", default=None, help="Ownership group code; omit to clear the affiliation.")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@db_option
@operator_option
@lang_option
def affiliation(username, group_code, reason, db_url, operator_name) -> None:
    """Record that an operator is affiliated with an ownership group (admin): as a curator they
    may then not assess providers tied to that group."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        return await curation.declare_affiliation(db, actor, username, group_code, reason)

    group = main(db_url)
    click.echo(t("cli.curation.affiliated", user=username, group=group or "-"))
