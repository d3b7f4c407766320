"""How long does each long-writing command hold SQLite's write lock at the program's scale?

Builds a SQLite file with N registered participants (the demo's deterministic generator,
default 1,000,000), then runs, one after the other, the commands that write the most:

- importing a file of 50,000 new participants (commits every 10,000 rows);
- selecting a wave of 300,000 (drawn from a snapshot without the lock; its result written in one
  transaction, as a draw is all or nothing);
- bulk-assigning a course to 50,000 of them (commits every 2,000);
- the purchase-deadline sweep of that wave (in parts of 10,000, each its own transaction).

While each runs, a probe thread tries `BEGIN IMMEDIATE` on its own connection every 10 ms without
waiting: the longest stretch it could not get the lock is the longest lock the command held (what
another writer, or a login's record, waits for). The baseline, measured in the same run, is the
longest lock while nothing but the probe itself writes.

    python bench/write_locks.py                 # N = 1,000,000 (builds once into bench/.cache)
    python bench/write_locks.py -n 200000
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path

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


class LockProbe:
    """Tries to take the write lock every `interval` s; records the longest time it could not."""

    def __init__(self, path: Path, interval: float = 0.01) -> None:
        self.path, self.interval = path, interval
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        blocked_since = None
        while not self._stop.is_set():
            now = time.perf_counter()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                if blocked_since is not None:
                    self.longest = max(self.longest, now - blocked_since)
                    blocked_since = None
            except sqlite3.OperationalError:
                blocked_since = blocked_since or now
            time.sleep(self.interval)
        connection.close()

    def __enter__(self) -> LockProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


async def build(path: Path, count: int) -> None:
    db = create_database(str(path))
    try:
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
    finally:
        await db.dispose()


async def measure_locks(path: Path, folder: Path) -> list[tuple[str, float, float]]:
    db = create_database(str(path))
    results = []
    try:
        admin, coordinator = await operators.load_actor(db, "admin"), await operators.load_actor(db, "coordinator")

        async def timed(label: str, work) -> None:
            with LockProbe(path) as probe:
                started = time.perf_counter()
                await work()
                elapsed = time.perf_counter() - started
            results.append((label, probe.longest, elapsed))
            measure(f"longest write lock: {label}", probe.longest, limit=3.0)
            print(f"  {label:<44} longest lock {probe.longest:7.2f} s   total {elapsed:7.2f} s", flush=True)

        with LockProbe(path) as idle:
            await asyncio.sleep(1.0)
        results.append(("baseline (nothing else writing)", idle.longest, 1.0))
        print(f"  {'baseline (only the probe writes)':<44} longest lock {idle.longest:7.2f} s", flush=True)

        new_file = folder / "new.csv"
        with new_file.open("w", newline="", encoding="utf-8") as handle:
            rows = [person(birth=dt.date(1991, 1, 1 + n % 28), serial=9000 + n) for n in range(50_000)]
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        await timed("import 50,000 participants", lambda: participant_import.import_participants(db, coordinator, new_file))
        start = dt.date.today() - dt.timedelta(days=1)
        await waves.create_wave(db, admin, wave_input(90, quota=300_000, starts_on=start))
        await timed("select a wave of 300,000", lambda: selection.select_participants(db, coordinator, 90, seed=7))
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


def cached_database(count: int) -> Path:
    """The built database of `count` participants, kept per schema revision (a new migration
    builds it again)."""
    return CACHE / f"locks-{count}-{migrate.head_revision()}.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--participants", type=int, default=1_000_000)
    parser.add_argument("--build-only", action="store_true", help="build the cached database and stop (bench/browse.py)")
    args = parser.parse_args()
    count = args.participants
    CACHE.mkdir(exist_ok=True)
    base = cached_database(count)
    if not base.exists():
        print(f"building {count:,} participants (once) ...", flush=True)
        started = time.perf_counter()
        asyncio.run(build(base.with_suffix(".tmp"), count))
        base.with_suffix(".tmp").rename(base)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    if args.build_only:
        return
    work = CACHE / "locks-run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    source = sqlite3.connect(base)
    target = sqlite3.connect(work)
    source.backup(target)
    source.close()
    target.close()
    print(f"{count:,} participants; longest write lock held by each command:")
    asyncio.run(measure_locks(work, CACHE))


if __name__ == "__main__":
    main()
