"""`mitra participants export` and `mitra blacklist add|lift|list`."""

from __future__ import annotations

import sys

import click

from store.engine import Database
from store.services import participant_lists, registry
from tui.commands.common import acting_operator, db_option, lang_option, operator_option, with_database
from tui.i18n import t


@click.group("participants")
def participants_group() -> None:
    """The participant registry."""


@participants_group.command("export")
@click.option("--platform", "platform_code", default=None, help="The platform's code (platform staff: their own).")
@click.option("--provider", "provider_id", type=int, default=None, help="The provider's id.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file (default: standard output).")
@db_option
@operator_option
@lang_option
def export(platform_code, provider_id, output, db_url, operator_name) -> None:
    """The participant list of a platform or provider, as CSV (NIKs masked unless your role may
    see them; the export is audited)."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        scope = {"platform_code": platform_code, "provider_id": provider_id}
        if output:
            return await participant_lists.write_participant_list(db, actor, output, **scope)
        async for chunk in participant_lists.export_participant_list(db, actor, **scope):
            sys.stdout.write(chunk)
        return None

    count = main(db_url)
    if output:
        click.echo(t("cli.participants.exported", path=output, count=count), err=True)


@click.group("blacklist")
def blacklist_group() -> None:
    """NIKs that may not be selected, and lifting an entry by a recorded decision."""


@blacklist_group.command("add")
@click.argument("nik")
@click.option("--reason", required=True, help="Why the NIK is blacklisted.")
@click.option("--source", required=True, help="Where the finding comes from (e.g. 'BPK audit 2021').")
@db_option
@operator_option
@lang_option
def add(nik, reason, source, db_url, operator_name) -> None:
    """Put NIK on the blacklist."""

    @with_database
    async def main(db: Database):
        return await registry.blacklist_nik(db, await acting_operator(db, operator_name), nik, reason, source)

    entry = main(db_url)
    click.echo(t("cli.blacklist.added", id=entry.id, nik=entry.nik))


@blacklist_group.command("lift")
@click.argument("entry_id", type=int)
@click.option("--reason", required=True, help="Why the entry is lifted.")
@click.option("--decision", "decision_ref", required=True, help="The reference of the recorded decision.")
@db_option
@operator_option
@lang_option
def lift(entry_id, reason, decision_ref, db_url, operator_name) -> None:
    """Lift blacklist entry ENTRY_ID (admins, by a recorded decision)."""

    @with_database
    async def main(db: Database):
        return await registry.lift_blacklist(db, await acting_operator(db, operator_name), entry_id, reason, decision_ref)

    entry = main(db_url)
    click.echo(t("cli.blacklist.lifted", id=entry.id, nik=entry.nik))


@blacklist_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Lifted entries too.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@db_option
@operator_option
@lang_option
def list_(everything, limit, db_url, operator_name) -> None:
    """The newest blacklist entries."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        return await registry.list_blacklist(db, actor, standing_only=not everything, limit=limit)

    page = main(db_url)
    if not page.rows:
        click.echo(t("cli.blacklist.empty"))
    for entry in page.rows:
        lifted = "" if entry.standing else f"  [{t('cli.blacklist.lifted_mark')} {entry.lift_decision_ref}]"
        click.echo(f"{entry.id:>8}  {entry.nik}  {entry.listed_on}  {entry.source}: {entry.reason}{lifted}")
