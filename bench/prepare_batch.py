"""How fast is preparing a payment batch? Builds N incentive candidates directly in a fresh
database and times `prepare_batch` (the set-based INSERT ... SELECT of the candidates, with the
re-screening and the never-twice index), against a baseline measured in the same run: a plain
INSERT ... SELECT copy of the very same lines into a scratch table without indexes.

    python bench/prepare_batch.py                       # SQLite file in a temporary folder, N = 800,000
    python bench/prepare_batch.py -n 100000
    python bench/prepare_batch.py --db postgresql://postgres@127.0.0.1:5432/mitra_dev
        (creates, uses and drops its own database on that server)

The wave holds N participants whose first enrollment is completed and reviewed, each with a
verified account at the payer; 0.5 % are blacklisted and 1 % are on an exclusion list, so the
batch takes the other 98.5 %.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import measure  # noqa: E402

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from store import migrate  # noqa: E402
from store.bulk import insert_rows  # noqa: E402
from store.engine import Database, create_database  # noqa: E402
from store.models import (  # noqa: E402
    BlacklistEntry,
    Enrollment,
    ExclusionEntry,
    ExclusionList,
    Participant,
    PayoutAccount,
    Platform,
)
from store.services import operators  # noqa: E402
from store.services.payments import batches  # noqa: E402
from store.services.payments.payables import Scope  # noqa: E402
from tests.payments_support import PaymentWorld, bulk_trainee_rows  # noqa: E402

CHUNK = 10_000


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} lines/s  ({seconds:7.2f} s)"


async def _server_database(url: str, name: str, *, drop: bool) -> None:
    admin = create_async_engine(make_url(url).set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


async def _build(db: Database, count: int) -> tuple[float, int]:
    """The office, a wave and `count` candidates; returns (seconds, expected candidates)."""
    started = time.perf_counter()
    await migrate.upgrade(db)
    admin = await operators.create_operator(db, None, "admin", "bench-pass", ["admin"])
    await operators.create_operator(db, await operators.load_actor(db, admin.username), "finance", "bench-pass", ["finance"])
    world = PaymentWorld(db)
    await world.insert(Platform, code="tokopedia", name="Tokopedia", agreement_number="PKS/1", agreement_date=dt.date(2020, 4, 8))
    provider = await world.provider()
    listing = await world.listing(provider, "tokopedia", platform_account=False)  # incentives only
    wave = await world.wave(1, quota=count, budget_idr=10**15)
    excluded = 0
    async with db.write_engine.begin() as connection:
        list_id = (await connection.execute(
            ExclusionList.__table__.insert().values(kind="formal_education", source="bench", dated=dt.date(2020, 6, 1))
            .returning(ExclusionList.__table__.c.id)
        )).scalar_one()
    rows: tuple[list, list, list, list, list] = ([], [], [], [], [])
    for number, (participant, enrollment, account) in enumerate(bulk_trainee_rows(count, wave, listing), start=1):
        rows[0].append(participant)
        rows[1].append(enrollment)
        rows[2].append(account)
        if number % 200 == 0:  # 0.5 % blacklisted
            rows[3].append({"nik": participant["nik"], "reason": "bench", "source": "", "listed_on": dt.date(2020, 6, 1),
                            "listed_by": None, "lifted_at": None, "lifted_by": None, "lift_reason": "",
                            "lift_decision_ref": "", "version": 1})
            excluded += 1
        elif number % 100 == 1:  # 1 % on an exclusion list
            rows[4].append({"list_id": list_id, "nik": participant["nik"], "detail": "bench"})
            excluded += 1
        if len(rows[0]) == CHUNK or number == count:
            async with db.write_engine.begin() as connection:
                for model, batch in zip(
                    (Participant, Enrollment, PayoutAccount, BlacklistEntry, ExclusionEntry), rows
                ):
                    await insert_rows(connection, model.__table__, batch)
                    batch.clear()
            print(f"\r  loaded {number:,} of {count:,} candidates", end="", flush=True)
    print()
    async with db.engine.connect() as connection:
        if not db.is_sqlite:  # explicit ids: move the sequences past them
            for table in ("participant", "enrollment", "payout_account"):
                await connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return time.perf_counter() - started, count - excluded


async def _baseline(db: Database, batch_id: int) -> tuple[int, float]:
    """Copy the batch's lines into a scratch table with a plain INSERT ... SELECT."""
    async with db.write_engine.begin() as connection:
        await connection.execute(text("CREATE TABLE bench_copy AS SELECT * FROM payment_line WHERE 1 = 0"))
    started = time.perf_counter()
    async with db.write_engine.begin() as connection:
        copied = (await connection.execute(
            text("INSERT INTO bench_copy SELECT * FROM payment_line WHERE batch_id = :batch"), {"batch": batch_id}
        )).rowcount
    return copied, time.perf_counter() - started


async def main(count: int, url: str | None) -> None:
    folder = None
    scratch = None
    if url and url.startswith("postgresql"):
        scratch = f"mitra_bench_{os.getpid()}"
        await _server_database(url, scratch, drop=False)
        target = make_url(url).set(database=scratch).render_as_string(hide_password=False)
    else:
        folder = tempfile.TemporaryDirectory()
        target = url or str(Path(folder.name) / "bench.db")
    db = create_database(target)
    try:
        print(f"Database: {db.label} ({db.backend}); candidates: {count:,}")
        build_seconds, expected = await _build(db, count)
        print(f"  built in {build_seconds:.1f} s")
        finance = await operators.load_actor(db, "finance")
        scope = Scope.incentives(1, "BNI")

        started = time.perf_counter()
        preview = await batches.preview_candidates(db, finance, scope)
        preview_seconds = time.perf_counter() - started

        started = time.perf_counter()
        batch = await batches.prepare_batch(db, finance, scope)
        prepare_seconds = time.perf_counter() - started
        assert batch.line_count == preview.count == expected, (batch.line_count, preview.count, expected)

        copied, copy_seconds = await _baseline(db, batch.id)
        assert copied == batch.line_count
        print(f"  preview (count and total of the candidates):    {_rate(preview.count, preview_seconds)}")
        print(f"  prepare_batch (lines written, audited):          {_rate(batch.line_count, prepare_seconds)}")
        print(f"  baseline: plain INSERT ... SELECT of those lines: {_rate(copied, copy_seconds)}")
        measure(f"prepare a batch of {batch.line_count:,} lines ({db.backend})", prepare_seconds, copy_seconds,
                baseline_name="INSERT ... SELECT")
        print(f"  preparation takes {prepare_seconds / copy_seconds:.1f}x the baseline's time;"
              f" batch {batch.id}: {batch.line_count:,} lines, Rp{batch.total_idr:,}")
    finally:
        await db.dispose()
        if scratch:
            await _server_database(url, scratch, drop=True)
        if folder:
            folder.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--candidates", type=int, default=800_000)
    parser.add_argument("--db", default=None, help="SQLite file or PostgreSQL server URL (default: a temporary SQLite file)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.candidates, arguments.db))
