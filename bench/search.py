"""Finding a participant at scale: a word of the name, part of a NIK, a prefix, and the list's
filters (province, status, wave) and orders, next to an exact NIK lookup (the unique index) measured
in the same run, through the store's list service (the first page, what the screen shows).

    .venv/bin/python bench/search.py [-n 1000000] [--db URL] [--tries 9]

Without --db it uses the SQLite database bench/write_locks.py builds for N; with --db (a scratch
PostgreSQL database's URL), the registry of N that bench/write_locks.py builds beside it, read
as it is (the searches write nothing). The wave filters read the registry that write_locks.py's
last run left (its wave selected, assigned and swept), when there is one. Goal: every search's p95 at most 250 ms, whatever the
registry's size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MITRA_AUDIT_KEY", "bench-write-locks")

from sqlalchemy import func, select  # noqa: E402

from bench.report import measure  # noqa: E402
from bench.write_locks import RUN_COPY, cached_database, pg_databases, pg_execute, pg_url  # noqa: E402
from store.engine import create_database  # noqa: E402
from store.models import Participant  # noqa: E402
from store.services import operators, registry  # noqa: E402
from store.services.registry import ParticipantFilter  # noqa: E402
from store.uow import read_session  # noqa: E402


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


async def _timings(db, actor, filters: dict[str, ParticipantFilter], tries: int) -> dict[str, list[float]]:
    """Each filter's first page, `tries` times after a warm-up read."""
    timings = {}
    for label, chosen in filters.items():
        await registry.list_participants(db, actor, chosen)  # warm
        times = []
        for _ in range(tries):
            started = time.perf_counter()
            await registry.list_participants(db, actor, chosen)
            times.append(time.perf_counter() - started)
        timings[label] = times
    return timings


def _report(db, count: int, timings: dict[str, list[float]]) -> None:
    baseline = statistics.median(timings["exact NIK"])
    print(f"{count:,} participants on {db.backend}:")
    for label, times in timings.items():
        print(f"  {label:<36} p50 {statistics.median(times) * 1000:7.1f} ms   p95 {p95(times) * 1000:7.1f} ms")
        if label != "exact NIK":
            measure(f"{'list' if ':' in label else 'search'} {count:,} ({db.backend}): {label}, p95", p95(times), baseline,
                    limit=0.25, baseline_name="exact NIK, p50")


async def _a_middle_participant(session) -> tuple[str, str]:
    middle = (await session.execute(select(func.max(Participant.id)))).scalar_one() * 7 // 9
    return (await session.execute(
        select(Participant.nik, Participant.full_name).where(Participant.id >= middle).order_by(Participant.id).limit(1)
    )).one()


async def run(url: str, tries: int) -> None:
    db = create_database(url)
    try:
        actor = await operators.load_actor(db, "coordinator")
        async with read_session(db) as session:
            count = (await session.execute(select(func.count()).select_from(Participant))).scalar_one()
            nik, name = await _a_middle_participant(session)
        surname = name.split()[-1]
        cases = {
            "exact NIK": nik,
            "7 digits from the middle of a NIK": nik[5:12],
            "a NIK's first 4 digits (region)": nik[:4],
            f"a surname ({surname})": surname.lower(),
            "two words of a name": name.lower(),
            "2 letters (name prefix)": name[:2].lower(),
        }
        filters = {label: ParticipantFilter(search=typed) for label, typed in cases.items()}
        # The list's filters and orders (first page, as opening the list with them shows it).
        filters.update({
            "filter: province 32": ParticipantFilter(province="32"),
            "filter: status revoked (rare)": ParticipantFilter(status="revoked"),
            "filter: province 32, registered": ParticipantFilter(province="32", status="registered"),
            "order: by name": ParticipantFilter(sort="name"),
            "filter: province 32, by name": ParticipantFilter(province="32", sort="name"),
        })
        _report(db, count, await _timings(db, actor, filters, tries))
    finally:
        await db.dispose()


async def run_waves(url: str, tries: int) -> None:
    """The list filtered by wave, on the registry write_locks.py left after its run: its wave of
    300,000 (at a million; 800,000 from 2,700,000 up) selected, assigned in one province, swept."""
    db = create_database(url)
    try:
        actor = await operators.load_actor(db, "coordinator")
        async with read_session(db) as session:
            count = (await session.execute(select(func.count()).select_from(Participant))).scalar_one()
            wave_id = (await session.execute(select(func.max(Participant.wave_id)))).scalar_one()
            nik, _name = await _a_middle_participant(session)
        if wave_id is None:
            print("  (no wave in write_locks.py's registry yet: run write_locks.py for the wave cases)")
            return
        _report(db, count, await _timings(db, actor, {
            "exact NIK": ParticipantFilter(search=nik),
            "filter: a wave": ParticipantFilter(wave_id=wave_id),
            "filter: a wave, province 32": ParticipantFilter(wave_id=wave_id, province="32"),
            "filter: a wave, status selected": ParticipantFilter(wave_id=wave_id, status="selected"),
            "filter: a wave, by name": ParticipantFilter(wave_id=wave_id, sort="name"),
            "filter: a wave, newest first": ParticipantFilter(wave_id=wave_id, sort="newest"),
        }, tries))
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--participants", type=int, default=1_000_000)
    parser.add_argument("--db", metavar="URL", help="a scratch PostgreSQL database, beside which write_locks.py"
                        " built its registry of N (default: write_locks.py's SQLite file for N)")
    parser.add_argument("--tries", type=int, default=9)
    args = parser.parse_args()
    build = f"run bench/write_locks.py -n {args.participants} --build-only" + (f" --db {args.db}" if args.db else "")
    if args.db:
        base, run_copy = pg_databases(args.db, args.participants)
        if not asyncio.run(pg_execute(args.db, f"SELECT 1 FROM pg_database WHERE datname = '{base}'")):
            raise SystemExit(f"{base} is not built yet: {build}")
        url = pg_url(args.db, base)
        after_run = pg_url(args.db, run_copy) if asyncio.run(
            pg_execute(args.db, f"SELECT 1 FROM pg_database WHERE datname = '{run_copy}'")) else None
    else:
        url = str(cached_database(args.participants))
        if not Path(url).exists():
            raise SystemExit(f"{url} is not built yet: {build}")
        after_run = str(RUN_COPY) if RUN_COPY.exists() else None
    asyncio.run(run(url, args.tries))
    if after_run:
        asyncio.run(run_waves(after_run, args.tries))
    else:
        print("  (no registry left by a run of write_locks.py: the wave cases need one)")


if __name__ == "__main__":
    main()
