"""PostgreSQL roles: the schema owner migrates, the runtime role runs the console and commands.

The login that owns the tables can switch their triggers off (ALTER TABLE ... DISABLE TRIGGER)
and drop them, so the guards (store/guards.py) hold only against logins that do not own the
schema. `mitra db upgrade`, run by the owner, (re)creates the runtime group role and grants it
exactly what Mitra needs and no more:
- ordinary reads and writes on Mitra's tables, and their sequences;
- on `audit_event` only SELECT and INSERT (no UPDATE, DELETE, TRUNCATE);
- on `audit_head` only SELECT and UPDATE (the trigger allows moving it forward only);
- on `alembic_version` only SELECT (it reads the revision; migrating is the owner's);
- on the tables derived from the participants by triggers (`participant_tally`,
  `participant_search`) only SELECT: their triggers write them as the owner (0615).
It owns nothing and has no CREATE on the schema, so it can neither alter nor drop tables or
triggers. Operators' consoles log in as a login role that is a member of it:

    CREATE ROLE mitra_office LOGIN PASSWORD '...' IN ROLE mitra_app;
"""

from __future__ import annotations

import re

from sqlalchemy import text

from store.engine import Database
from store.errors import ConfigError
from store.failures import typed_errors

DEFAULT_RUNTIME_ROLE = "mitra_app"
# Kept by triggers whose functions run as the schema owner (0615); nobody else writes them.
DERIVED_TABLES = ("participant_tally", "participant_search")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _statements(role: str) -> list[str]:
    return [
        f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN;
              END IF;
            EXCEPTION WHEN duplicate_object THEN NULL;  -- created meanwhile by another upgrade
            END $$""",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE UPDATE, DELETE ON audit_event FROM {role}",
        f"REVOKE INSERT, DELETE ON audit_head FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON {', '.join(DERIVED_TABLES)} FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]


async def grant_runtime_role(db: Database, role: str = DEFAULT_RUNTIME_ROLE) -> str:
    """Create (if needed) and grant the runtime role; PostgreSQL only, run as the schema owner."""
    if not _ROLE_NAME.match(role):
        raise ConfigError("db.bad_role", role=role)
    if db.is_sqlite:
        return ""
    with typed_errors(db.label):
        async with db.engine.begin() as connection:
            for statement in _statements(role):
                await connection.execute(text(statement))
    return role
