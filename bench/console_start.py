"""How long until the console's login screen is on the screen, next to a bare Textual app's first
paint measured in the same run, in a real pseudo-terminal read through pyte (80x24).

    .venv/bin/python bench/console_start.py [--runs 7]

Goal (issue 15): the login screen paints within 1.5x of the bare app's first paint. Also times
`mitra --help` and `mitra --version` next to `python -c pass` (they must not load the database
layer).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pty_screen import PtyScreen  # noqa: E402
from bench.report import measure  # noqa: E402

BIN = Path(sys.executable).parent
BARE_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Label\n"
    "class Bare(App):\n"
    "    def compose(self):\n"
    "        yield Label('Ready when you are')\n"
    "Bare().run()\n"
)


def first_paint(argv: list[str], marker: str, env: dict[str, str] | None = None, timeout: float = 60) -> float:
    with PtyScreen(argv, env=env) as terminal:
        terminal.wait_for(lambda text: marker in text, timeout=timeout)
        return time.perf_counter() - terminal.started


def command_time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def median_of(runs: int, measure) -> float:
    return statistics.median(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    folder = Path(tempfile.mkdtemp(prefix="mitra-start-"))
    database = folder / "office.db"
    subprocess.run([str(BIN / "mitra"), "demo", "--build-only", "--participants", "0", "--db", str(database)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    script = folder / "bare.py"
    script.write_text(BARE_APP)
    rows = []
    bare = median_of(runs, lambda: first_paint([sys.executable, str(script)], "Ready when you are"))
    mitra = median_of(runs, lambda: first_paint([str(BIN / "mitra"), "--db", str(database), "--lang", "en"], "Password"))
    rows.append(("login screen painted", mitra, bare, 1.5))
    measure("console: login screen painted", mitra, bare, most=1.5, baseline_name="bare Textual app")
    python = median_of(runs, lambda: command_time([sys.executable, "-c", "pass"]))
    for flag in ("--help", "--version"):
        rows.append((f"mitra {flag}", median_of(runs, lambda flag=flag: command_time([str(BIN / "mitra"), flag])), python, None))
        measure(f"mitra {flag}", rows[-1][1], python, baseline_name="python -c pass")
    print(f"{'measure':<24}{'mitra':>10}{'baseline':>10}{'ratio':>8}  goal")
    for name, value, baseline, goal in rows:
        verdict = "" if goal is None else (f"<= {goal}x " + ("met" if value / baseline <= goal else "NOT met"))
        print(f"{name:<24}{value:>9.2f}s{baseline:>9.2f}s{value / baseline:>7.2f}x  {verdict}")
    print(f"(baselines: a bare Textual app's first paint; `python -c pass`. median of {runs} runs)")


if __name__ == "__main__":
    main()
