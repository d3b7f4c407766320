"""Heavy read-only screens go to a read replica when one is configured (`mitra --read-db URL` /
$MITRA_READ_DATABASE_URL); writes and the reads that decide them stay on the primary.

The "replica" here is a copy of the primary taken at one moment (CREATE DATABASE ... TEMPLATE):
a replica that lags forever, which shows plainly which server each read went to.
"""

from __future__ import annotations

import datetime as dt

import pytest

from store import migrate
from store.engine import create_database
from store.errors import ConfigError
from store.services import operators, waves
from tests.conftest import PG_ENV, PG_URL, _pg_execute, _pg_name, _pg_url_for
from tests.participants_support import wave_input


@pytest.fixture
async def primary_and_replica(templates):
    if not PG_URL:
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} (.ci/run does)")
    primary, replica = _pg_name("replica_primary"), _pg_name("replica_copy")
    await _pg_execute(f'CREATE DATABASE "{primary}" TEMPLATE "{templates.postgresql["seeded"]}"')
    db = create_database(_pg_url_for(primary))
    admin = await operators.load_actor(db, "admin")
    await waves.create_wave(db, admin, wave_input(1, starts_on=dt.date(2024, 3, 1)))
    await db.dispose()
    await _pg_execute(f'CREATE DATABASE "{replica}" TEMPLATE "{primary}"')
    yield _pg_url_for(primary), _pg_url_for(replica)
    await _pg_execute(*[f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in (primary, replica)])


async def test_lists_read_the_replica_and_writes_go_to_the_primary(primary_and_replica, monkeypatch):
    primary_url, replica_url = primary_and_replica
    monkeypatch.setenv(migrate.READ_DATABASE_URL_ENV, replica_url)
    db = await migrate.open_database(primary_url)
    try:
        admin = await operators.load_actor(db, "admin")
        await waves.create_wave(db, admin, wave_input(2, starts_on=dt.date(2024, 6, 1)))
        # The write landed on the primary (the wave is found by the primary's read) ...
        assert (await waves.get_wave(db, admin, 2)).number == 2
        # ... while the list of waves came from the replica, which has not seen it.
        assert [wave.number for wave in await waves.list_waves(db, admin)] == [1]
    finally:
        await db.dispose()
    monkeypatch.delenv(migrate.READ_DATABASE_URL_ENV)
    without = await migrate.open_database(primary_url)
    try:
        assert sorted(wave.number for wave in await waves.list_waves(without, admin)) == [1, 2]
    finally:
        await without.dispose()


async def test_a_replica_needs_postgresql_on_both_sides(tmp_path, primary_and_replica):
    primary_url, _replica_url = primary_and_replica
    with pytest.raises(ConfigError) as refused:
        create_database(str(tmp_path / "office.db"), read_url=primary_url)
    assert refused.value.key == "config.replica_needs_postgres"
    with pytest.raises(ConfigError):
        create_database(primary_url, read_url=str(tmp_path / "copy.db"))
