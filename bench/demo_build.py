"""How long `mitra demo --build-only` takes, against a baseline measured in the same run.

    .venv/bin/python bench/demo_build.py [--participants N] [--postgres URL]

Baseline: generating the same participants and inserting them with raw `sqlite3.executemany` in
10,000-row batches into a freshly migrated file: the floor any build of that registry can reach.
Prints wall-clock seconds, participants per second and the ratio build / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.report import measure  # noqa: E402
from fixtures import build_demo  # noqa: E402
from fixtures.generator import generate_participants  # noqa: E402
from store import migrate
from store.engine import create_database
from tui import heap

BATCH = 10_000
heap.collect_less_often()  # as the `mitra` command does (tui/cli.py), for the build and the baseline


async def _migrated(url: str):
    """A freshly migrated database: a PostgreSQL scratch database is wiped first (other benches
    may have filled it)."""
    db = create_database(url)
    if not db.is_sqlite:
        await migrate.downgrade(db)
    await migrate.upgrade(db)
    return db


async def timed_build(url: str, participants: int, seed: int) -> float:
    db = await _migrated(url)
    try:
        started = time.perf_counter()
        await build_demo(db, participants=participants, seed=seed)
        return time.perf_counter() - started
    finally:
        await db.dispose()


async def timed_baseline(folder: Path, participants: int, seed: int) -> float:
    path = folder / "baseline.db"
    db = await _migrated(str(path))
    await db.dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    started = time.perf_counter()
    rows = generate_participants(participants, seed)
    first = next(rows)
    columns = list(first)
    statement = f"INSERT INTO participant ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    batch = [tuple(first.values())]
    with connection:
        for row in rows:
            batch.append(tuple(row.values()))
            if len(batch) == BATCH:
                connection.executemany(statement, batch)
                batch.clear()
        connection.executemany(statement, batch)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def report(label: str, seconds: float, participants: int, baseline: float | None = None) -> None:
    if baseline:
        measure(f"{label}, {participants:,}", seconds, baseline, most=2, baseline_name="sqlite3.executemany")
    rate = participants / seconds if seconds else float("inf")
    ratio = f"  ({seconds / baseline:.2f} x baseline)" if baseline else ""
    print(f"{label:<34} {seconds:8.2f} s  {rate:>10,.0f} participants/s{ratio}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL to build into as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mitra-bench-") as folder:
        baseline = await timed_baseline(Path(folder), args.participants, args.seed)
        report("baseline: sqlite3.executemany", baseline, args.participants)
        build = await timed_build(str(Path(folder) / "demo.db"), args.participants, args.seed)
        report("demo build (SQLite)", build, args.participants, baseline)
    if args.postgres:
        build = await timed_build(args.postgres, args.participants, args.seed)
        report("demo build (PostgreSQL)", build, args.participants, baseline)


if __name__ == "__main__":
    asyncio.run(main())
