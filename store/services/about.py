"""What the console's debug-info view says about its database: kind, address (never a
password), the schema revision it is at and the one this code expects, and a read replica if one
is configured. The same for every operator: nothing of any platform in it."""

from __future__ import annotations

from dataclasses import dataclass

from store import migrate
from store.actor import Actor
from store.engine import Database


@dataclass(frozen=True)
class DatabaseFacts:
    backend: str
    address: str
    revision: str
    expected_revision: str
    replica: str


async def database_facts(db: Database, actor: Actor) -> DatabaseFacts:
    return DatabaseFacts(db.backend, db.safe_url, await migrate.current_revision(db) or "-",
                         migrate.head_revision(), db.replica.safe_url if db.replica else "-")
