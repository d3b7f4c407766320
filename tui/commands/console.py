"""Opening the console, on the configured database or on a fresh demo."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui.commands.options import db_option, lang_option
from tui.i18n import t

if TYPE_CHECKING:
    from store.engine import Database

# This module is what `mitra` imports to open the console: the store (SQLAlchemy, the models,
# the services) is imported inside the functions that need it, so the console paints its login
# screen first and loads the rest behind it (tui/app.py).


def require_terminal() -> None:
    """Exit with one line unless the console has a terminal to run in. Every command that opens
    the console calls it first, before building a demo or redeeming an SSH ticket.

    Without a terminal to read, the console would wait on an input at its end forever, spinning a
    core (a console started from a script, or with its input redirected). A browser's console
    (textual-serve) brings a driver of its own and talks over pipes."""
    if not os.environ.get("TEXTUAL_DRIVER") and not (sys.stdin.isatty() and sys.stdout.isatty()):
        click.echo(t("cli.console.needs_terminal"), err=True)
        sys.exit(2)


def run_console(db: Database | None = None, *, db_url: str | None = None, demo: bool = False,
                theme: str = "default", open_database: Callable[[], Awaitable[Database]] | None = None,
                handed=None, sandbox: str | None = None, tour: bool = False) -> None:
    """Run the console until the operator quits, then dispose of the engines (the caller has
    checked for a terminal: `require_terminal`). Given `db_url`
    (or an `open_database` of its own) instead of an open database, the console opens it behind
    its login screen and, when it cannot (unreachable, another schema revision), exits with
    that one line. A `sandbox` (a demo server's, by name) is a demo with its name in the badge."""
    from tui.app import MitraApp

    from tui import logfile

    logfile.setup()  # to a file: log records must never paint over the screen
    operators = None
    demo = demo or sandbox is not None
    if demo:
        from fixtures import demo_operator_list

        operators = demo_operator_list()

    async def open_configured() -> Database:
        from store import migrate

        return await migrate.open_database(db_url)

    if db is None and open_database is None:
        open_database = open_configured
    app = MitraApp(db, open_database=open_database, demo=demo,
                   demo_operators=operators, theme=theme, handed=handed, sandbox=sandbox, tour=tour)
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
                step = t(f"cli.demo.step.{what[5:]}")  # a build step in the operator's words
                click.echo(t("cli.demo.step", step=step, done=done, total=total), err=True)
            else:
                what = t(f"cli.demo.what.{what}")
                click.echo(f"\r  {t('cli.demo.count', what=what, done=done, total=total)}", nl=done >= total, err=True)

        await build_demo(db, participants=participants, seed=seed, progress=progress)
    finally:
        # Close this loop's connections; the engine opens new ones in the console's loop.
        await db.dispose()
    return db


async def _built_template(participants: int, seed: int, fresh: bool) -> Path:
    from fixtures.template import demo_template

    async def build_template(url: str) -> None:
        await build(url, participants, seed, replace=False)

    template, _built = await demo_template(participants, seed, build_template, fresh=fresh)
    return template


async def _open_copy(template: Path, target: str) -> Database:
    """Each demo session gets its own copy of the cached template, so nobody shares changes;
    opened like any database (the revision gate), so a template can never outlive its schema."""
    from fixtures.template import copy_sqlite
    from store import migrate

    copy_sqlite(template, Path(target))
    return await migrate.open_database(target)


async def _copy_of_template(target: str, participants: int, seed: int, fresh: bool) -> Database:
    return await _open_copy(await _built_template(participants, seed, fresh), target)


@click.command("demo")
@click.option("--build-only", is_flag=True, help="Build the demo database and exit.")
@click.option("--participants", type=click.IntRange(min=0), default=2000, show_default=True,
              help="How many participants to generate.")
@click.option("--seed", type=int, default=2020, show_default=True, help="Generator seed: same seed, same data.")
@click.option("--replace", is_flag=True, help="Wipe a database that already holds data (never the default).")
@click.option("--fresh", is_flag=True, help="Rebuild the cached demo template instead of copying it.")
@click.option("--tour", is_flag=True, help="Open the guided tour: one step at a time, as each role.")
@click.option("--theme", type=click.Choice(["default", "ansi"]), default="default", show_default=True)
@db_option
@lang_option
def demo(build_only, participants, seed, replace, fresh, tour, theme, db_url) -> None:
    """Open the console on a copy of the demo database (DEMO badge), built once and cached."""
    if not build_only:
        require_terminal()
    if db_url is None and not build_only:
        _demo_session(participants, seed, fresh, theme, tour)
        return
    from tui.commands.common import Failure, run

    if db_url is None:
        raise Failure(t("cli.demo.db_required"))
    db = run(lambda: build(db_url, participants, seed, replace))
    if build_only:
        click.echo(t("cli.demo.built", target=db.label))
        return
    run_console(db, demo=True, theme=theme, tour=tour)


def _demo_session(participants: int, seed: int, fresh: bool, theme: str, tour: bool = False) -> None:
    """A session of its own on a copy of the cached template, in a temporary folder.

    With the template already built (every start but the first), nothing is imported or opened
    before the login screen: the copy is made and opened behind it, as `mitra --db FILE` opens
    its database, so the demo starts about as fast as the console does."""
    from fixtures.template import template_path

    template = template_path(participants, seed)
    if fresh or not template.exists():
        from tui.commands.common import run

        template = run(lambda: _built_template(participants, seed, fresh))
    with tempfile.TemporaryDirectory(prefix="mitra-demo-") as folder:
        copy = str(Path(folder) / "demo.db")
        run_console(demo=True, theme=theme, open_database=lambda: _open_copy(template, copy), tour=tour)


@click.command("console", hidden=True)
@click.option("--theme", type=click.Choice(["default", "ansi"]), default="default", show_default=True)
@click.option("--sandbox", metavar="NAME", default=None, hidden=True,
              help="A demo server's sandbox (its name in the DEMO badge): the console in demo mode on --db.")
@db_option
@lang_option
@click.pass_context
def console(ctx: click.Context, theme, sandbox, db_url) -> None:
    """Open the console on the configured database."""
    require_terminal()
    from tui.ssh_handoff import redeem

    if sandbox is not None:
        # `mitra serve ssh --demo` for a connection: the sandbox's own file, named on the command
        # line (never the configured database), nobody handed in, no read replica.
        if ctx.get_parameter_source("db_url") is not click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("--sandbox needs --db FILE (the sandbox's own copy of the demo)")
        os.environ.pop("MITRA_READ_DATABASE_URL", None)  # store.migrate's; not imported before the login
        run_console(db_url=db_url, theme=theme, sandbox=sandbox)
        return
    # Started by `mitra serve ssh` for a connection: its operator, by a one-time ticket.
    run_console(db_url=db_url, theme=theme, handed=redeem())
