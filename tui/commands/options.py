"""The options every command shares. Light on purpose (no store, no SQLAlchemy): the `mitra`
group itself takes them, and `mitra --help` must not wait for the database layer to load."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

from tui.i18n import choose_language, set_language


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--db URL` on every command (else $MITRA_DATABASE_URL, else the default file)."""

    def inherit(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        # `mitra --db FILE waves select 4` acts on FILE, as `mitra waves select 4 --db FILE` does.
        # The group's --db once opened only the console: a subcommand went on to the default file
        # (or $MITRA_DATABASE_URL) and changed that database instead, saying nothing of it.
        root = ctx.find_root()
        given = ctx.get_parameter_source(param.name or "db_url") is ParameterSource.COMMANDLINE
        if ctx is root:
            if given:
                root.meta["mitra.db"] = value
            return value
        return value if given else root.meta.get("mitra.db", value)

    return click.option(
        "--db", "db_url", metavar="URL", envvar="MITRA_DATABASE_URL", default=None, callback=inherit,
        help="Database URL or SQLite file (default: $MITRA_DATABASE_URL or the user data file).",
    )(command)


def lang_option(command: Callable[..., Any]) -> Callable[..., Any]:
    def apply(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
        # `mitra --lang id db current` and `mitra db current --lang id` both work: a subcommand
        # without --lang keeps what the group chose.
        chosen = ctx.find_root().meta
        language = value or chosen.get("mitra.lang") or choose_language(None)
        chosen["mitra.lang"] = language
        set_language(language)
        return language

    return click.option(
        "--lang", type=click.Choice(["en", "id"]), default=None, expose_value=False,
        is_eager=True, callback=apply, help="Language: en or id (default: from $LANG).",
    )(command)
