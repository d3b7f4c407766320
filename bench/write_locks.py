"""How long does each long-writing command keep other operators' writes waiting, at the program's scale?

Builds a database with N registered participants (the demo's deterministic generator, default
1,000,000), then runs, one after the other, the commands that write the most:

- importing a file of 50,000 new participants (commits every 10,000 rows);
- selecting a wave (300,000 at a million, 800,000 from 2,700,000 up; drawn from a snapshot
  without the lock; its result written in parts of 10,000 cards, each its own transaction);
- bulk-assigning a course to one province of that wave (commits every 2,000);
- the purchase-deadline sweep of that wave (in parts of 10,000, each its own transaction).

While each runs, a probe in a process of its own (as another operator's console is) writes on its
own connection every 10 ms, and the longest it was kept waiting is what the command costs everyone
else:
- SQLite (one writer at a time): `BEGIN IMMEDIATE` without waiting; the longest stretch it could
  not get the lock.
- PostgreSQL (row locks): in turn, registering a participant (an INSERT, through the tally and
  search triggers) and editing a random participant (an UPDATE of one row), each rolled back;
  the longest each took (a new participant waits only for the participant tally, an edit also
  for the row it edits).
The baseline, measured in the same run, is the longest wait while nothing but the probe writes.

    python bench/write_locks.py                 # N = 1,000,000 (builds once into bench/.cache)
    python bench/write_locks.py -n 200000
    python bench/write_locks.py --db postgresql://localhost/scratch   # builds once into scratch_locks_N_<rev>
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import multiprocessing
import datetime as dt
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import measure  # noqa: E402

os.environ.setdefault("MITRA_AUDIT_KEY", "bench-write-locks")

from fixtures.build import DemoContext  # noqa: E402
from fixtures.generator import generate_participants  # noqa: E402
from fixtures.steps import organisations, people  # noqa: E402
from store import migrate  # noqa: E402
from store.bulk import insert_rows  # noqa: E402
from store.engine import create_database  # noqa: E402
from store.models import Participant  # noqa: E402
from store.services import bulk_assignment, operators, participant_import, selection, waves  # noqa: E402
from store.uow import unit_of_work  # noqa: E402
from tests.participants_support import make_listing, person, wave_input  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
PROBE_NIK = 990000000000  # the probe's NIKs: 99 is no province, so nobody else's


class LockProbe:
    """Writes as another operator every `interval` s, on its own connection, in a process of its
    own, as another operator's console is: a thread of this process would share the GIL with the
    command measured, and a long step of the command's Python work (its draw) would count as a
    wait for a lock. `longest` is the longest it was kept waiting, `by_kind` the same per kind of
    write."""

    def __init__(self, url: str, participants: int, interval: float = 0.01) -> None:
        context = multiprocessing.get_context("spawn")
        self.by_kind: dict[str, float] = {}
        self._stop = context.Event()
        self._ready = context.Event()
        self._results, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_probe, args=(url, participants, interval, self._stop, self._ready, sender),
                                        daemon=True)

    @property
    def longest(self) -> float:
        return max(self.by_kind.values(), default=0.0)

    def kinds(self) -> str:
        return ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in sorted(self.by_kind.items()))

    def __enter__(self) -> LockProbe:
        self._process.start()
        if not self._ready.wait(60):
            raise RuntimeError("the lock probe did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.by_kind = self._results.recv()
        self._process.join()


def _probe(url: str, participants: int, interval: float, stop, ready, results) -> None:
    """The probe's process: writes until `stop`, then sends the longest wait of each kind."""
    by_kind: dict[str, float] = {}

    def waited(kind: str, seconds: float) -> None:
        by_kind[kind] = max(by_kind.get(kind, 0.0), seconds)

    if url.startswith("postgresql"):
        asyncio.run(_postgres_probe(url, participants, interval, stop, ready, waited))
    else:
        _sqlite_probe(url, interval, stop, ready, waited)
    results.send(by_kind)


def _sqlite_probe(url: str, interval: float, stop, ready, waited) -> None:
    """`BEGIN IMMEDIATE` without waiting: the longest stretch it could not get the write lock."""
    connection = sqlite3.connect(url, timeout=0, isolation_level=None)
    ready.set()
    blocked_since = None
    while not stop.is_set():
        now = time.perf_counter()
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            if blocked_since is not None:
                waited("write lock", now - blocked_since)
                blocked_since = None
        except sqlite3.OperationalError:
            blocked_since = blocked_since or now
        time.sleep(interval)
    connection.close()


async def _postgres_probe(url: str, participants: int, interval: float, stop, ready, waited) -> None:
    """In turn, registers a participant and edits a random one, each rolled back."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    row = next(generate_participants(1, 7))
    columns = [column for column in row if column != "id"]
    insert = (f"INSERT INTO participant ({', '.join(columns)})"
              f" VALUES ({', '.join(f'${n}' for n in range(1, len(columns) + 1))})")
    ready.set()
    turn = 0
    try:
        while not stop.is_set():
            turn += 1
            started = time.perf_counter()
            transaction = connection.transaction()
            await transaction.start()
            if turn % 2:
                values = [f"{PROBE_NIK + turn:016d}" if column == "nik" else row[column] for column in columns]
                await connection.execute(insert, *values)
            else:
                await connection.execute("UPDATE participant SET phone = phone WHERE id = $1",
                                         random.randint(1, participants))
            await transaction.rollback()
            waited("register" if turn % 2 else "edit", time.perf_counter() - started)
            await asyncio.sleep(interval)
    finally:
        await connection.close()


async def build(url: str, count: int) -> None:
    db = create_database(url)
    try:
        if not db.is_sqlite:
            await migrate.downgrade(db)  # a scratch database: whatever was there goes
        await migrate.upgrade(db)
        context = DemoContext(db, participants=0, seed=0, progress=lambda *_: None)
        await people.first_admin(context)
        await organisations.groups_and_platforms(context)
        await people.staff(context)
        coordinator = await operators.load_actor(db, "coordinator")
        batch: list[dict] = []
        async with unit_of_work(db, coordinator) as uow:
            for row in generate_participants(count, 2020):
                batch.append(row)
                if len(batch) == 10_000:
                    await insert_rows(uow.session, Participant.__table__, batch)
                    batch.clear()
            await insert_rows(uow.session, Participant.__table__, batch)
        if not db.is_sqlite:
            # What autovacuum does soon after on a live server, done here once, since a server may
            # run without it (this machine's does): the planner's statistics of the registry (a
            # copy taken at once would otherwise plan for an empty table) and its visibility map
            # (without which an index-only scan reads the table's rows too).
            async with db.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
                await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await db.dispose()


def wave_size(participants: int) -> int:
    """The wave the bench selects: the program's largest (800,000) once the registry is big enough."""
    return min(800_000, participants * 3 // 10)


async def measure_locks(url: str, participants: int, folder: Path) -> list[tuple[str, float, float]]:
    db = create_database(url)
    results = []
    quota = wave_size(participants)
    try:
        admin, coordinator = await operators.load_actor(db, "admin"), await operators.load_actor(db, "coordinator")

        async def timed(label: str, work) -> None:
            with LockProbe(url, participants) as probe:
                started = time.perf_counter()
                await work()
                elapsed = time.perf_counter() - started
            results.append((label, probe.longest, elapsed))
            measure(f"longest wait of another writer ({db.backend}): {label}", probe.longest, idle.longest, limit=3.0,
                    baseline_name="the probe alone")
            print(f"  {label:<44} longest wait {probe.longest:7.2f} s   total {elapsed:7.2f} s   ({probe.kinds()})",
                  flush=True)

        with LockProbe(url, participants) as idle:
            await asyncio.sleep(1.0)
        results.append(("baseline (nothing else writing)", idle.longest, 1.0))
        print(f"  {'baseline (only the probe writes)':<44} longest wait {idle.longest:7.2f} s", flush=True)

        new_file = folder / "new.csv"
        with new_file.open("w", newline="", encoding="utf-8") as handle:
            rows = [person(birth=dt.date(1991, 1, 1 + n % 28), serial=9000 + n) for n in range(50_000)]
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        await timed("import 50,000 participants", lambda: participant_import.import_participants(db, coordinator, new_file))
        start = dt.date.today() - dt.timedelta(days=1)
        await waves.create_wave(db, admin, wave_input(90, quota=quota, starts_on=start))
        await timed(f"select a wave of {quota:,}", lambda: selection.select_participants(db, coordinator, 90, seed=7))
        listing = await make_listing(db, admin, price=500_000, title="Bench Kelas")
        wave = await waves.get_wave(db, admin, 90)
        filters = bulk_assignment.BulkFilter(wave_id=wave.id, province="32")

        async def bulk():
            result = await bulk_assignment.run(db, coordinator, filters, listing)
            print(f"    ({result.assigned:,} assigned)")

        await timed("bulk-assign province 32 of that wave", bulk)
        deadline = wave.deadline + dt.timedelta(days=1)
        await timed("sweep the wave after its deadline",
                    lambda: selection.sweep_wave(db, coordinator, 90, today=deadline))
    finally:
        await db.dispose()
    return results


# The run's copy of the built database, left as the run leaves it (bench/search.py reads its wave).
RUN_COPY = CACHE / "locks-run.db"


def cached_database(count: int) -> Path:
    """The built database of `count` participants, kept per schema revision (a new migration
    builds it again)."""
    return CACHE / f"locks-{count}-{migrate.head_revision()}.db"


def pg_databases(url: str, count: int) -> tuple[str, str]:
    """(the built database, the run's copy of it) on the server of the scratch database `url`:
    the build is kept per size and schema revision, and each run measures on a fresh copy."""
    scratch = make_url(url)
    base = f"{scratch.database}_locks_{count}_{migrate.head_revision()}"
    return base, f"{scratch.database}_locks_run"


def pg_url(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg", database=database).render_as_string(hide_password=False)


async def pg_execute(url: str, *statements: str) -> list:
    """Statements on the server's maintenance database (CREATE/DROP DATABASE), the last one's rows."""
    import asyncpg

    connection = await asyncpg.connect(make_url(url).set(database="postgres").render_as_string(hide_password=False)
                                       .replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows: list = []
        for statement in statements:
            rows = await connection.fetch(statement)
        return rows
    finally:
        await connection.close()


def prepare_postgres(url: str, count: int) -> str:
    """The URL of a fresh copy of the built database of `count` participants (built once)."""
    base, run = pg_databases(url, count)
    if not asyncio.run(pg_execute(url, f"SELECT 1 FROM pg_database WHERE datname = '{base}'")):
        print(f"building {count:,} participants into {base} (once) ...", flush=True)
        building = f"{base}_tmp"
        asyncio.run(pg_execute(url, f'DROP DATABASE IF EXISTS "{building}"', f'CREATE DATABASE "{building}"'))
        started = time.perf_counter()
        asyncio.run(build(pg_url(url, building), count))
        asyncio.run(pg_execute(url, f'ALTER DATABASE "{building}" RENAME TO "{base}"'))
        print(f"  built in {time.perf_counter() - started:.0f} s")
    # FILE_COPY copies the files as they are; the default (WAL_LOG) writes every block of the copy
    # to the WAL as well (PostgreSQL's documentation: the better choice for small templates), 11 GB
    # at 20,000,000, for the server to write out again in its checkpoints during the measurement.
    # The checkpoint after the copy leaves the disk quiet before anything is timed.
    asyncio.run(pg_execute(url, f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)',
                           f'CREATE DATABASE "{run}" TEMPLATE "{base}" STRATEGY FILE_COPY', "CHECKPOINT"))
    return pg_url(url, run)


def prepare_sqlite(count: int, build_only: bool) -> str:
    """The path of a fresh copy of the cached file of `count` participants (built once)."""
    base = cached_database(count)
    if not base.exists():
        print(f"building {count:,} participants (once) ...", flush=True)
        started = time.perf_counter()
        asyncio.run(build(str(base.with_suffix(".tmp")), count))
        base.with_suffix(".tmp").rename(base)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    work = RUN_COPY
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    if build_only:
        return ""
    copy_sqlite(base, work)
    return str(work)


def copy_sqlite(base: Path, work: Path) -> None:
    """A copy of the built file, on the disk before anything is timed: at 20,000,000 the copy is
    9 GB, and the kernel wrote it out during the measurement that followed (the console, measured
    after the bare table, paged at 7 ms a key against 4 ms once the disk was quiet)."""
    with sqlite3.connect(base) as source, sqlite3.connect(work) as target:
        source.backup(target)
    os.sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--participants", type=int, default=1_000_000)
    parser.add_argument("--db", metavar="URL", help="measure on PostgreSQL: a scratch database's URL (its server"
                        " keeps the built database beside it)")
    parser.add_argument("--build-only", action="store_true", help="build the cached database and stop (bench/browse.py)")
    args = parser.parse_args()
    count = args.participants
    CACHE.mkdir(exist_ok=True)
    if args.db:
        url = prepare_postgres(args.db, count)
        if args.build_only:
            return
    else:
        url = prepare_sqlite(count, args.build_only)
        if not url:
            return
    print(f"{count:,} participants; longest wait of another writer during each command:")
    asyncio.run(measure_locks(url, count, CACHE))


if __name__ == "__main__":
    main()
