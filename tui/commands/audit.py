"""`mitra audit verify` and `mitra audit export`."""

from __future__ import annotations

import sys

import click

from store.engine import Database
from store.services import audit_log
from tui.commands.common import Failure, acting_operator, db_option, lang_option, operator_option, with_database
from tui.i18n import t


@click.group("audit")
def audit_group() -> None:
    """The audit log: verify its hash chain, export it for auditors."""


@audit_group.command("verify")
@click.option("--anchor", "anchors", multiple=True, metavar="ID:HASH",
              help="An event's hash noted from an earlier verification; it must still hold (repeatable).")
@db_option
@operator_option
@lang_option
def verify(anchors, db_url, operator_name) -> None:
    """Recompute the hash chain; exit 1 naming the first broken event. Prints an anchor (the
    last event's id and hash) to keep outside the database for later --anchor checks."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        return await audit_log.verify(db, actor, anchors)

    result = main(db_url)
    click.echo(t("cli.audit.key", fingerprint=result.key_fingerprint, source=result.key_source))
    if result.intact:
        click.echo(t("cli.audit.intact", count=result.checked))
        click.echo(t("cli.audit.anchor", anchor=result.anchor))
        return
    guards = ", ".join(result.missing_guards)
    if result.problem == "guards":
        raise Failure(t("cli.audit.broken_guards", guards=guards))
    broken = t(f"cli.audit.broken_{result.problem}", id=result.broken_id, count=result.checked,
               fingerprint=result.key_fingerprint)
    # A rewritten chain with its guards gone: the auditor hears both (they call for different work).
    raise Failure(f"{broken}\n{t('cli.audit.guards_gone_too', guards=guards)}" if guards else broken)


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file (default: standard output).")
@db_option
@operator_option
@lang_option
def export(fmt, output, db_url, operator_name) -> None:
    """Export the whole log, oldest first."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        handle = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            async for chunk in audit_log.export(db, actor, fmt):
                handle.write(chunk)
        finally:
            if output:
                handle.close()

    main(db_url)
    if output:
        click.echo(t("cli.audit.exported", path=output), err=True)
