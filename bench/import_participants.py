"""How fast `mitra import participants` is, next to raw batched inserts of the same rows.

    .venv/bin/python bench/import_participants.py [--rows 1000000] [--postgres URL]

Generates a CSV of N participants with fixtures/generator.py, then, on fresh databases migrated
to the same schema (same table, same indexes and constraints):
- times the import service (read, validate, check duplicates, insert, audit: everything the
  command does) on the file;
- times the baseline: the same rows, already parsed into tuples, inserted with raw
  `sqlite3.executemany` in batches of 10,000 per transaction (with the engine's pragmas);
  on PostgreSQL with raw asyncpg COPY (`copy_records_to_table`) in the same batches.
Prints rows/s for both and the ratio. Nothing is assumed: both are measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sqlite3
import tempfile
import sys
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.report import measure  # noqa: E402
from fixtures.build import DemoContext
from fixtures.generator import generate_participants
from fixtures.steps import people
from store import migrate
from store.engine import create_database
from store.models import Participant
from store.services import operators, participant_import
from tui import heap

BATCH = 10_000
heap.collect_less_often()  # as the `mitra` command does (tui/cli.py), for the service and the baseline
CSV_COLUMNS = ("nik", "full_name", "birth_date", "sex", "phone", "email", "family_card")


def write_file(path: Path, rows: int, seed: int) -> list[dict]:
    generated = list(generate_participants(rows, seed))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in generated:
            writer.writerow([row["nik"], row["full_name"], row["birth_date"].isoformat(), row["sex"], row["phone"],
                             row["email"], row["family_card"]])
    return generated


async def fresh(url: str) -> None:
    """An empty, migrated database with one admin (who may import)."""
    db = create_database(url)
    try:
        if db.is_sqlite:
            Path(url).unlink(missing_ok=True)
        else:
            await migrate.downgrade(db)
        await migrate.upgrade(db)
        await people.first_admin(DemoContext(db, 0, 0, lambda *_: None))
    finally:
        await db.dispose()


async def time_service(url: str, path: Path) -> tuple[float, int]:
    db = create_database(url)
    try:
        admin = await operators.load_actor(db, "admin")
        started = time.perf_counter()
        report = await participant_import.import_participants(db, admin, path)
        return time.perf_counter() - started, report.imported
    finally:
        await db.dispose()


def table_rows(generated: list[dict]) -> tuple[list[str], list[tuple]]:
    """The generator's rows (whole table rows, as the import builds them) as tuples."""
    columns = [column.name for column in Participant.__table__.columns if column.name != "id"]
    return columns, [tuple(row[column] for column in columns) for row in generated]


def sqlite_baseline(path: str, columns: list[str], rows: list[tuple]) -> float:
    def plain(value):  # what SQLAlchemy stores on SQLite: ISO text for dates and times
        if hasattr(value, "tzinfo"):
            return value.replace(tzinfo=None).isoformat(sep=" ")
        return value.isoformat() if hasattr(value, "isoformat") else value

    prepared = [tuple(plain(value) for value in row) for row in rows]
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=FULL"):
        connection.execute(f"PRAGMA {pragma}")
    sql = f"INSERT INTO participant ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    started = time.perf_counter()
    for start in range(0, len(prepared), BATCH):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(sql, prepared[start:start + BATCH])
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


async def postgres_baseline(url: str, columns: list[str], rows: list[tuple]) -> float:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        started = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            async with connection.transaction():
                await connection.copy_records_to_table("participant", records=rows[start:start + BATCH], columns=columns)
        return time.perf_counter() - started
    finally:
        await connection.close()


def report(label: str, count: int, service: float, baseline: float, baseline_name: str) -> None:
    measure(f"import {count:,} participants, {label.strip()}", count / service, count / baseline, unit="rows/s",
            least=0.7 if "SQLite" in label else 0.6, baseline_name=baseline_name)
    print(f"{label}: import service {count / service:>10,.0f} rows/s ({service:.1f} s);"
          f" {baseline_name} {count / baseline:>10,.0f} rows/s ({baseline:.1f} s);"
          f" service/baseline = {baseline / service:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--postgres", metavar="URL", help="also measure on this (scratch!) PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mitra-bench-") as folder:
        path = Path(folder) / "participants.csv"
        started = time.perf_counter()
        generated = write_file(path, args.rows, args.seed)
        print(f"{args.rows:,} rows generated into {path.stat().st_size / 1e6:.0f} MB of CSV"
              f" in {time.perf_counter() - started:.1f} s")
        columns, rows = table_rows(generated)
        del generated

        service_db, baseline_db = str(Path(folder) / "service.db"), str(Path(folder) / "baseline.db")
        asyncio.run(fresh(service_db))
        asyncio.run(fresh(baseline_db))
        service, imported = asyncio.run(time_service(service_db, path))
        assert imported == args.rows, f"imported {imported} of {args.rows}"
        report("SQLite    ", args.rows, service, sqlite_baseline(baseline_db, columns, rows), "raw sqlite3.executemany")

        if args.postgres:
            url = make_url(args.postgres).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
            asyncio.run(fresh(url))
            service, imported = asyncio.run(time_service(url, path))
            assert imported == args.rows, f"imported {imported} of {args.rows}"
            asyncio.run(fresh(url))
            report("PostgreSQL", args.rows, service, asyncio.run(postgres_baseline(url, columns, rows)), "raw asyncpg COPY")


if __name__ == "__main__":
    main()
