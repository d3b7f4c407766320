"""The options every command shares. Light on purpose (no store, no SQLAlchemy): the `mitra`
group itself takes them, and `mitra --help` must not wait for the database layer to load."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from tui.i18n import choose_language, set_language


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--db URL` on every command (else $MITRA_DATABASE_URL, else the default file)."""
    return click.option(
        "--db", "db_url", metavar="URL", envvar="MITRA_DATABASE_URL", default=None,
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
