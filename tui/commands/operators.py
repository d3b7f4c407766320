"""`mitra operators add|list|deactivate|activate|unlock`."""

from __future__ import annotations

import sys

import click

from store.engine import Database
from store.services import operators
from tui.commands.common import acting_operator, db_option, lang_option, operator_option, with_database
from tui.i18n import t


@click.group("operators")
def operators_group() -> None:
    """Operators: who may log in, with which roles."""


@operators_group.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="Role (repeat for several).")
@click.option("--platform", "platform_code", default=None, help="Platform code, for platform staff.")
@click.option("--full-name", default="", help="The operator's full name.")
@click.option("--password-stdin", is_flag=True, help="Read the new operator's password from standard input.")
@db_option
@operator_option
@lang_option
def add(username, roles, platform_code, full_name, password_stdin, db_url, operator_name) -> None:
    """Add an operator. The very first operator of a database must be an admin and needs no login."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(t("cli.operators.new_password", user=username), hide_input=True, confirmation_prompt=True)

    @with_database
    async def main(db: Database):
        actor = None
        if await operators.operator_count(db) > 0 or operator_name:
            actor = await acting_operator(db, operator_name)
        return await operators.create_operator(
            db, actor, username, password, list(roles), platform_code=platform_code, full_name=full_name
        )

    view = main(db_url)
    click.echo(t("cli.operators.added", user=view.username, roles=", ".join(view.roles)))


@operators_group.command("list")
@db_option
@operator_option
@lang_option
def list_(db_url, operator_name) -> None:
    """List operators with their roles and platform."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        return await operators.list_operators(db, actor)

    for view in main(db_url):
        state = "" if view.is_active else f"  ({t('cli.operators.inactive')})"
        platform = f"  [{view.platform_code}]" if view.platform_code else ""
        click.echo(f"{view.username:<16} {', '.join(view.roles)}{platform}{state}")


def _set_active(active: bool):
    @click.argument("username")
    @click.option("--reason", default="", help="Why (recorded in the audit log).")
    @db_option
    @operator_option
    @lang_option
    def command(username, reason, db_url, operator_name) -> None:
        @with_database
        async def main(db: Database):
            actor = await acting_operator(db, operator_name)
            return await operators.set_active(db, actor, username, active, reason)

        view = main(db_url)
        click.echo(t("cli.operators.activated" if active else "cli.operators.deactivated", user=view.username))

    return command


operators_group.command("deactivate", help="Stop an operator from logging in.")(_set_active(False))
operators_group.command("activate", help="Let a deactivated operator log in again.")(_set_active(True))


@operators_group.command("unlock")
@click.argument("username")
@db_option
@operator_option
@lang_option
def unlock(username, db_url, operator_name) -> None:
    """Lift a lockout after too many failed logins (admins)."""

    @with_database
    async def main(db: Database):
        actor = await acting_operator(db, operator_name)
        await operators.unlock(db, actor, username)

    main(db_url)
    click.echo(t("cli.operators.unlocked", user=username.strip().lower()))


def _as_operator(operator_name, work):
    @with_database
    async def main(db: Database):
        return await work(db, await acting_operator(db, operator_name))

    return main


@operators_group.command("sessions")
@db_option
@operator_option
@lang_option
def sessions_(db_url, operator_name) -> None:
    """Who is logged in where: open console sessions first, then the latest ended ones."""
    from store.services import sessions

    views = _as_operator(operator_name, sessions.list_sessions)(db_url)
    if not views:
        click.echo(t("cli.sessions.none"))
    for view in views:
        state = t("cli.sessions.open") if view.open else t(
            "cli.sessions.ended", at=f"{view.ended_at:%Y-%m-%d %H:%M}", by=view.ended_by or "-", reason=view.end_reason)
        click.echo(f"{view.id:>5}  {view.operator:<14} {view.origin:<8} {view.peer[:24]:<24} "
                   f"{view.started_at:%Y-%m-%d %H:%M}  {view.last_action_at:%H:%M}  {state}")


@operators_group.command("end-session")
@click.argument("session_id", type=int)
@click.option("--reason", required=True, help="Why (recorded in the audit log, shown to the operator).")
@db_option
@operator_option
@lang_option
def end_session(session_id, reason, db_url, operator_name) -> None:
    """End a console session (admins): its next action returns it to the login screen."""
    from store.services import sessions

    view = _as_operator(operator_name, lambda db, actor: sessions.end_session(db, actor, session_id, reason))(db_url)
    click.echo(t("cli.sessions.ended_now", id=view.id, operator=view.operator, origin=view.origin, peer=view.peer))


@operators_group.group("keys")
def keys_group() -> None:
    """SSH public keys that log an operator into `mitra serve ssh` (admins)."""


@keys_group.command("add")
@click.argument("username")
@click.argument("keyfile", type=click.File("r"))
@db_option
@operator_option
@lang_option
def keys_add(username, keyfile, db_url, operator_name) -> None:
    """Add a public key (a .pub file, or - for standard input) for USERNAME."""
    from store.services import operator_keys

    text = keyfile.read()
    view = _as_operator(operator_name, lambda db, actor: operator_keys.add_key(db, actor, username, text))(db_url)
    click.echo(t("cli.keys.added", fingerprint=view.fingerprint, user=view.operator))


@keys_group.command("list")
@click.argument("username", required=False)
@db_option
@operator_option
@lang_option
def keys_list(username, db_url, operator_name) -> None:
    """List SSH keys (of USERNAME, or of everyone)."""
    from store.services import operator_keys

    views = _as_operator(operator_name, lambda db, actor: operator_keys.list_keys(db, actor, username))(db_url)
    if not views:
        click.echo(t("cli.keys.none"))
    for view in views:
        click.echo(f"{view.operator:<16} {view.fingerprint}  {view.algorithm:<20} {view.added_at:%Y-%m-%d}  {view.comment}")


@keys_group.command("remove")
@click.argument("username")
@click.argument("fingerprint")
@db_option
@operator_option
@lang_option
def keys_remove(username, fingerprint, db_url, operator_name) -> None:
    """Remove USERNAME's key FINGERPRINT (SHA256:..., as `keys list` shows it)."""
    from store.services import operator_keys

    view = _as_operator(
        operator_name, lambda db, actor: operator_keys.remove_key(db, actor, username, fingerprint))(db_url)
    click.echo(t("cli.keys.removed", fingerprint=view.fingerprint, user=view.operator))
