"""One line per measure, for `python3 dev.py bench` to gather into its table.

Each bench prints its own figures as before, and also calls `measure(...)`: when the runner
(bench/run.py) set $MITRA_BENCH_REPORT, the figure is appended there as a JSON line.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

REPORT_ENV = "MITRA_BENCH_REPORT"


@dataclass(frozen=True)
class Measure:
    name: str
    mitra: float  # seconds, or whatever `unit` says
    baseline: float | None  # the same thing done plainly, measured in the same run
    unit: str = "s"
    # The goal: Mitra at most `most` times the baseline (a time), or at least `least` times
    # (a rate); or, without a baseline, at most `limit` in its unit.
    most: float | None = None
    least: float | None = None
    limit: float | None = None
    baseline_name: str = ""

    @property
    def ratio(self) -> float | None:
        return self.mitra / self.baseline if self.baseline else None

    @property
    def goal(self) -> str:
        if self.most is not None:
            return f"<= {self.most:g}x"
        if self.least is not None:
            return f">= {self.least:g}x"
        if self.limit is not None:
            return f"<= {self.limit:g} {self.unit}"
        return ""

    @property
    def verdict(self) -> str:
        ratio = self.ratio
        if self.most is not None and ratio is not None:
            return "met" if ratio <= self.most else "NOT met"
        if self.least is not None and ratio is not None:
            return "met" if ratio >= self.least else "NOT met"
        if self.limit is not None:
            return "met" if self.mitra <= self.limit else "NOT met"
        return "(figure)"


def measure(name: str, mitra: float, baseline: float | None = None, **goal) -> Measure:
    """Record one figure for the runner's table (a no-op when the bench runs on its own)."""
    entry = Measure(name, mitra, baseline, **goal)
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(entry)) + "\n")
    return entry


def read(path: str) -> list[Measure]:
    with open(path, encoding="utf-8") as handle:
        return [Measure(**json.loads(line)) for line in handle if line.strip()]


def table(measures: list[Measure]) -> str:
    rows = [("measure", "mitra", "baseline", "ratio", "goal", "verdict")]
    for entry in measures:
        rows.append((
            entry.name,
            f"{entry.mitra:,.3g} {entry.unit}",
            f"{entry.baseline:,.3g} {entry.unit}" + (f" ({entry.baseline_name})" if entry.baseline_name else "")
            if entry.baseline is not None else "-",
            f"{entry.ratio:.2f}x" if entry.ratio is not None else "-",
            entry.goal or "-",
            entry.verdict,
        ))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)
