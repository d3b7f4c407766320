"""What every command shares: database and operator options, running async work, and turning
errors into one clear line (never a traceback, never a password)."""

from __future__ import annotations

import asyncio
import functools
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import click

from store.actor import Actor
from store.engine import Database
from store.errors import MitraError
from store.migrate import open_database
from store.services import operators
from tui.commands.options import db_option, lang_option  # noqa: F401 - every command's options
from tui.i18n import describe_error, t

T = TypeVar("T")
PASSWORD_ENV = "MITRA_PASSWORD"
DEBUG_ENV = "MITRA_DEBUG"
_acting: Actor | None = None  # who this command acts as, once logged in: named in the log file


class Failure(click.ClickException):
    """A one-line error on stderr and exit status 1 (click reads the status from the class)."""

    def show(self, file=None) -> None:  # no "Error:" prefix: the sentence stands alone
        click.echo(self.format_message(), err=True)


class Refused(Failure):
    """Rows of a file refused, the file not applied: exit status 2."""

    exit_code = 2


class Interrupted(Failure):
    """Ctrl+C: exit status 130, as a shell reports an interrupted command."""

    exit_code = 130


def progress_on_terminal(key: str) -> Callable[[int, int], None]:
    """A progress callback for a long command: one line on the terminal, rewritten as it goes
    (text `key` with {done} and {total}); nothing when the errors stream is not a terminal."""

    def told(done: int, total: int) -> None:
        if sys.stderr.isatty() and total:
            click.echo(f"\r  {t(key, done=done, total=total)}", nl=done >= total, err=True)

    return told


def run(awaitable_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async work; typed errors become a translated line, others a short line too."""
    try:
        return asyncio.run(awaitable_factory())
    except MitraError as error:
        if os.environ.get(DEBUG_ENV):
            raise
        raise Failure(describe_error(error)) from None
    except KeyboardInterrupt:
        raise Interrupted(t("cli.interrupted")) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as error:  # noqa: BLE001 - the last guard before a traceback
        if os.environ.get(DEBUG_ENV):
            raise
        from tui import logfile

        operation = " ".join(word for word in sys.argv[1:3] if not word.startswith("-")) or "mitra"
        raise Failure(describe_error(logfile.unexpected(error, operation, _acting))) from None


def operator_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--operator", "operator_name", metavar="USER", envvar="MITRA_OPERATOR", default=None,
        help="Act as this operator (password from $MITRA_PASSWORD or a prompt).",
    )(command)


def read_password(prompt: str) -> str:
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise Failure(t("cli.password_needed", env=PASSWORD_ENV))
    return getpass.getpass(prompt)


async def acting_operator(db: Database, operator_name: str | None) -> Actor:
    """Log in as `--operator` (audited); refuses without valid credentials."""
    if not operator_name:
        raise Failure(t("permission.login_required"))
    password = read_password(t("cli.password_prompt", user=operator_name))
    # The login's own record waits for the write lock in the background: reads go ahead.
    global _acting
    _acting = await operators.login(db, operator_name, password, defer_record=True)
    return _acting


async def _run_deferred(db_url: str | None, deferred: list) -> None:
    db = await open_database(db_url)
    try:
        for work in deferred:
            await work(db)
    finally:
        await db.dispose()


def with_database(func: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """Open the database (checking its schema revision), run `func(db, ...)`, dispose."""

    @functools.wraps(func)
    def wrapper(db_url: str | None, *args: Any, **kwargs: Any) -> T:
        deferred: list = []

        async def main() -> T:
            db = await open_database(db_url)
            try:
                return await func(db, *args, **kwargs)
            finally:
                deferred.extend(db.take_deferred())
                await db.dispose()

        result = run(main)
        if deferred:
            # The login's record, after the command's output: a read need not wait for a writer.
            context = click.get_current_context(silent=True)
            finish = functools.partial(run, functools.partial(_run_deferred, db_url, deferred))
            if context is not None:
                context.call_on_close(finish)
            else:
                finish()
        return result

    return wrapper
