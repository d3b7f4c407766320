"""`mitra waves list|select|rejections|sweep`: running waves from the command line."""

from __future__ import annotations

import click

from store.engine import Database
from store.services import selection, waves
from tui.commands.common import (
    acting_operator, db_option, lang_option, operator_option, progress_on_terminal, with_database,
)
from tui.i18n import t
from tui.wave_results import selection_said
from tui.money import rupiah


@click.group("waves")
def waves_group() -> None:
    """Waves: their funnel, selection of participants, and the purchase-deadline sweep."""


@waves_group.command("list")
@db_option
@operator_option
@lang_option
def list_(db_url, operator_name) -> None:
    """Every wave with its funnel: registered, selected, purchased, completed, revoked."""

    @with_database
    async def main(db: Database):
        return await waves.list_waves(db, await acting_operator(db, operator_name))

    for wave in main(db_url):
        funnel = wave.funnel
        click.echo(t(
            "cli.waves.line", number=wave.number, year=wave.year, state=t(f"wave.state.{wave.state}"),
            quota=wave.quota, balance=rupiah(wave.training_balance_idr), deadline=wave.deadline.isoformat(),
            registered=funnel.registered, selected=funnel.selected, purchased=funnel.purchased,
            completed=funnel.completed, revoked=funnel.revoked,
        ))


@waves_group.command("select")
@click.argument("wave", type=int)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Random seed (recorded; the same seed gives the same selection). Default: a fresh one,"
                   " or the seed of the wave's selection under way (one cut short is finished by selecting again).")
@db_option
@operator_option
@lang_option
def select(wave, seed, db_url, operator_name) -> None:
    """Select eligible registered participants into WAVE (its number), up to its quotas."""

    @with_database
    async def main(db: Database):
        return await selection.select_participants(db, await acting_operator(db, operator_name), wave, seed,
                                                   progress=progress_on_terminal("participants.job.progress"))

    result = main(db_url)
    click.echo(selection_said(result))
    for reason, count in result.rejected.items():
        click.echo(f"  {t(f'selection.reason.{reason}')}: {count}")


@waves_group.command("rejections")
@click.argument("wave", type=int)
@click.option("--reason", default="", help="Only this reason (e.g. too_young, blacklisted).")
@click.option("--list", "list_rows", is_flag=True, help="List the rejected participants, not only the counts.")
@db_option
@operator_option
@lang_option
def rejections(wave, reason, list_rows, db_url, operator_name) -> None:
    """Why participants were not selected into WAVE: counts per reason, or the list."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        if not list_rows:
            return await selection.rejection_counts(db, actor, wave)
        rows, cursor = [], None
        while True:
            page = await selection.list_rejections(db, actor, wave, reason, cursor, 1000)
            rows += page.rows
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    result = main(db_url)
    if isinstance(result, dict):
        for found, count in result.items():
            if not reason or found == reason:
                click.echo(f"{t(f'selection.reason.{found}')}: {count}")
        return
    for row in result:
        click.echo(f"{row.nik}  {row.full_name:<40} {t(f'selection.reason.{row.reason}')}")


@waves_group.command("sweep")
@click.argument("wave", type=int)
@db_option
@operator_option
@lang_option
def sweep(wave, db_url, operator_name) -> None:
    """Revoke and blacklist WAVE's participants without a purchase after its deadline; their
    balances return."""

    @with_database
    async def main(db: Database):
        return await selection.sweep_wave(db, await acting_operator(db, operator_name), wave)

    result = main(db_url)
    click.echo(t("cli.waves.swept", number=result.wave_number, deadline=result.deadline.isoformat(),
                 revoked=result.revoked, blacklisted=result.blacklisted, returned=rupiah(result.returned_idr)))
