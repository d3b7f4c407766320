"""Alembic environment for Mitra: runs on a connection handed over by store/migrate.py.

There is no alembic.ini: `store.migrate` builds the configuration in code and passes the live
connection in `config.attributes["connection"]`, so migrations run inside the caller's event loop
(through `AsyncConnection.run_sync`) on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from store.models import metadata
from store.models.base import UTCDateTime
from store.search import in_models


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Python-side types render as the plain SQL types they store, so a migration never
    # depends on application classes that may change later.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__module__.startswith("sqlmodel"):
        length = getattr(obj, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Mitra migrations run through `mitra db upgrade`, not the alembic command.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    render_item=_render_item,
    compare_type=True,
    include_name=in_models,  # the trigram search's own objects are not in the models
)
with context.begin_transaction():
    context.run_migrations()
