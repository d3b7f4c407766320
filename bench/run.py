"""Every benchmark, one table: `python3 dev.py bench [--scale 1m|5m|20m] [--postgres URL]`.

Runs each script under bench/ at the chosen scale, one after the other (they time things: two
at once would measure each other), and prints what they measured as one table: measure, Mitra,
baseline (the same work done plainly, in the same run), ratio, goal, verdict. Each script also
prints its own details as it goes; run one alone for those (`python bench/<name>.py --help`).
Large databases are built once per scale and kept under bench/.cache.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import REPORT_ENV, read, table  # noqa: E402

SCALES = {"1m": 1_000_000, "5m": 5_000_000, "20m": 20_000_000}
HERE = Path(__file__).resolve().parent


def plan(participants: int, postgres: str | None) -> list[tuple[str, list[str]]]:
    """(script, arguments) in the order they run. `--postgres` must name a scratch database:
    the import and build benches wipe and refill it."""
    on_postgres = ["--postgres", postgres] if postgres else []
    steps = [
        ("console_start.py", []),
        ("field_link.py", []),  # bytes, not time: the demo's size is enough
        ("demo_start.py", ["--participants", str(participants)]),
        ("login_timing.py", []),
        ("import_participants.py", ["--rows", str(participants), *on_postgres]),
        ("demo_build.py", ["--participants", str(participants), *on_postgres]),
        ("write_locks.py", ["-n", str(participants)]),
        ("browse.py", ["-n", str(participants)]),  # on write_locks.py's cached database
        ("search.py", ["-n", str(participants)]),  # the same
        # A wave's worth of incentive lines: 800,000 at the program's scale, fewer below it.
        ("prepare_batch.py", ["-n", str(min(800_000, participants * 3 // 10))]),
    ]
    if postgres:
        steps.append(("prepare_batch.py", ["-n", str(min(800_000, participants * 3 // 10)), "--db", postgres]))
        # The registry of write_locks.py, built once beside the scratch database and copied per run.
        steps.append(("write_locks.py", ["-n", str(participants), "--db", postgres]))
        # search.py's wave cases read the copy write_locks.py's run left; browse.py copies the
        # built registry anew over it, so it comes last.
        steps.append(("search.py", ["-n", str(participants), "--db", postgres]))
        steps.append(("browse.py", ["-n", str(participants), "--db", postgres]))
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="1m")
    parser.add_argument("--postgres", metavar="URL", help="a scratch PostgreSQL database to measure on as well")
    parser.add_argument("--only", action="append", metavar="SCRIPT", help="run only this script (repeatable)")
    args = parser.parse_args()
    report = Path(tempfile.mkdtemp(prefix="mitra-bench-")) / "measures.jsonl"
    report.touch()
    failed = []
    for script, script_args in plan(SCALES[args.scale], args.postgres):
        if args.only and script.removesuffix(".py") not in {name.removesuffix(".py") for name in args.only}:
            continue
        print(f"\n=== {script} {' '.join(script_args)}", flush=True)
        started = time.perf_counter()
        finished = subprocess.run([sys.executable, str(HERE / script), *script_args],
                                  env={**os.environ, REPORT_ENV: str(report)})
        print(f"=== {script}: {time.perf_counter() - started:.0f} s", flush=True)
        if finished.returncode:
            failed.append(script)
    print(f"\nScale {args.scale} ({SCALES[args.scale]:,} participants)"
          + (f", PostgreSQL {args.postgres.split('@')[-1]}" if args.postgres else ", SQLite only") + ":\n")
    print(table(read(str(report))))
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
