"""How long `mitra demo` takes to paint its login screen (template already built), next to
`mitra --db FILE` on an existing database, both measured in the same run in a real
pseudo-terminal read through pyte (80x24).

    .venv/bin/python bench/demo_start.py [--runs 7] [--participants 2000]

Goal (issue 17): the demo's login screen within 1.5x of the plain console's. The template is
built once before timing (in a cache folder of this run), so the demo's figure is the copy of
the template plus the console start, which is what every `mitra demo` after the first one costs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console_start import first_paint  # noqa: E402
from bench.report import measure  # noqa: E402

BIN = Path(sys.executable).parent
MARKER = "Password"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--participants", type=int, default=2000)
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mitra-demo-start-"))
    env = {"MITRA_CACHE_DIR": str(folder / "cache")}
    size = ["--participants", str(arguments.participants)]
    database = folder / "office.db"
    # The same data both ways: the existing database is the demo built into a file.
    subprocess.run([str(BIN / "mitra"), "demo", "--build-only", *size, "--db", str(database)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    demo = [str(BIN / "mitra"), "demo", *size, "--lang", "en"]
    # Builds the template once, not timed: at 1,000,000 participants that takes minutes.
    first_paint(demo, MARKER, env, timeout=3 * 3600)
    plain, instant = [], []
    for _ in range(arguments.runs):  # interleaved, so a busy moment weighs on both alike
        plain.append(first_paint([str(BIN / "mitra"), "--db", str(database), "--lang", "en"], MARKER, env))
        instant.append(first_paint(demo, MARKER, env))
    mitra_db, mitra_demo = statistics.median(plain), statistics.median(instant)
    measure("demo: login screen painted", mitra_demo, mitra_db, most=1.5, baseline_name="mitra --db FILE")
    ratio = mitra_demo / mitra_db
    print(f"{'measure':<28}{'median':>9}{'min':>8}{'max':>8}")
    for name, values in (("mitra --db FILE", plain), ("mitra demo (template built)", instant)):
        print(f"{name:<28}{statistics.median(values):>8.2f}s{min(values):>7.2f}s{max(values):>7.2f}s")
    print(f"ratio {ratio:.2f}x, goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'}"
          f"  ({arguments.runs} runs each, {arguments.participants} participants)")


if __name__ == "__main__":
    main()
