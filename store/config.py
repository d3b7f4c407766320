"""Where the database is, and how to name it without leaking a password."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from store.errors import ConfigError

DATABASE_URL_ENV = "MITRA_DATABASE_URL"


def default_database_url() -> str:
    """A SQLite file in the operator's data directory (created on first use)."""
    folder = Path(user_data_dir("mitra", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'mitra.db'}"


def resolve_url(explicit: str | None = None) -> URL:
    """The database URL from `--db`, else $MITRA_DATABASE_URL, else the default file.

    Short forms are accepted: a bare path means a SQLite file, and `postgresql://` or
    `sqlite://` URLs get the async driver Mitra uses.
    """
    raw = explicit or os.environ.get(DATABASE_URL_ENV) or default_database_url()
    if "://" not in raw:
        raw = f"sqlite+aiosqlite:///{Path(raw).expanduser().resolve()}"
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("config.bad_url", url=redact(raw)) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    elif backend in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+asyncpg")
        # asyncpg wants ?ssl=..., not libpq's sslmode=...
        query = dict(url.query)
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
            url = url.set(query=query)
    else:
        raise ConfigError("config.unsupported_backend", backend=backend)
    return url


def redact(url: str | URL) -> str:
    """The URL with any password masked, for messages and logs."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        # Not parseable: drop everything between "://" and "@" to be safe.
        head, sep, tail = url.partition("://")
        if sep and "@" in tail:
            return f"{head}://***@{tail.split('@', 1)[1]}"
        return url


def describe(url: URL) -> str:
    """A short label for the header: `host/db` for PostgreSQL, the file name for SQLite."""
    if url.get_backend_name() == "sqlite":
        return Path(url.database or ":memory:").name
    host = url.host or "localhost"
    port = f":{url.port}" if url.port and url.port != 5432 else ""
    return f"{host}{port}/{url.database}"
