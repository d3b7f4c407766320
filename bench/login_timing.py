"""Do refused logins tell user names apart by their timing? Times `operators.login` refusals for
an unknown name, a known name with a wrong password, and a deactivated account with a wrong
password, against a baseline measured in the same run: a successful login (one password hash
and the same reads). Prints medians and each refusal's ratio to the baseline; ratios near 1.0
mean a stranger cannot learn which names exist.

    python bench/login_timing.py            # SQLite file in a temporary folder, 30 tries each
    python bench/login_timing.py -n 60

Failed attempts count towards the lockout, so each refusal kind uses its own operators and the
lockout threshold is raised for the run (an audited setting, in this throw-away database).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import measure  # noqa: E402
os.environ.setdefault("MITRA_AUDIT_KEY", "bench-login-timing")

from fixtures.build import DemoContext  # noqa: E402
from fixtures.steps import organisations, people  # noqa: E402
from store import migrate  # noqa: E402
from store.engine import create_database  # noqa: E402
from store.errors import MitraError  # noqa: E402
from store.services import operators, settings  # noqa: E402


async def _attempts(db, name: str, password: str, tries: int) -> list[float]:
    times = []
    for _ in range(tries):
        started = time.perf_counter()
        try:
            await operators.login(db, name, password)
        except MitraError:
            pass
        times.append(time.perf_counter() - started)
    return times


async def main(tries: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = create_database(str(Path(folder) / "bench.db"))
        try:
            await migrate.upgrade(db)
            context = DemoContext(db, participants=0, seed=0, progress=lambda *_: None)
            await people.first_admin(context)
            await organisations.groups_and_platforms(context)
            await people.staff(context)
            admin = await operators.load_actor(db, "admin")
            await settings.change(db, admin, "operators.lockout_failures", 10_000)
            await operators.set_active(db, admin, "auditor", False, "bench: a deactivated account")

            await _attempts(db, "finance", "demo", 3)  # warm-up: connections, caches
            runs = {
                "successful login (baseline)": await _attempts(db, "finance", "demo", tries),
                "unknown user name": await _attempts(db, "nobody-here", "wrong", tries),
                "known name, wrong password": await _attempts(db, "coordinator", "wrong", tries),
                "deactivated, wrong password": await _attempts(db, "auditor", "wrong", tries),
            }
        finally:
            await db.dispose()
    baseline = statistics.median(runs["successful login (baseline)"])
    print(f"{'attempt':<32}{'median ms':>12}{'p90 ms':>10}{'ratio':>8}")
    for label, times in runs.items():
        median = statistics.median(times)
        p90 = sorted(times)[int(len(times) * 0.9) - 1]
        print(f"{label:<32}{median * 1000:>12.1f}{p90 * 1000:>10.1f}{median / baseline:>8.2f}")
        if label != "successful login (baseline)":  # a refusal as slow as a login: nothing to learn from timing
            measure(f"login refused: {label}", median, baseline, most=1.2, baseline_name="successful login")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--tries", type=int, default=30)
    asyncio.run(main(parser.parse_args().tries))
