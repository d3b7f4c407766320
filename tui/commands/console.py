"""Opening the console, on the configured database or on a fresh demo."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import sys
from typing import TYPE_CHECKING

import click

from tui.commands.options import db_option, lang_option
from tui.i18n import t

if TYPE_CHECKING:
    from store.engine import Database

# This module is what `mitra` imports to open the console: the store (SQLAlchemy, the models,
# the services) is imported inside the functions that need it, so the console paints its login
# screen first and loads the rest behind it (tui/app.py).


def run_console(db: Database | None = None, *, db_url: str | None = None, demo: bool = False,
                theme: str = "default", handed=None) -> None:
    """Run the console until the operator quits, then dispose of the engines. Given `db_url`
    instead of an open database, the console opens it behind its login screen and, when it
    cannot (unreachable, another schema revision), exits with that one line."""
    from tui.app import MitraApp

    logging.basicConfig(filename=os.devnull)  # log records must never paint over the screen
    operators = None
    if demo:
        from fixtures import demo_operator_list

        operators = demo_operator_list()

    async def open_database() -> Database:
        from store import migrate

        return await migrate.open_database(db_url)

    app = MitraApp(db, open_database=None if db is not None else open_database, demo=demo,
                   demo_operators=operators, theme=theme, handed=handed)
    app.run()  # the app disposes of the engines in its own event loop when it closes
    if app.return_code:
        sys.exit(app.return_code)


def open_checked(db_url: str | None) -> Database:
    """The database, refused with one clear line when unreachable or at another revision."""
    from store import migrate
    from tui.commands.common import run

    async def main() -> Database:
        db = await migrate.open_database(db_url)
        # Connections belong to the event loop that opened them: close these before the
        # console starts its own loop (the engine opens new ones there).
        await db.dispose()
        return db

    return run(main)


async def _database_is_empty(db: Database) -> bool:
    from sqlalchemy import func, select

    from store.models import Operator

    try:
        async with db.engine.connect() as connection:
            return (await connection.execute(select(func.count()).select_from(Operator))).scalar_one() == 0
    except Exception:  # noqa: BLE001 - no schema yet: empty
        return True


async def build(db_url: str | None, participants: int, seed: int, replace: bool) -> Database:
    """Migrate the database at `db_url` and fill it with the demo data."""
    from fixtures import build_demo
    from store import migrate
    from store.engine import create_database
    from store.errors import RuleViolation

    db = create_database(db_url)
    try:
        if not await _database_is_empty(db):
            if not replace:
                raise RuleViolation("demo.not_empty", target=db.label)
            await migrate.downgrade(db)
        await migrate.upgrade(db)

        def progress(what: str, done: int, total: int) -> None:
            if what.startswith("step:"):
                click.echo(t("cli.demo.step", step=what[5:], done=done, total=total), err=True)
            else:
                click.echo(f"\r  {t('cli.demo.count', what=what, done=done, total=total)}", nl=done >= total, err=True)

        await build_demo(db, participants=participants, seed=seed, progress=progress)
    finally:
        # Close this loop's connections; the engine opens new ones in the console's loop.
        await db.dispose()
    return db


async def _copy_of_template(target: str, participants: int, seed: int, fresh: bool) -> Database:
    """Each demo session gets its own copy of the cached template, so nobody shares changes."""
    from fixtures.template import copy_sqlite, demo_template
    from store.engine import create_database

    async def build_template(url: str) -> None:
        await build(url, participants, seed, replace=False)

    template, _built = await demo_template(participants, seed, build_template, fresh=fresh)
    copy_sqlite(template, Path(target))
    return create_database(target)


@click.command("demo")
@click.option("--build-only", is_flag=True, help="Build the demo database and exit.")
@click.option("--participants", type=click.IntRange(min=0), default=2000, show_default=True,
              help="How many participants to generate.")
@click.option("--seed", type=int, default=2020, show_default=True, help="Generator seed: same seed, same data.")
@click.option("--replace", is_flag=True, help="Wipe a database that already holds data (never the default).")
@click.option("--fresh", is_flag=True, help="Rebuild the cached demo template instead of copying it.")
@click.option("--theme", type=click.Choice(["default", "ansi"]), default="default", show_default=True)
@db_option
@lang_option
def demo(build_only, participants, seed, replace, fresh, theme, db_url) -> None:
    """Open the console on a copy of the demo database (DEMO badge), built once and cached."""
    from tui.commands.common import Failure, run

    if db_url is None and build_only:
        raise Failure(t("cli.demo.db_required"))
    temporary = None
    try:
        if db_url is None:
            # A session of its own: a fresh copy of the cached template in a temporary folder.
            temporary = tempfile.TemporaryDirectory(prefix="mitra-demo-")
            copy_url = str(Path(temporary.name) / "demo.db")
            db = run(lambda: _copy_of_template(copy_url, participants, seed, fresh))
        else:
            db = run(lambda: build(db_url, participants, seed, replace))
        if build_only:
            click.echo(t("cli.demo.built", target=db.label))
            return
        run_console(db, demo=True, theme=theme)
    finally:
        if temporary is not None:
            temporary.cleanup()


@click.command("console", hidden=True)
@click.option("--theme", type=click.Choice(["default", "ansi"]), default="default", show_default=True)
@db_option
@lang_option
def console(theme, db_url) -> None:
    """Open the console on the configured database."""
    from tui.ssh_handoff import redeem

    # Started by `mitra serve ssh` for a connection: its operator, by a one-time ticket.
    run_console(db_url=db_url, theme=theme, handed=redeem())
