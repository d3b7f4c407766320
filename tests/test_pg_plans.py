"""An import's NIK lookups are planned for each batch, never once for all.

asyncpg keeps each statement prepared on its connection, and after five runs PostgreSQL may plan
it once for any values (a generic plan), from the table's size at that moment. A registry's
first import, checked first (a dry run looks up each batch's NIKs in an empty table), then kept
the empty table's plan for its lookups: the import of 200,000 rows that followed took 265 s
rather than 10.8 s. Planning every statement for its values was measured and not kept: two of the
participant searches then took 100-190 ms at every run, against 5-8 ms with their generic plans."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from store.services import participant_import
from tests.participants_support import person, write_csv


async def test_the_nik_lookups_of_an_import_are_planned_for_each_batch(db, actors, tmp_path, backend):
    if backend == "sqlite":
        pytest.skip("SQLite plans a statement when it is prepared, from no table statistics unless analysed")
    file = write_csv(tmp_path / "registry.csv", [person() for _ in range(24)])
    # Twelve lookups of a batch's NIKs in an empty registry, then twelve writes: one connection.
    await participant_import.import_participants(db, actors.coordinator, file, dry_run=True, batch_rows=2)
    report = await participant_import.import_participants(db, actors.coordinator, file, batch_rows=2)
    assert report.imported == 24
    async with db.engine.connect() as connection:
        generic, custom = (await connection.execute(text(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) FROM pg_prepared_statements"
            " WHERE statement LIKE 'SELECT known.nik FROM unnest%'"
        ))).one()
    assert custom >= 24 and generic == 0  # twelve batches, looked up twice
